/**
 * Home Assistant deletes a device — entity ids, history links, dashboard references — as soon as
 * its retained discovery config is cleared. So a device this publish did not produce waits out
 * mqtt.removal_grace from the moment a complete read of its source first showed it gone, and only
 * then are its retained config and state cleared. Unconfirmed absences never remove anything.
 * Also: devices found on the broker at start, and `forget` (remove one now, on request).
 */
import type { Outcome } from "../../actions/router.js";
import { DEVICE_ID_PREFIX, deviceId as toDeviceId, objectIdOf, type Topics } from "../../core/identity.js";
import { ownFoundDevice, type PresentDevice } from "../../state/devices.js";
import type { ExtensionContext } from "../extension.js";
import type { MqttPublisher } from "./connection.js";

export class DeviceRetention {
  constructor(
    private readonly ctx: ExtensionContext,
    private readonly publisher: MqttPublisher,
    private readonly topics: Topics,
  ) {}

  private get devices() {
    return this.ctx.engine.devices;
  }

  /** A retained discovery config of ours found at start: remembered, so it is removed only when confirmed gone. */
  found(topic: string, payload: string): void {
    const own = ownFoundDevice(topic, payload, this.topics);
    if (own) this.devices.found(own.deviceId, own.entry);
  }

  /** After each publish: remember what is there, clear what has been gone for the whole grace period. */
  sweep(present: PresentDevice[], now: number): void {
    const ids = new Set<string>();
    for (const d of present) {
      this.devices.present(d);
      ids.add(d.deviceId);
    }
    const grace = this.ctx.view.removalGraceMs;
    const { remove, newlyGone } = this.devices.sweep(ids, now, grace, (e) => this.ctx.engine.confirmsGone(e));
    const log = this.ctx.log;
    for (const e of newlyGone) {
      if (grace === 0) continue;
      log.info(
        { device: e.deviceId },
        `${describeDevice(e)} is gone from ${fromWhere(e)}; its Home Assistant device will be removed ${whenText(e.removeAtMs)} unless it comes back`,
      );
    }
    for (const e of remove) {
      log.info(
        { device: e.deviceId },
        `removing the Home Assistant device of ${describeDevice(e)}: gone from ${fromWhere(e)} since ${whenText(e.goneSinceMs ?? now)}`,
      );
      this.clear(e);
    }
    this.devices.save();
  }

  /**
   * Forgets a device at once (bridge command `forget`, `backup2mqtt forget <id>`): clears its
   * retained config and state. A guest that still exists is refused: it would come back at the
   * next poll (exclude it with tier none instead).
   */
  async forget(id: string): Promise<Outcome> {
    const deviceId = id.startsWith(DEVICE_ID_PREFIX) ? id : toDeviceId(id);
    const objectId = objectIdOf(deviceId);
    const live = this.ctx.view.guest(objectId);
    if (live)
      return {
        ok: false,
        reason: `${live.name} (${live.id}) still exists in Proxmox '${live.source}', so its device would come back at the next poll; to stop watching it, set its tier to none`,
      };
    const e = this.devices.get(deviceId);
    if (!e) {
      const pending = this.devices.pending().map((d) => objectIdOf(d.deviceId));
      return {
        ok: false,
        reason: `this bridge knows no device '${objectId}'${pending.length ? `; devices waiting to be removed: ${pending.join(", ")}` : ""}`,
      };
    }
    if (this.devices.isPresent(deviceId))
      return {
        ok: false,
        reason: `${describeDevice({ ...e, deviceId })} still exists, so its device would come back at the next poll`,
      };
    this.devices.forget(deviceId);
    this.devices.save();
    this.clear(e);
    this.ctx.log.info(
      { device: deviceId },
      `forgot the Home Assistant device of ${describeDevice({ ...e, deviceId })}, as asked`,
    );
    this.ctx.bus.emit("event", {
      target: { kind: "bridge" },
      payload: { event_type: "device_forgotten", time: new Date(this.ctx.clock.now()).toISOString(), device: objectId },
    });
    this.ctx.reevaluate();
    return { ok: true, detail: `forgot ${objectId}` };
  }

  private clear(e: { configTopic: string; stateTopic?: string }): void {
    this.publisher.clearRetained(e.configTopic);
    if (e.stateTopic) this.publisher.clearRetained(e.stateTopic);
  }
}

const fromWhere = (e: { source: string | null }) => (e.source ? `'${e.source}'` : "its source");

const whenText = (ms: number) => new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

function describeDevice(e: { kind: string; name?: string; deviceId: string }): string {
  const id = objectIdOf(e.deviceId);
  const what = e.kind === "hyperbackup" ? "Hyper Backup task " : e.kind === "pbs" ? "PBS datastore " : "";
  return e.name ? `${what}${e.name} (${id})` : `${what}${id}`;
}
