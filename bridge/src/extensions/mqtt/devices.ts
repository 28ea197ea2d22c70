/**
 * Publishing one evaluation: every guest's and off-site device's discovery config and state,
 * source availability and the bridge info — retained and diff-only, so an idle refresh sends
 * nothing. Returns the devices published, for device retention.
 */
import { bridgeObjectId, deviceId, hyperBackupObjectId, pbsObjectId, type Topics } from "../../core/identity.js";
import type { View } from "../../core/view.js";
import type { PresentDevice } from "../../state/devices.js";
import { bridgeInfo } from "./bridge-info.js";
import type { MqttPublisher } from "./connection.js";
import {
  allowsStop,
  asksForFallback,
  bridgeDiscovery,
  entitySlugs,
  guestDiscovery,
  type DiscoveryContext,
} from "./discovery.js";
import {
  hyperBackupDiscovery,
  hyperBackupState,
  pbsDatastoreDiscovery,
  pbsDatastoreState,
} from "./offsite-discovery.js";

export function publishGuests(view: View, p: MqttPublisher, ctx: DiscoveryContext): PresentDevice[] {
  const t = ctx.topics;
  const names = [...view.proxmox, ...view.offsiteSources].map((s) => s.health.name);
  p.publishRetained(t.deviceConfig(deviceId(bridgeObjectId(ctx.site))), bridgeDiscovery(ctx, names));
  const guests = view.result?.guests ?? [];
  const slugs = entitySlugs(guests);
  const present: PresentDevice[] = [];
  for (const g of guests) {
    const slug = slugs.get(g.id);
    const id = deviceId(g.id);
    const configTopic = t.deviceConfig(id);
    // guestDiscovery reads only these fields of the guest (and the fixed context), and whether its tier asks before a fallback.
    const key = [
      g.id,
      g.name,
      g.source,
      g.type,
      g.vmid,
      slug,
      ...(asksForFallback(ctx, g) ? ["fallback_ask"] : []),
      ...(allowsStop(ctx, g) ? ["stop"] : []),
    ];
    p.publishDerived(configTopic, JSON.stringify(key), () => guestDiscovery(ctx, g, slug));
    p.publishRetained(t.guestState(g.id), g);
    present.push({
      deviceId: id,
      kind: "guest",
      source: g.source,
      vmid: g.vmid,
      name: g.name,
      configTopic,
      stateTopic: t.guestState(g.id),
    });
  }
  return present;
}

/** The Hyper Backup task and PBS datastore devices (and their sources' availability). */
export function publishOffsite(view: View, p: MqttPublisher, ctx: DiscoveryContext): PresentDevice[] {
  const t = ctx.topics;
  for (const s of view.offsiteSources)
    p.publishRetained(t.sourceAvailability(s.health.name), s.available ? "online" : "offline");
  /** One off-site device: its retained config and state, and what device retention needs to know of it. */
  const device = (
    kind: "hyperbackup" | "pbs",
    key: string,
    d: { source: string; name: string },
    config: object,
    state: object,
  ) => {
    const id = deviceId(kind === "hyperbackup" ? hyperBackupObjectId(ctx.site, key) : pbsObjectId(ctx.site, key));
    const configTopic = t.deviceConfig(id);
    const stateTopic = t.of(kind, key, "state");
    p.publishRetained(configTopic, config);
    p.publishRetained(stateTopic, state);
    return { deviceId: id, kind, source: d.source, name: d.name, configTopic, stateTopic };
  };
  return [
    ...view.hyperBackupTasks.map(({ key, task, verdict, nasUrl }) =>
      device(
        "hyperbackup",
        key,
        task,
        hyperBackupDiscovery(ctx, task, key, nasUrl),
        hyperBackupState(task, key, verdict),
      ),
    ),
    ...view.pbsDatastores.map(({ key, datastore: d, verdict, pbsUrl }) =>
      device(
        "pbs",
        key,
        { source: d.source, name: d.store },
        pbsDatastoreDiscovery(ctx, d, key, pbsUrl),
        pbsDatastoreState(d, key, verdict),
      ),
    ),
  ];
}

/** What comes after the devices: Proxmox source availability and the bridge info. */
export function publishBridge(view: View, p: MqttPublisher, t: Topics): void {
  for (const s of view.proxmox)
    p.publishRetained(t.sourceAvailability(s.health.name), s.available ? "online" : "offline");
  p.publishRetained(t.bridgeInfo, bridgeInfo(view, t));
}
