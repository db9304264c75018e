import { BrokerClosedError, BrokerState, GapReason } from "@coroio/core";
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  changesWhileDown,
  closedBeforeServer,
  conformance,
  findBinary,
  type Recorder,
  Recorder as RecorderClass,
  refusesBadOptions,
  serverCrash,
  ServerProcess,
  slowSubscriber,
  startedBeforeServer,
  twoProcesses,
} from "../broker_workers/_conformance.ts";
import { RedisBroker, type RedisBrokerOptions } from "./redis_broker.ts";

const binary = findBinary("redis-server");
const missing = binary !== undefined
  ? false
  : "redis-server is not installed (apt-get install -y redis-server; .ci/run does it)";

function redisServer(port?: number, extra: string[] = []): ServerProcess {
  return new ServerProcess(
    binary ?? "redis-server",
    (p) => [
      "--port",
      String(p),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "no",
      ...extra,
    ],
    port,
  );
}

async function node(
  server: ServerProcess,
  listener: Recorder,
  options: RedisBrokerOptions = {},
): Promise<RedisBroker> {
  const broker = new RedisBroker({
    url: `redis://127.0.0.1:${server.port}`,
    listener,
    heartbeatInterval: 1000,
    reconnectDelay: 20,
    maxReconnectDelay: 200,
    ...options,
  });
  await broker.ready();
  return broker;
}

const at = (port: number, options: RedisBrokerOptions): RedisBroker =>
  new RedisBroker({ url: `redis://127.0.0.1:${port}`, ...options });

conformance("RedisBroker", async () => {
  const server = await redisServer().start();
  return { node: (rec) => node(server, rec), teardown: () => server.stop("SIGTERM") };
}, missing);

Deno.test({
  name: "RedisBroker() survives a server crash: reconnects, resubscribes, reports the gap",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    try {
      await serverCrash(server, (rec) => node(server, rec));
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "RedisBroker() heartbeat finds a frozen server (half-open link) and reconnects",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    const [subRec, pubRec] = [new RecorderClass(), new RecorderClass()];
    // A heartbeat a loaded machine can keep (a PING answered later than one beat counts as a
    // dead link: at 200 ms, a CI run of every test in parallel flapped the links after the thaw).
    const opts = { heartbeatInterval: 500, connectTimeout: 1000, maxReconnectDelay: 400 };
    const sub = await node(server, subRec, opts);
    const pub = await node(server, pubRec, opts);
    await sub.subscribe("t");
    server.signal("SIGSTOP");
    await subRec.until(() => sub.state === BrokerState.Disconnected, "the heartbeat to fail", 5000);
    // The publisher's heartbeat drops its connection too: publishes are counted, not buffered.
    for (let i = 0; i < 100 && pub.dropped === 0; i++) {
      pub.publish("t", new TextEncoder().encode("lost"));
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(pub.dropped > 0, "publishes to a frozen server are dropped once its PING went unanswered");
    server.signal("SIGCONT");
    // Both nodes lost their links; each reconnects on its own backoff. Each is awaited on its
    // own recorder: until() re-checks on that recorder's events only, so a wait on the other
    // node's state would miss it reconnecting last.
    await subRec.until(
      () => sub.state === BrokerState.Connected,
      "the subscriber reconnected",
      20000,
    );
    await pubRec.until(
      () => pub.state === BrokerState.Connected,
      "the publisher reconnected",
      20000,
    );
    // A publish can still race the subscriber's re-subscribe (reported as a gap, not
    // delivered): publish until one arrives.
    for (let i = 0; i < 100 && !subRec.texts().includes("after"); i++) {
      pub.publish("t", new TextEncoder().encode("after"));
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(subRec.texts().includes("after"), "delivery after the freeze");
    // One reconnect or more (a loaded machine answers a PING late); "lost" messages the frozen
    // server still had in its socket buffer may arrive around the holes: sequence gaps.
    ok(subRec.gaps.some((g) => g.reason === GapReason.Reconnect));
    for (const gap of subRec.gaps) strictEqual(gap.topic, "t");
    await sub.close();
    await pub.close();
    await server.stop();
  },
});

Deno.test({
  name: "RedisBroker() close() while the server is down releases everything",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    const rec = new RecorderClass();
    const broker = await node(server, rec);
    await broker.subscribe("t");
    await server.stop("SIGKILL");
    await rec.until(() => broker.state === BrokerState.Disconnected, "disconnected");
    const refused = broker.subscribe("u").then(() => false, (e) => e instanceof BrokerClosedError);
    await broker.close();
    strictEqual(await refused, true);
    strictEqual(broker.state, BrokerState.Closed);
  },
});

Deno.test({
  name: "RedisBroker() cut off as a slow subscriber reconnects and reports what it missed",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer(undefined, [
      "--client-output-buffer-limit",
      "pubsub 1mb 512kb 1",
    ]).start();
    const pub = await node(server, new RecorderClass());
    const { missed } = await slowSubscriber(
      new URL("./mod.ts", import.meta.url).href,
      "RedisBroker",
      { url: `redis://127.0.0.1:${server.port}`, reconnectDelay: 20, maxReconnectDelay: 200 },
      pub,
    );
    ok(missed > 0);
    await pub.close();
    await server.stop();
  },
});

Deno.test({
  name: "RedisBroker() carries 20,000 messages from another process, all, in order",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    const rec = new RecorderClass();
    const broker = await node(server, rec);
    const options = { url: `redis://127.0.0.1:${server.port}` };
    await twoProcesses(new URL("./mod.ts", import.meta.url).href, "RedisBroker", options, {
      broker,
      rec,
    }, 20_000);
    await broker.close();
    await server.stop();
  },
});

Deno.test({
  name: "RedisBroker() started before its server connects once the server is up",
  ignore: missing !== false,
  async fn() {
    const server = redisServer();
    try {
      await startedBeforeServer(server, at);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "RedisBroker.close() before the server ever came up releases everything",
  ignore: missing !== false,
  fn: () => closedBeforeServer(at),
});

Deno.test({
  name: "RedisBroker.subscribe() rejects a channel Redis refuses (ACL) and stays connected",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    const rec = new RecorderClass();
    const broker = await node(server, rec);
    const acl = await new Deno.Command("redis-cli", {
      args: [
        "-p",
        String(server.port),
        "ACL",
        "SETUSER",
        "default",
        "resetchannels",
        "&coroio:ok*",
      ],
      stdout: "null",
    }).output();
    ok(acl.success);
    await rejects(broker.subscribe("denied"), /NOPERM/);
    await broker.subscribe("ok-1");
    strictEqual(broker.state, BrokerState.Connected);
    deepStrictEqual(rec.states, ["connected"]);
    await broker.close();
    await server.stop();
  },
});

Deno.test({
  name: "RedisBroker() applies subscribe() and unsubscribe() made while the server was down",
  ignore: missing !== false,
  async fn() {
    const server = await redisServer().start();
    await changesWhileDown(server, (rec) => node(server, rec));
    await server.stop();
  },
});

Deno.test("RedisBroker() refuses a bad option at construction, before connecting", () => {
  refusesBadOptions("RedisBroker", (options) => new RedisBroker(options));
});
