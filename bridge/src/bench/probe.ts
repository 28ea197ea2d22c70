/**
 * A separate MQTT subscriber for the benchmark, so receive times are not delayed by the lab the
 * bench process serves. Prints one line per message: `<epoch ms>\t<topic>\t<bytes>\t<payload or ->`
 * (payload only for topics matching the regex in argv[4]).
 * Usage: node probe.js <mqtt url> <topic filter,…> <payload topic regex>
 */
import mqtt from "mqtt";

const [url, filters, payloadRe] = process.argv.slice(2);
if (!url || !filters) {
  process.stderr.write("usage: probe.js <mqtt url> <filter,…> [payload topic regex]\n");
  process.exit(2);
}
const want = payloadRe ? new RegExp(payloadRe) : null;
const client = mqtt.connect(url, { clientId: `bench_probe_${process.pid}`, reconnectPeriod: 500 });
const out: string[] = [];
let _timer: NodeJS.Timeout | undefined;
const flush = () => {
  _timer = undefined;
  if (out.length) process.stdout.write(out.splice(0).join(""));
};
client.on("message", (topic, payload) => {
  const text = want?.test(topic) ? payload.toString("utf8").replace(/[\t\n]/g, " ") : "-";
  out.push(`${Date.now()}\t${topic}\t${payload.length}\t${text}\n`);
  _timer ??= setTimeout(flush, 20);
});
client.on("connect", () => {
  client.subscribe(filters.split(","), { qos: 1 }, () => process.stdout.write(`${Date.now()}\t$ready\t0\t-\n`));
});
process.on("SIGTERM", () => {
  flush();
  client.end(true, () => process.exit(0));
});
