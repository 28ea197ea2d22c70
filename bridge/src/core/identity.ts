/**
 * Every name the bridge gives out, built and parsed in one place: guest ids, device ids, MQTT
 * topics and the keys of Hyper Backup tasks and PBS datastores. These names are a stable interface
 * (Home Assistant entities, automations and the Python integration key on them), so a change here is
 * a breaking change; the Python integration's constants are checked against this module by a test.
 */

/** Every device id is this prefix + an object id (`home_100`, `home_bridge`, `home_hyperbackup_2`). */
export const DEVICE_ID_PREFIX = "backup2mqtt_";
export const DEFAULT_BASE_TOPIC = "backup2mqtt";
export const DEFAULT_DISCOVERY_PREFIX = "homeassistant";

/** Topic shapes under the base topic (`+` = one id), as MQTT subscription filters. */
export const TOPIC_FILTERS = {
  bridgeState: "bridge/state",
  bridgeInfo: "bridge/info",
  bridgeCommand: "bridge/command",
  bridgeEvent: "bridge/event",
  sourceAvailability: "source/+/availability",
  guestState: "guest/+/state",
  guestEvent: "guest/+/event",
  guestCommand: "guest/+/command",
  hyperBackupState: "hyperbackup/+/state",
  hyperBackupEvent: "hyperbackup/+/event",
  hyperBackupCommand: "hyperbackup/+/command",
  pbsState: "pbs/+/state",
  pbsEvent: "pbs/+/event",
  pbsCommand: "pbs/+/command",
} as const;

/** What a command topic addresses: a guest, a Hyper Backup task, a PBS datastore, or the bridge. */
export type TargetKind = "guest" | "hyperbackup" | "pbs";
export const TARGET_KINDS: readonly TargetKind[] = ["guest", "hyperbackup", "pbs"];

/** An entity-id fragment: lower case, [a-z0-9_] only; `fallback` when nothing is left. */
export const slug = (s: string, fallback = "guest") =>
  s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "") || fallback;

/** Do these source names make more than one source (ids then carry the source name)? */
export const severalSources = (names: Iterable<string>): boolean => new Set(names).size > 1;

/** A guest's id: `<site>_<vmid>`, or `<site>_<source>_<vmid>` when several Proxmox sources are configured. */
export function guestId(site: string, source: string, vmid: number, multiSource: boolean): string {
  return multiSource ? `${site}_${source.replace(/-/g, "_")}_${vmid}` : `${site}_${vmid}`;
}

/** A Hyper Backup task's key: its DSM task id, prefixed by the NAS name when several NAS are configured. */
export const hyperBackupKey = (t: { source: string; taskId: number }, multiNas: boolean) =>
  multiNas ? `${slug(t.source, "x")}_${t.taskId}` : String(t.taskId);

/** A PBS datastore's key: its name, prefixed by the PBS name when several PBS are configured. */
export const pbsKey = (d: { source: string; store: string }, multiPbs: boolean) =>
  multiPbs ? `${slug(d.source, "x")}_${slug(d.store, "x")}` : slug(d.store, "x");

/** The device id of an object id. */
export const deviceId = (objectId: string) => `${DEVICE_ID_PREFIX}${objectId}`;

/** The object id of a device id (`backup2mqtt_home_100` → `home_100`); ids without the prefix pass unchanged. */
export const objectIdOf = (id: string) => (id.startsWith(DEVICE_ID_PREFIX) ? id.slice(DEVICE_ID_PREFIX.length) : id);

export const bridgeObjectId = (site: string) => `${site}_bridge`;
export const hyperBackupObjectId = (site: string, key: string) => `${site}_hyperbackup_${key}`;
export const pbsObjectId = (site: string, key: string) => `${site}_pbs_${key}`;

/** A topic of ours, parsed back. */
export type ParsedTopic =
  | { kind: "bridge"; leaf: "state" | "info" | "command" | "event" }
  | { kind: "source"; id: string; leaf: "availability" }
  | { kind: TargetKind; id: string; leaf: "state" | "event" | "command" };

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The MQTT topics of one bridge (base topic, discovery prefix, site). */
export class Topics {
  private readonly configRe: RegExp;
  constructor(
    readonly base: string,
    readonly discoveryPrefix: string,
    readonly site: string,
  ) {
    this.configRe = new RegExp(
      `^${escapeRe(discoveryPrefix)}/device/(${DEVICE_ID_PREFIX}${escapeRe(site)}_([^/]+))/config$`,
    );
  }
  get bridgeState() {
    return `${this.base}/${TOPIC_FILTERS.bridgeState}`;
  }
  get bridgeInfo() {
    return `${this.base}/${TOPIC_FILTERS.bridgeInfo}`;
  }
  get bridgeCommand() {
    return `${this.base}/${TOPIC_FILTERS.bridgeCommand}`;
  }
  get bridgeEvent() {
    return `${this.base}/${TOPIC_FILTERS.bridgeEvent}`;
  }
  /** Home Assistant's birth / last-will topic. */
  get haStatus() {
    return `${this.discoveryPrefix}/status`;
  }
  sourceAvailability(source: string) {
    return `${this.base}/source/${source}/availability`;
  }
  /** State, event or command topic of a guest, Hyper Backup task or PBS datastore. */
  of(kind: TargetKind, id: string, leaf: "state" | "event" | "command") {
    return `${this.base}/${kind}/${id}/${leaf}`;
  }
  guestState(id: string) {
    return this.of("guest", id, "state");
  }
  guestCommand(id: string) {
    return this.of("guest", id, "command");
  }
  guestEvent(id: string) {
    return this.of("guest", id, "event");
  }
  /** Subscription filters for every command topic; the `+/+` forms only catch commands sent one level too deep. */
  get commandFilters(): string[] {
    return [
      ...TARGET_KINDS.flatMap((k) => [`${this.base}/${k}/+/command`, `${this.base}/${k}/+/+/command`]),
      this.bridgeCommand,
    ];
  }
  deviceConfig(id: string) {
    return `${this.discoveryPrefix}/device/${id}/config`;
  }
  /** The filter for every retained discovery config of this site's devices. */
  get deviceConfigFilter() {
    return `${this.discoveryPrefix}/device/+/config`;
  }
  get deviceConfigPrefix() {
    return `${this.discoveryPrefix}/device/${DEVICE_ID_PREFIX}${this.site}_`;
  }
  /** The device id and object id in a discovery config topic of this site, or null. */
  parseDeviceConfig(topic: string): { deviceId: string; objectId: string; rest: string } | null {
    const m = this.configRe.exec(topic);
    return m ? { deviceId: m[1]!, objectId: `${this.site}_${m[2]!}`, rest: m[2]! } : null;
  }
  /** A topic under the base topic, parsed back (null when it is not one of ours or is malformed). */
  parse(topic: string): ParsedTopic | null {
    if (!topic.startsWith(`${this.base}/`)) return null;
    const parts = topic.slice(this.base.length + 1).split("/");
    if (parts[0] === "bridge" && parts.length === 2) {
      const leaf = parts[1];
      return leaf === "state" || leaf === "info" || leaf === "command" || leaf === "event"
        ? { kind: "bridge", leaf }
        : null;
    }
    if (parts.length !== 3 || !parts[1]) return null;
    const [kind, id, leaf] = parts as [string, string, string];
    if (kind === "source") return leaf === "availability" ? { kind, id, leaf } : null;
    if (!(TARGET_KINDS as readonly string[]).includes(kind)) return null;
    return leaf === "state" || leaf === "event" || leaf === "command" ? { kind: kind as TargetKind, id, leaf } : null;
  }
}
