import net from "node:net";
import { Aedes } from "aedes";

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * An in-process MQTT broker (aedes) for the demo and the integration tests; loopback only.
 *
 * It speaks MQTT 5 as well as 3.1.1 (and 3.1): aedes accepts MQTT 5 clients from 2.0.0-beta.1 on
 * ("feat: MQTT 5.0 support", https://github.com/moscajs/aedes/releases/tag/v2.0.0-beta.1); 1.x
 * refuses them with "unacceptable protocol version". Home Assistant's MQTT integration connects
 * with MQTT 5 unless told otherwise (DEFAULT_PROTOCOL = PROTOCOL_5 in
 * homeassistant/components/mqtt/const.py), so the demo broker must accept it for "add the MQTT
 * integration with the broker's host and port" to work. bridge/package.json pins that exact
 * pre-release: a range (^2.0.0-beta.1) would also take any later beta, whose API may still change.
 */
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
