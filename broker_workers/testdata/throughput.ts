// deno-lint-ignore-file no-console
// Broker throughput and latency, one publisher node and one subscriber node in this process:
//   deno run -A broker_workers/testdata/throughput.ts [N]
// Starts redis-server and nats-server on free loopback ports when installed. 64-byte payloads
// carry the send time; publishes go in bursts of 500 with a macrotask turn in between.
// Noisy: the machine's 2 cores are shared with the servers and with other work.
import { type Broker, type BrokerListener, MemoryBroker, MemoryBus } from "@coroio/core";
import { NatsBroker } from "../../broker_nats/mod.ts";
import { RedisBroker } from "../../broker_redis/mod.ts";
import { WorkersBroker, WorkersHub } from "../mod.ts";
import { findBinary, ServerProcess } from "../_conformance.ts";

const n = Number(Deno.args[0] ?? 50_000);

class Sink implements BrokerListener {
  received = 0;
  latencies = new Float64Array(n);
  done = Promise.withResolvers<void>();
  onMessage(_topic: string, payload: Uint8Array): void {
    const sent = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0);
    this.latencies[this.received++] = performance.now() - sent;
    if (this.received === n) this.done.resolve();
  }
  onGap(): void {}
  onStateChange(): void {}
}

async function measure(name: string, make: (sink: Sink) => Promise<[Broker, Broker]>) {
  const sink = new Sink();
  const [sub, pub] = await make(sink);
  await sub.subscribe("bench");
  const payload = new Uint8Array(64);
  const view = new DataView(payload.buffer);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    view.setFloat64(0, performance.now());
    pub.publish("bench", payload);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 0));
  }
  const timeout = setTimeout(
    () => sink.done.reject(new Error(`${name}: ${sink.received}/${n}`)),
    60_000,
  );
  await sink.done.promise;
  clearTimeout(timeout);
  const seconds = (performance.now() - start) / 1000;
  const sorted = sink.latencies.sort();
  const pct = (p: number) => sorted[Math.min(n - 1, Math.floor(n * p))]!.toFixed(2);
  console.log(
    `${name.padEnd(16)} ${Math.round(n / seconds).toString().padStart(9)} msg/s   ` +
      `p50 ${pct(0.5)} ms   p99 ${pct(0.99)} ms`,
  );
  await sub.close();
  await pub.close();
}

await measure("MemoryBroker", (sink) => {
  const bus = new MemoryBus();
  return Promise.resolve([new MemoryBroker({ bus, listener: sink }), new MemoryBroker({ bus })]);
});

const hub = new WorkersHub();
await measure("WorkersBroker", (sink) =>
  Promise.resolve([
    new WorkersBroker({ port: hub.connect(), listener: sink }),
    new WorkersBroker({ port: hub.connect() }),
  ]));
hub.close();

const redisBin = findBinary("redis-server");
if (redisBin) {
  const server = await new ServerProcess(redisBin, (p) => ["--port", String(p), "--save", ""])
    .start();
  const url = `redis://127.0.0.1:${server.port}`;
  await measure("RedisBroker", async (sink) => {
    const a = new RedisBroker({ url, listener: sink });
    const b = new RedisBroker({ url });
    await Promise.all([a.ready(), b.ready()]);
    return [a, b];
  });
  await server.stop("SIGTERM");
} else console.log("RedisBroker      skipped: no redis-server");

const natsBin = findBinary("nats-server");
if (natsBin) {
  const server = await new ServerProcess(natsBin, (p) => ["-a", "127.0.0.1", "-p", String(p)])
    .start();
  const servers = `127.0.0.1:${server.port}`;
  await measure("NatsBroker", async (sink) => {
    const a = new NatsBroker({ servers, listener: sink });
    const b = new NatsBroker({ servers });
    await Promise.all([a.ready(), b.ready()]);
    return [a, b];
  });
  await server.stop("SIGTERM");
} else console.log("NatsBroker       skipped: no nats-server");
