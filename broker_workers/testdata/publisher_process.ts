// A separate Deno process publishing through a broker: `deno run -A publisher_process.ts
// MODULE CLASS OPTIONS_JSON TOPIC N`. Publishes N messages ("0".."N-1") on TOPIC once the
// line "go" arrives on stdin, then closes the broker (which sends what is pending) and exits.
import type { Broker } from "@coroio/core";

const [module, className, options, topic, count] = Deno.args as [
  string,
  string,
  string,
  string,
  string,
];
const mod = await import(module);
const broker = new mod[className](JSON.parse(options)) as Broker & { ready(): Promise<void> };
await broker.ready();
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));
const buf = new Uint8Array(16);
await Deno.stdin.read(buf);
const n = Number(count);
for (let i = 0; i < n; i++) {
  broker.publish(topic, encoder.encode(String(i)));
  if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0)); // let the socket drain
}
await broker.close();
