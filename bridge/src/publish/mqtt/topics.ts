/** Every device id is this prefix + an object id (`home_100`, `home_bridge`, `home_hyperbackup_2`). */
export const DEVICE_ID_PREFIX = "backup2mqtt_";

/** The MQTT topic names (a stable interface: the README's "MQTT topics" table), in one place. */
export class Topics {
  constructor(
    readonly base: string,
    readonly discoveryPrefix: string,
    readonly site: string,
  ) {}
  get bridgeState() {
    return `${this.base}/bridge/state`;
  }
  get bridgeInfo() {
    return `${this.base}/bridge/info`;
  }
  get bridgeCommand() {
    return `${this.base}/bridge/command`;
  }
  get bridgeEvent() {
    return `${this.base}/bridge/event`;
  }
  get haStatus() {
    return `${this.discoveryPrefix}/status`;
  }
  sourceAvailability(source: string) {
    return `${this.base}/source/${source}/availability`;
  }
  guestState(id: string) {
    return `${this.base}/guest/${id}/state`;
  }
  guestCommand(id: string) {
    return `${this.base}/guest/${id}/command`;
  }
  guestEvent(id: string) {
    return `${this.base}/guest/${id}/event`;
  }
  /** Device ids carry the site so two bridges on one broker never collide. */
  deviceId(suffix: string) {
    return `${DEVICE_ID_PREFIX}${suffix}`;
  }
  deviceConfig(deviceId: string) {
    return `${this.discoveryPrefix}/device/${deviceId}/config`;
  }
  get deviceConfigPrefix() {
    return `${this.discoveryPrefix}/device/${DEVICE_ID_PREFIX}${this.site}_`;
  }
}
