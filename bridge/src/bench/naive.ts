/**
 * The baseline: a naive per-guest poller, the way the tools we replace read backups — list the
 * guests, then for every guest ask every backup storage of its node for that guest's archives
 * (`content?vmid=`) and ask the node for that guest's vzdump tasks (`tasks?vmid=`), a few calls
 * at a time. Same lab, same token, same TLS pin as the bridge.
 */
import { Agent, request } from "undici";

export interface NaiveResult {
  calls: number;
  wallMs: number;
  errors: number;
  archivesSeen: number;
}

interface Row {
  type?: string;
  vmid?: number;
  node?: string;
  storage?: string;
  content?: string;
  status?: string;
}

export async function naivePoll(o: {
  url: string;
  token: string;
  ca: string;
  concurrency: number;
}): Promise<NaiveResult> {
  const agent = new Agent({ connect: { ca: o.ca }, connections: o.concurrency });
  let calls = 0;
  let errors = 0;
  const get = async <T>(path: string): Promise<T | undefined> => {
    calls++;
    const res = await request(`${o.url}/api2/json${path}`, { dispatcher: agent, headers: { authorization: o.token } });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      errors++;
      return undefined;
    }
    return (JSON.parse(text) as { data: T }).data;
  };
  const started = performance.now();
  const resources = (await get<Row[]>("/cluster/resources")) ?? [];
  const guests = resources.filter((r) => (r.type === "qemu" || r.type === "lxc") && r.vmid !== undefined && r.node);
  const storagesOf = new Map<string, string[]>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.node || !r.storage || !(r.content ?? "").split(",").includes("backup")) continue;
    storagesOf.set(r.node, [...(storagesOf.get(r.node) ?? []), r.storage]);
  }
  let archivesSeen = 0;
  const work = guests.flatMap((g) => [
    ...(storagesOf.get(g.node!) ?? []).map((s) => async () => {
      const rows = await get<unknown[]>(`/nodes/${g.node}/storage/${s}/content?content=backup&vmid=${g.vmid}`);
      archivesSeen += rows?.length ?? 0;
    }),
    async () => void (await get(`/nodes/${g.node}/tasks?typefilter=vzdump&vmid=${g.vmid}&limit=1&source=all`)),
  ]);
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < work.length) await work[next++]!();
    }),
  );
  const wallMs = performance.now() - started;
  await agent.close();
  return { calls, wallMs, errors, archivesSeen };
}
