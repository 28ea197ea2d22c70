/**
 * The engine's typed event bus: the engine announces what it evaluated and what happened;
 * extensions (MQTT, HTTP, metrics…) listen. A listener that throws is logged and does not stop
 * the others or the engine.
 */
import type { Logger } from "../log.js";
import type { Target } from "../actions/router.js";
import type { View } from "./view.js";

/** Something that happened to a guest, a Hyper Backup task, a PBS datastore or the bridge: an event entity's payload. */
export interface DomainEvent {
  target: Target;
  payload: { event_type: string; time: string } & Record<string, unknown>;
}

export interface BusEvents {
  /** The policy ran (after a refresh, a command, or at a change instant): the view is current. */
  evaluated: View;
  /** An event to announce (MQTT event entities). */
  event: DomainEvent;
}

type Listener<T> = (value: T) => void;

export class Bus {
  private readonly listeners: { [K in keyof BusEvents]?: Listener<BusEvents[K]>[] } = {};
  constructor(private readonly log: Logger) {}

  on<K extends keyof BusEvents>(name: K, fn: Listener<BusEvents[K]>): () => void {
    this.listeners[name] ??= [];
    const list = this.listeners[name] as Listener<BusEvents[K]>[];
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends keyof BusEvents>(name: K, value: BusEvents[K]): void {
    for (const fn of [...((this.listeners[name] ?? []) as Listener<BusEvents[K]>[])]) {
      try {
        fn(value);
      } catch (e) {
        this.log.error({ err: (e as Error).message, event: name }, "an extension failed to handle an engine event");
      }
    }
  }
}
