import { type Broker, BufReader, GapReason, MemoryBroker, MemoryBus } from "@coroio/core";
import { WorkersBroker, WorkersHub } from "@coroio/broker-workers";
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  type PublishResult,
  type SlowSubscriberPolicy,
  Topics,
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "./mod.ts";
import { type Event, RawClient, withTimeout } from "./_test_util.ts";

/** A Deno.Conn that counts the writes the session makes. */
class CountingConn {
  writes = 0;
  readonly inner: Deno.Conn;
  constructor(inner: Deno.Conn) {
    this.inner = inner;
  }
  get localAddr(): Deno.Addr {
    return this.inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.inner.remoteAddr;
  }
  read(p: Uint8Array): Promise<number | null> {
    return this.inner.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    this.writes++;
    return this.inner.write(p);
  }
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }
  close(): void {
    this.inner.close();
  }
}

interface Pair {
  ws: WebSocketSession;
  conn: CountingConn;
  client: RawClient;
}

/** A server session on loopback with a raw client (no handshake: the session starts at once). */
async function pair(
  handler: WebSocketHandler | null = null,
  options: WebSocketSessionOptions = {},
): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  listener.close();
  const conn = new CountingConn(accepted);
  const ws = new WebSocketSession(conn as unknown as Deno.Conn, new Uint8Array(0), handler, {
    closeTimeout: 500,
    ...options,
  });
  ws.run();
  return { ws, conn, client: new RawClient(tcp, new BufReader(tcp)) };
}

async function end(...pairs: Pair[]): Promise<void> {
  for (const p of pairs) {
    p.client.close();
    await withTimeout(p.ws.done, 3000, "session end");
  }
}

async function events(client: RawClient, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) out.push(await client.next());
  return out;
}

const text = (data: string): Event => ({ type: "text", data });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

Deno.test("Topics.publish() is ordered with send() and a burst leaves in one write per subscriber", async () => {
  const topics = new Topics();
  const [a, b, c] = [await pair(), await pair(), await pair()];
  try {
    for (const p of [a, b, c]) await topics.subscribe(p.ws, "t");
    await tick();
    for (const p of [a, b, c]) p.conn.writes = 0;
    for (let i = 0; i < 100; i++) topics.publish("t", String(i));
    await tick();
    deepStrictEqual([a.conn.writes, b.conn.writes, c.conn.writes], [1, 1, 1]);
    const want = Array.from({ length: 100 }, (_, i) => text(String(i)));
    for (const p of [a, b, c]) deepStrictEqual(await events(p.client, 100), want);

    // Interleaved with send() on one subscriber: the order of the calls.
    a.ws.send("s1");
    topics.publish("t", new Uint8Array([1, 2]));
    a.ws.send("s2");
    topics.publish("t", "p2", { except: b.ws });
    deepStrictEqual(await events(a.client, 4), [
      text("s1"),
      { type: "binary", data: new Uint8Array([1, 2]) },
      text("s2"),
      text("p2"),
    ]);
    deepStrictEqual(await events(b.client, 1), [{ type: "binary", data: new Uint8Array([1, 2]) }]);
  } finally {
    await end(a, b, c);
  }
});

Deno.test("Topics.subscribe() is O(1) bookkeeping: counts, topicsOf, empty topics disappear, end unsubscribes", async () => {
  const bus = new MemoryBus();
  const broker = new MemoryBroker({ bus });
  const topics = new Topics({ broker });
  const [a, b] = [await pair(), await pair()];
  try {
    const cases: [string, () => unknown, { size: number; x: number; bus: number }][] = [
      ["a joins x", () => topics.subscribe(a.ws, "x"), { size: 1, x: 1, bus: 1 }],
      ["a joins x again", () => topics.subscribe(a.ws, "x"), { size: 1, x: 1, bus: 1 }],
      ["b joins x", () => topics.subscribe(b.ws, "x"), { size: 1, x: 2, bus: 1 }],
      ["b joins y", () => topics.subscribe(b.ws, "y"), { size: 2, x: 2, bus: 2 }],
      ["a leaves x", () => strictEqual(topics.unsubscribe(a.ws, "x"), true), {
        size: 2,
        x: 1,
        bus: 2,
      }],
      ["a leaves x again", () => strictEqual(topics.unsubscribe(a.ws, "x"), false), {
        size: 2,
        x: 1,
        bus: 2,
      }],
      ["b leaves x", () => topics.unsubscribe(b.ws, "x"), { size: 1, x: 0, bus: 1 }],
    ];
    for (const [what, act, want] of cases) {
      await act();
      deepStrictEqual({ size: topics.size, x: topics.count("x"), bus: bus.topicCount }, want, what);
    }
    deepStrictEqual([...topics.topicsOf(b.ws)], ["y"]);
    deepStrictEqual([...topics.topicsOf(a.ws)], []);
  } finally {
    await end(a, b);
  }
  await tick();
  deepStrictEqual([topics.size, bus.topicCount, topics.topicsOf(b.ws).size], [0, 0, 0]);
  // A session that already ended is not subscribed.
  await topics.subscribe(b.ws, "z");
  strictEqual(topics.count("z"), 0);
  await broker.close();
});

const SLOW: [SlowSubscriberPolicy, (r: PublishResult) => number][] = [
  ["drop", (r) => r.dropped],
  ["close", (r) => r.closed],
];

for (const [policy, over] of SLOW) {
  Deno.test(`Topics.publish() with slow: "${policy}" never waits for a subscriber that stops reading`, async () => {
    const topics = new Topics({ slow: policy });
    const closes: number[] = [];
    const handler: WebSocketHandler = {
      onMessage() {},
      onClose: (_ws, c) => void closes.push(c),
    };
    const limit = 256 * 1024;
    const [slow, fast] = [
      await pair(handler, { highWaterMark: limit }),
      await pair(handler, { highWaterMark: limit }),
    ];
    try {
      await topics.subscribe(slow.ws, "t");
      await topics.subscribe(fast.ws, "t");
      const chunk = new Uint8Array(64 * 1024);
      // The fast client reads everything, the slow one nothing.
      let fastGot = 0;
      const draining = (async () => {
        for (;;) {
          const e = await fast.client.next(10000);
          if (e.type === "binary") fastGot++;
          else return;
        }
      })();
      let overCount = 0;
      let sum = 0;
      let published = 0;
      // One message at a time, the next once the fast client has it: the fast subscriber holds
      // at most two (one in flight), far below its limit, however loaded the machine is.
      for (let round = 0; round < 4000 && overCount === 0; round++) {
        const r = topics.publish("t", chunk);
        published++;
        strictEqual(r.subscribers, 2);
        strictEqual(r.queued + r.dropped + r.closed, 2);
        overCount += over(r);
        sum += r.queued;
        await withTimeout(
          (async () => {
            while (fastGot < published) await new Promise((r) => setTimeout(r, 0));
          })(),
          10000,
          "the fast subscriber",
        );
      }
      topics.publish("t", "end");
      await withTimeout(draining, 10000, "the fast subscriber");
      strictEqual(fastGot, published, "the fast subscriber lost nothing");
      ok(overCount > 0, "the slow subscriber went over its limit");
      ok(sum > 0);
      ok(slow.ws.bufferedAmount <= limit + chunk.length + 10, "bounded");
      // Control frames are not subject to the limit: the close frame still goes out.
      slow.ws.close(1000);
      const seen = await slow.client.nextClose(5000);
      strictEqual(seen.code, policy === "close" ? 1008 : 1000);
    } finally {
      await end(slow, fast);
    }
    if (policy === "close") ok(closes.includes(1008));
  });
}

Deno.test("Topics.publish() lets handlers subscribe, unsubscribe, publish and close while it runs", async () => {
  // With slow: "close", failing an over-limit subscriber calls its onError inside publish().
  const topics = new Topics({ slow: "close", maxQueuedBytes: 10 });
  const reentered: string[] = [];
  const handler: WebSocketHandler = {
    onMessage() {},
    onError(ws) {
      topics.unsubscribe(ws, "t");
      void topics.subscribe(ws, "other");
      const r = topics.publish("t", "from onError");
      reentered.push(`${r.subscribers}`);
    },
  };
  const [a, b, c] = [await pair(handler), await pair(handler), await pair(handler)];
  try {
    for (const p of [a, b, c]) await topics.subscribe(p.ws, "t");
    // Same tick: subscribe, publish, unsubscribe: the message was staged before the unsubscribe.
    topics.publish("t", "12345678"); // 10 bytes framed: fits an empty queue
    const r = topics.publish("t", "x"); // over 10: every subscriber is failed, after delivery
    deepStrictEqual(r, { subscribers: 3, queued: 0, dropped: 0, closed: 3 });
    // Each onError left "t" and published to the ones still there (nested: the last first).
    deepStrictEqual(reentered, ["0", "1", "2"]);
    for (const p of [a, b, c]) {
      deepStrictEqual(await p.client.next(), text("12345678"));
      strictEqual((await p.client.nextClose()).code, 1008);
    }
  } finally {
    await end(a, b, c);
  }
  strictEqual(topics.size, 0);
});

Deno.test("Topics.unsubscribe() in the same tick as a publish: before it nothing, after it delivered", async () => {
  const topics = new Topics();
  const p = await pair();
  try {
    await topics.subscribe(p.ws, "t");
    topics.publish("t", "before");
    topics.unsubscribe(p.ws, "t");
    topics.publish("t", "lost");
    await topics.subscribe(p.ws, "t");
    topics.publish("t", "after");
    deepStrictEqual(await events(p.client, 2), [text("before"), text("after")]);
  } finally {
    await end(p);
  }
});

Deno.test("Topics.subscribe() refuses a client session", async () => {
  const topics = new Topics();
  const p = await pair(null, { role: "client" });
  try {
    throws(() => topics.subscribe(p.ws, "t"), TypeError);
  } finally {
    await end(p);
  }
});

/** Two hubs (nodes) on one broker medium, each with two local subscribers. */
async function twoNodes(
  a: Broker,
  b: Broker,
  fn: (ta: Topics, tb: Topics, pa: Pair[], pb: Pair[]) => Promise<void>,
): Promise<void> {
  const ta = new Topics({ broker: a });
  const tb = new Topics({ broker: b });
  const pa = [await pair(), await pair()];
  const pb = [await pair(), await pair()];
  try {
    await fn(ta, tb, pa, pb);
  } finally {
    await end(...pa, ...pb);
    await a.close();
    await b.close();
  }
}

const MEDIA: [string, () => [Broker, Broker, () => void]][] = [
  ["MemoryBroker", () => {
    const bus = new MemoryBus();
    return [new MemoryBroker({ bus }), new MemoryBroker({ bus }), () => {}];
  }],
  ["WorkersBroker", () => {
    const hub = new WorkersHub();
    return [
      new WorkersBroker({ port: hub.connect() }),
      new WorkersBroker({ port: hub.connect() }),
      () => hub.close(),
    ];
  }],
];

for (const [name, make] of MEDIA) {
  Deno.test(`Topics.publish() through a ${name}: every subscriber on every node exactly once, in order`, async () => {
    const [a, b, cleanup] = make();
    try {
      await twoNodes(a, b, async (ta, tb, pa, pb) => {
        for (const p of pa) await ta.subscribe(p.ws, "x.*");
        for (const p of pb) await tb.subscribe(p.ws, "x.*");
        await tb.subscribe(pb[0]!.ws, "x.a"); // not matched by "x.*": topics are literal
        for (let i = 0; i < 50; i++) ta.publish("x.*", `m${i}`);
        tb.publish("x.*", new Uint8Array([7]));
        ta.publish("x.a", "only x.a");
        const want = Array.from({ length: 50 }, (_, i) => text(`m${i}`));
        for (const p of pa) {
          deepStrictEqual(await events(p.client, 51), [
            ...want,
            { type: "binary", data: new Uint8Array([7]) },
          ]);
        }
        // Local subscribers are served at once, remote ones later: order holds per publisher.
        const bin: Event = { type: "binary", data: new Uint8Array([7]) };
        deepStrictEqual(await events(pb[0]!.client, 52), [bin, ...want, text("only x.a")]);
        deepStrictEqual(await events(pb[1]!.client, 51), [bin, ...want]);
        // Nothing more (no duplicate): a ping is answered next.
        for (const p of [...pa, ...pb]) {
          await p.client.sendFrame(0x9, "z");
          strictEqual((await p.client.next()).type, "pong");
        }
      });
    } finally {
      cleanup();
    }
  });
}

Deno.test("Topics() passes the broker's gaps and state changes to the application", async () => {
  const gaps: string[] = [];
  const states: string[] = [];
  const broker = new MemoryBroker();
  const topics = new Topics({
    broker,
    onGap: (g) => gaps.push(`${g.reason}:${g.topic}`),
    onBrokerState: (s) => states.push(s),
  });
  strictEqual(broker.listener, topics);
  broker.listener.onGap({ reason: GapReason.Reconnect, topic: "t", node: null, missed: -1 });
  await broker.close();
  deepStrictEqual([gaps, states], [["reconnect:t"], ["closed"]]);
  // A closed broker: publish stays local, subscribe rejects but the local subscription stands.
  const p = await pair();
  try {
    let rejected = false;
    await topics.subscribe(p.ws, "t").catch(() => rejected = true);
    ok(rejected);
    strictEqual(topics.publish("t", "local").queued, 1);
    deepStrictEqual(await p.client.next(), text("local"));
  } finally {
    await end(p);
  }
});

Deno.test("Topics.subscribe() resolves once the broker confirmed: a publish after it arrives", async () => {
  const hub = new WorkersHub();
  const [a, b] = [
    new WorkersBroker({ port: hub.connect() }),
    new WorkersBroker({ port: hub.connect() }),
  ];
  await twoNodes(a, b, async (ta, tb, pa) => {
    for (let i = 0; i < 20; i++) {
      const topic = `t${i}`;
      await ta.subscribe(pa[0]!.ws, topic);
      tb.publish(topic, topic);
      deepStrictEqual(await pa[0]!.client.next(), text(topic));
      ta.unsubscribe(pa[0]!.ws, topic);
    }
  });
  hub.close();
});

Deno.test("Topics.publish() frames every length form, text and binary, past the scratch buffer", async () => {
  const topics = new Topics();
  const p = await pair(null, { highWaterMark: 8 << 20 });
  try {
    await topics.subscribe(p.ws, "t");
    const cases: (string | Uint8Array)[] = [
      "",
      "\u00e9".repeat(62), // 124 bytes: 7-bit length
      "\u00fc".repeat(63), // 126 bytes: 16-bit length
      "\u0436".repeat(5000), // 10,000 bytes: past the first scratch size
      new Uint8Array(65535).fill(1), // the largest 16-bit length
      new Uint8Array(65536).fill(2), // 64-bit length
      new Uint8Array((1 << 20) + 1).fill(3), // past the largest scratch: a buffer of its own
      "z".repeat((1 << 20) / 3 + 10), // a string whose worst case passes the scratch limit
    ];
    for (const data of cases) strictEqual(topics.publish("t", data).queued, 1);
    for (const data of cases) {
      const e = await p.client.next(5000);
      if (typeof data === "string") deepStrictEqual(e, text(data));
      else deepStrictEqual(e, { type: "binary", data });
    }
  } finally {
    await end(p);
  }
});
