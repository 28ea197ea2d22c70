/**
 * Home Assistant's WebSocket API for tests: one connection, authenticated with the instance's token,
 * opened on first use and again after it closed (a Home Assistant restart closes it).
 */
import WebSocket from "ws";

/** Commands (`{id, type, ...}` → `result`) and event subscriptions over one authenticated WebSocket. */
export class WsClient {
  private sock: WebSocket | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners = new Map<number, (event: never) => void>();

  constructor(
    private readonly wsUrl: () => string,
    private readonly token: () => string,
  ) {}

  private connect(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const sock = new WebSocket(this.wsUrl());
      this.sock = sock;
      let authed = false;
      sock.on("message", (raw: WebSocket.RawData) => {
        const msgs: unknown = JSON.parse(raw.toString());
        for (const m of (Array.isArray(msgs) ? msgs : [msgs]) as Record<string, unknown>[]) {
          if (m.type === "auth_required") {
            sock.send(JSON.stringify({ type: "auth", access_token: this.token() }));
          } else if (m.type === "auth_ok") {
            authed = true;
            resolve();
          } else if (m.type === "auth_invalid") {
            reject(new Error(`websocket auth failed: ${String(m.message)}`));
            sock.close();
          } else if (m.type === "result" && typeof m.id === "number") {
            const p = this.pending.get(m.id);
            if (!p) continue;
            if (m.success) {
              p.resolve(m.result);
            } else {
              this.pending.delete(m.id);
              const e = m.error as { code?: string; message?: string } | undefined;
              p.reject(new Error(`HA websocket error ${e?.code ?? "?"}: ${e?.message ?? JSON.stringify(m)}`));
            }
            if (!this.listeners.has(m.id)) this.pending.delete(m.id);
          } else if (m.type === "event" && typeof m.id === "number") {
            this.listeners.get(m.id)?.(m.event as never);
          }
        }
      });
      sock.on("error", (err: Error) => {
        if (!authed) reject(err);
      });
      sock.on("close", () => {
        for (const p of this.pending.values()) p.reject(new Error("websocket closed"));
        this.pending.clear();
        this.listeners.clear();
        this.sock = undefined;
        this.ready = undefined;
        if (!authed) reject(new Error("websocket closed before auth"));
      });
    });
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  async command<T>(msg: { type: string; [k: string]: unknown }): Promise<T> {
    await this.connect();
    const id = this.nextId++;
    const sock = this.sock;
    if (!sock) throw new Error("websocket not connected");
    return await new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      sock.send(JSON.stringify({ ...msg, id }));
    });
  }

  async subscribe(
    eventType: string | undefined,
    onEvent: (event: { event_type: string; data: Record<string, unknown> }) => void,
  ): Promise<() => Promise<void>> {
    await this.connect();
    const id = this.nextId++;
    const sock = this.sock;
    if (!sock) throw new Error("websocket not connected");
    this.listeners.set(id, onEvent as (event: never) => void);
    await new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: Record<string, unknown> = { id, type: "subscribe_events" };
      if (eventType) msg.event_type = eventType;
      sock.send(JSON.stringify(msg));
    }).catch((err: unknown) => {
      this.listeners.delete(id);
      throw err;
    });
    return async () => {
      this.listeners.delete(id);
      this.pending.delete(id);
      if (this.sock) await this.command({ type: "unsubscribe_events", subscription: id }).catch(() => undefined);
    };
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.ready = undefined;
  }
}
