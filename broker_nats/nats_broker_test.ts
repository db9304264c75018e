import { BrokerState } from "@coroio/core";
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  changesWhileDown,
  closedBeforeServer,
  conformance,
  findBinary,
  Recorder,
  refusesBadOptions,
  serverCrash,
  ServerProcess,
  slowSubscriber,
  startedBeforeServer,
  twoProcesses,
} from "../broker_workers/_conformance.ts";
import { NatsBroker, type NatsBrokerOptions } from "./nats_broker.ts";
import { topicSubject } from "./subject.ts";

const binary = findBinary("nats-server");
const missing = binary !== undefined
  ? false
  : "nats-server is not installed (apt-get install -y nats-server; .ci/run does it)";

/** A nats-server whose max_payload fits a 1 MiB payload plus the envelope. */
async function natsServer(
  port?: number,
  extra = "",
): Promise<ServerProcess & { conf: string }> {
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, `max_payload: 8MB\n${extra}`);
  const server = new ServerProcess(
    binary ?? "nats-server",
    (p) => ["-a", "127.0.0.1", "-p", String(p), "-c", conf],
    port,
  );
  return Object.assign(server, { conf });
}

async function stopNats(server: ServerProcess & { conf: string }): Promise<void> {
  await server.stop("SIGTERM");
  await Deno.remove(server.conf);
}

async function node(
  server: ServerProcess,
  listener: Recorder,
  options: NatsBrokerOptions = {},
): Promise<NatsBroker> {
  const broker = new NatsBroker({
    servers: `127.0.0.1:${server.port}`,
    listener,
    heartbeatInterval: 1000,
    reconnectDelay: 20,
    maxReconnectDelay: 200,
    ...options,
  });
  await broker.ready();
  return broker;
}

const at = (port: number, options: NatsBrokerOptions): NatsBroker =>
  new NatsBroker({ servers: `127.0.0.1:${port}`, ...options });

conformance("NatsBroker", async () => {
  const server = await (await natsServer()).start();
  return { node: (rec) => node(server, rec), teardown: () => stopNats(server) };
}, missing);

Deno.test("topicSubject() keeps every topic one literal token, distinct from the others", () => {
  const topics = ["x.*", "x.>", "x~2E~2A", "", "~", "a b", "a\tb", "\u00e9", "A-z_0", "x..y"];
  const subjects = topics.map((t) => topicSubject("p", t));
  strictEqual(new Set(subjects).size, topics.length);
  for (const subject of subjects) {
    ok(/^p\.[A-Za-z0-9_~-]+$/.test(subject), subject);
  }
  strictEqual(topicSubject("p", "A-z_0"), "p.A-z_0");
  strictEqual(topicSubject("p", "\u00e9"), "p.~C3~A9");
});

Deno.test({
  name: "NatsBroker() survives a server crash: reconnects, resubscribes, reports the gap",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    try {
      await serverCrash(server, (rec) => node(server, rec));
    } finally {
      await stopNats(server);
    }
  },
});

Deno.test({
  name: "NatsBroker() heartbeat finds a frozen server (half-open link) and reconnects",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    const [subRec, pubRec] = [new Recorder(), new Recorder()];
    // A short backoff cap: attempts made while the server is frozen double the delay; on a
    // loaded machine the default cap could push the reconnect past the wait.
    const sub = await node(server, subRec, {
      heartbeatInterval: 200,
      connectTimeout: 1000,
      maxReconnectDelay: 400,
    });
    const pub = await node(server, pubRec, { maxReconnectDelay: 400 });
    await sub.subscribe("t");
    server.signal("SIGSTOP");
    await subRec.until(() => sub.state === BrokerState.Disconnected, "the heartbeat to fail", 3000);
    server.signal("SIGCONT");
    await subRec.until(() => sub.state === BrokerState.Connected, "reconnected", 15000);
    await pubRec.until(() => pub.state === BrokerState.Connected, "publisher connected", 15000);
    // A publish can still race the subscriber's re-subscribe: publish until one arrives.
    for (let i = 0; i < 100 && !subRec.texts().includes("after"); i++) {
      pub.publish("t", new TextEncoder().encode("after"));
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(subRec.texts().includes("after"), "delivery after the freeze");
    // One reconnect, or more when a loaded machine answers a PING late: never anything else.
    ok(subRec.gaps.length >= 1);
    for (const gap of subRec.gaps) deepStrictEqual([gap.reason, gap.topic], ["reconnect", "t"]);
    await sub.close();
    await pub.close();
    await stopNats(server);
  },
});

Deno.test({
  name: "NatsBroker.publish() refuses a payload over the server's max_payload",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    const broker = await node(server, new Recorder());
    throws(() => broker.publish("t", new Uint8Array(9 << 20)), RangeError);
    await broker.close();
    await stopNats(server);
  },
});

Deno.test({
  name: "NatsBroker() cut off as a slow consumer reconnects and reports what it missed",
  ignore: missing !== false,
  async fn() {
    const server =
      await (await natsServer(undefined, 'max_pending: 8MB\nwrite_deadline: "200ms"\n'))
        .start();
    const pub = await node(server, new Recorder());
    const { missed } = await slowSubscriber(
      new URL("./mod.ts", import.meta.url).href,
      "NatsBroker",
      { servers: `127.0.0.1:${server.port}`, reconnectDelay: 20, maxReconnectDelay: 200 },
      pub,
    );
    ok(missed > 0);
    await pub.close();
    await stopNats(server);
  },
});

Deno.test({
  name: "NatsBroker() carries 20,000 messages from another process, all, in order",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    const rec = new Recorder();
    const broker = await node(server, rec);
    const options = { servers: `127.0.0.1:${server.port}` };
    await twoProcesses(new URL("./mod.ts", import.meta.url).href, "NatsBroker", options, {
      broker,
      rec,
    }, 20_000);
    await broker.close();
    await stopNats(server);
  },
});

Deno.test({
  name: "NatsBroker() started before its server connects once the server is up",
  ignore: missing !== false,
  async fn() {
    const server = await natsServer();
    try {
      await startedBeforeServer(server, at);
    } finally {
      await stopNats(server);
    }
  },
});

Deno.test({
  name: "NatsBroker.close() before the server ever came up releases everything",
  ignore: missing !== false,
  fn: () => closedBeforeServer(at),
});

Deno.test({
  name: "NatsBroker.close() while the server is down releases everything",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    const rec = new Recorder();
    const broker = await node(server, rec);
    await broker.subscribe("t");
    await stopNats(server);
    await rec.until(() => broker.state === BrokerState.Disconnected, "disconnected");
    broker.publish("t", new Uint8Array([1]));
    strictEqual(broker.dropped, 1);
    await broker.close();
    strictEqual(broker.state, BrokerState.Closed);
  },
});

Deno.test({
  name: "NatsBroker() applies subscribe() and unsubscribe() made while the server was down",
  ignore: missing !== false,
  async fn() {
    const server = await (await natsServer()).start();
    await changesWhileDown(server, (rec) => node(server, rec));
    await stopNats(server);
  },
});

Deno.test("NatsBroker() refuses a bad option at construction, before connecting", () => {
  refusesBadOptions("NatsBroker", (options) => new NatsBroker(options));
});
