import net from "node:net";
import { Aedes } from "aedes";

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An in-process MQTT broker (aedes) for the demo and the integration tests; loopback only. */
export async function startEmbeddedBroker(port = 0, host = "127.0.0.1"): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        aedes.close(() => undefined);
        // Dropping client sockets lets server.close() finish.
        for (const c of Object.values(
          (aedes as unknown as { clients: Record<string, { close(): void }> }).clients ?? {},
        ))
          c.close();
      }),
  };
}
