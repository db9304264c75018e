import { deepStrictEqual, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  BrokerEvents,
  type BrokerGap,
  type BrokerListener,
  BrokerState,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  MemoryBroker,
  MemoryBus,
  type MessageOrigin,
  newNodeId,
  noopListener,
  PublishSequence,
  reconnectBackoff,
  reconnectSettings,
  SequenceTracker,
} from "./mod.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

Deno.test("encodeEnvelope() and decodeEnvelope() round-trip the edge values", () => {
  const cases: [string, number, number, Uint8Array][] = [
    ["a", 0, 0, new Uint8Array()],
    ["n".repeat(255), 1, 1, bytes(0)],
    ["~!", 2 ** 32 - 1, 255, bytes(1, 2, 3)],
    ["node", 2 ** 32, 0, new Uint8Array(1000).fill(7)],
    ["node", Number.MAX_SAFE_INTEGER, 1, bytes(255)],
  ];
  for (const [node, seq, flags, payload] of cases) {
    const decoded = decodeEnvelope(encodeEnvelope(node, seq, flags, payload));
    deepStrictEqual(decoded, { node, seq, flags, payload }, `${node.length} ${seq}`);
    strictEqual(Object.getPrototypeOf(decoded.payload), Uint8Array.prototype);
  }
});

Deno.test("encodeEnvelope() rejects bad node ids, sequence numbers and flags", () => {
  const cases: [string, number, number, ErrorConstructor][] = [
    ["", 1, 0, RangeError],
    ["n".repeat(256), 1, 0, RangeError],
    ["a b", 1, 0, TypeError],
    ["\u00e9", 1, 0, TypeError],
    ["n", -1, 0, RangeError],
    ["n", 1.5, 0, RangeError],
    ["n", 2 ** 53, 0, RangeError],
    ["n", 1, 256, RangeError],
    ["n", 1, -1, RangeError],
  ];
  for (const [node, seq, flags, error] of cases) {
    throws(() => encodeEnvelope(node, seq, flags, new Uint8Array()), error, `${node} ${seq}`);
  }
});

Deno.test("decodeEnvelope() rejects truncated or foreign bytes", () => {
  const whole = encodeEnvelope("node", 5, 0, bytes(9));
  const cases = [
    new Uint8Array(),
    bytes(1, 0),
    bytes(2, 0, 1, 65, 0, 0, 0, 0, 0, 0, 0, 0),
    bytes(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    whole.subarray(0, 3 + 4 + 7),
  ];
  for (const input of cases) throws(() => decodeEnvelope(input), TypeError, `${input}`);
  strictEqual(decodeEnvelope(whole.subarray(0, 3 + 4 + 8)).payload.length, 0);
});

Deno.test("decodeEnvelope() reads a view at an offset and fills the given object", () => {
  const inner = encodeEnvelope("n1", 42, 1, bytes(4, 5));
  const outer = new Uint8Array(inner.length + 10);
  outer.set(inner, 7);
  const into: Envelope = { node: "", seq: 0, flags: 0, payload: new Uint8Array() };
  const result = decodeEnvelope(outer.subarray(7, 7 + inner.length), into);
  strictEqual(result, into);
  deepStrictEqual(into, { node: "n1", seq: 42, flags: 1, payload: bytes(4, 5) });
});

Deno.test("decodeEnvelope() inverts encodeEnvelope() (property)", () => {
  fc.assert(fc.property(
    fc.stringMatching(/^[!-~]{1,255}$/),
    fc.maxSafeNat(),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ maxLength: 300 }),
    (node, seq, flags, payload) => {
      deepStrictEqual(decodeEnvelope(encodeEnvelope(node, seq, flags, payload)), {
        node,
        seq,
        flags,
        payload,
      });
    },
  ));
});

Deno.test("SequenceTracker.observe() reports holes, duplicates and baselines", () => {
  const cases: [string, [string, string, number][], number[]][] = [
    ["in order", [["t", "a", 1], ["t", "a", 2], ["t", "a", 3]], [0, 0, 0]],
    ["joins mid-stream", [["t", "a", 40], ["t", "a", 41]], [0, 0]],
    ["hole", [["t", "a", 1], ["t", "a", 5]], [0, 3]],
    ["duplicate and stale", [["t", "a", 3], ["t", "a", 3], ["t", "a", 2]], [0, -1, -1]],
    ["origins apart", [["t", "a", 1], ["t", "b", 7], ["t", "a", 2], ["t", "b", 8]], [0, 0, 0, 0]],
    ["topics apart", [["t", "a", 1], ["u", "a", 1], ["t", "a", 3]], [0, 0, 1]],
  ];
  for (const [name, events, expected] of cases) {
    const tracker = new SequenceTracker();
    deepStrictEqual(events.map(([t, n, s]) => tracker.observe(t, n, s)), expected, name);
  }
});

Deno.test("SequenceTracker.forget() and clear() reset baselines", () => {
  const tracker = new SequenceTracker();
  tracker.observe("t", "a", 1);
  tracker.observe("u", "a", 1);
  tracker.forget("t");
  strictEqual(tracker.observe("t", "a", 9), 0);
  strictEqual(tracker.observe("u", "a", 3), 1);
  tracker.clear();
  strictEqual(tracker.observe("u", "a", 1), 0);
});

Deno.test("PublishSequence.next() counts from 1 per topic", () => {
  const seq = new PublishSequence();
  deepStrictEqual(["a", "b", "a", "a", "b"].map((t) => seq.next(t)), [1, 1, 2, 3, 2]);
});

Deno.test("newNodeId() makes distinct printable ids the envelope accepts", () => {
  const ids = new Set(Array.from({ length: 1000 }, newNodeId));
  strictEqual(ids.size, 1000);
  for (const id of ids) strictEqual(decodeEnvelope(encodeEnvelope(id, 1, 0, bytes())).node, id);
});

class Log implements BrokerListener {
  got: string[] = [];
  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    this.got.push(`${topic}:${new TextDecoder().decode(payload)}:${origin.seq}`);
  }
  onGap(): void {}
  onStateChange(state: string): void {
    this.got.push(`state:${state}`);
  }
}

Deno.test("MemoryBroker.publish() delivers in a later microtask, not during the call", async () => {
  const bus = new MemoryBus();
  const log = new Log();
  const a = new MemoryBroker({ bus, listener: log });
  const b = new MemoryBroker({ bus });
  await a.subscribe("t");
  b.publish("t", new TextEncoder().encode("x"));
  deepStrictEqual(log.got, []);
  await Promise.resolve();
  deepStrictEqual(log.got, ["t:x:1"]);
  await a.close();
  await b.close();
});

Deno.test("MemoryBroker.unsubscribe() inside onMessage drops the queued rest of that topic", async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  const a: MemoryBroker = new MemoryBroker({
    bus,
    listener: {
      onMessage(topic, payload) {
        got.push(`${topic}:${payload[0]}`);
        if (topic === "t") void a.unsubscribe("t");
      },
      onGap() {},
      onStateChange() {},
    },
  });
  const b = new MemoryBroker({ bus });
  await Promise.all([a.subscribe("t"), a.subscribe("u")]);
  for (const topic of ["t", "u", "t", "u"]) b.publish(topic, bytes(got.length));
  await Promise.resolve();
  deepStrictEqual(got, ["t:0", "u:0", "u:0"]);
  strictEqual(bus.topicCount, 1);
  await a.close();
  await b.close();
  strictEqual(bus.topicCount, 0);
});

Deno.test("MemoryBroker.publish() from a listener reaches other nodes in order", async () => {
  const bus = new MemoryBus();
  const log = new Log();
  const relay: MemoryBroker = new MemoryBroker({
    bus,
    listener: {
      onMessage(_topic, payload) {
        relay.publish("out", payload);
      },
      onGap() {},
      onStateChange() {},
    },
  });
  const sink = new MemoryBroker({ bus, listener: log });
  const source = new MemoryBroker({ bus });
  await Promise.all([relay.subscribe("in"), sink.subscribe("out")]);
  for (const s of ["1", "2", "3"]) source.publish("in", new TextEncoder().encode(s));
  for (let i = 0; i < 3; i++) await Promise.resolve();
  deepStrictEqual(log.got, ["out:1:1", "out:2:2", "out:3:3"]);
  for (const node of [relay, sink, source]) await node.close();
  deepStrictEqual(log.got.at(-1), "state:closed");
});

Deno.test("MemoryBroker() without a bus is alone; a bad node id throws", async () => {
  const log = new Log();
  const a = new MemoryBroker({ listener: log });
  const b = new MemoryBroker();
  await a.subscribe("t");
  b.publish("t", bytes(1));
  await Promise.resolve();
  deepStrictEqual(log.got, []);
  notStrictEqual(a.nodeId, b.nodeId);
  throws(() => new MemoryBroker({ nodeId: "has space" }), TypeError);
  await a.close();
  await b.close();
  ok(a.state === "closed" && b.state === "closed");
});

Deno.test("reconnectSettings() applies defaults and keeps given values", () => {
  const listener = new Log();
  const cases: [Parameters<typeof reconnectSettings>[1], number[]][] = [
    [{}, [5000, 50, 5000, 5000]],
    [{ heartbeatInterval: 1, reconnectDelay: 2, maxReconnectDelay: 3, connectTimeout: 4 }, [
      1,
      2,
      3,
      4,
    ]],
  ];
  for (const [options, want] of cases) {
    const got = reconnectSettings("B", { ...options, nodeId: "n", listener });
    deepStrictEqual(
      [got.heartbeatInterval, got.reconnectDelay, got.maxReconnectDelay, got.connectTimeout],
      want,
    );
    strictEqual(got.nodeId, "n");
    strictEqual(got.listener, listener);
  }
  const fresh = reconnectSettings("B", {});
  strictEqual(fresh.listener, noopListener);
  ok(/^[A-Za-z0-9_-]{16}$/.test(fresh.nodeId));
});

Deno.test("reconnectSettings() refuses non-integer or non-positive durations and bad node ids", () => {
  const cases: [Parameters<typeof reconnectSettings>[1], RegExp | ErrorConstructor][] = [
    [{ heartbeatInterval: 0 }, /Cannot create B: heartbeatInterval must be an integer >= 1, got 0/],
    [{ reconnectDelay: 12.5 }, /reconnectDelay must be an integer >= 1, got 12.5/],
    [{ maxReconnectDelay: Infinity }, /maxReconnectDelay must be an integer >= 1, got Infinity/],
    [{ connectTimeout: NaN }, /connectTimeout must be an integer >= 1, got NaN/],
    [{ connectTimeout: -1 }, /connectTimeout must be an integer >= 1, got -1/],
    [{ nodeId: "" }, RangeError],
    [{ nodeId: "a b" }, TypeError],
  ];
  for (const [options, error] of cases) {
    throws(() => reconnectSettings("B", options), error, JSON.stringify(options));
  }
});

Deno.test("reconnectBackoff() doubles from reconnectDelay up to maxReconnectDelay, jittered by 0.8..1.2", () => {
  const settings = { reconnectDelay: 10, maxReconnectDelay: 1000 };
  const cases: [number, number, number][] = [
    [0, 0, 8],
    [0, 0.5, 10],
    [0, 0.99999, 12],
    [3, 0.5, 80],
    [6, 0.5, 640],
    [7, 0.5, 1000],
    [7, 0, 800],
    [1000, 0.99999, 1200],
  ];
  for (const [attempt, random, want] of cases) {
    strictEqual(reconnectBackoff(settings, attempt, () => random), want, `${attempt} ${random}`);
  }
});

class EventLog implements BrokerListener {
  got: string[] = [];
  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    const text = new TextDecoder().decode(payload);
    this.got.push(`msg ${topic} ${origin.node}#${origin.seq} f${origin.flags} ${text}`);
  }
  onGap(gap: BrokerGap): void {
    this.got.push(`gap ${gap.reason} ${gap.topic} ${gap.node} ${gap.missed}`);
  }
  onStateChange(state: BrokerState, error: Error | undefined): void {
    this.got.push(`state ${state} ${error?.message}`);
  }
}

Deno.test("BrokerEvents.deliver() drops foreign, own and duplicate envelopes and reports holes", () => {
  const log = new EventLog();
  const events = new BrokerEvents({ nodeId: "me", listener: log }, BrokerState.Connected);
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const inputs: [string, Uint8Array][] = [
    ["t", encodeEnvelope("a", 3, 1, text("first"))],
    ["t", encodeEnvelope("a", 3, 1, text("dup"))],
    ["t", bytes(9, 9, 9)],
    ["t", encodeEnvelope("me", 1, 0, text("own"))],
    ["t", encodeEnvelope("a", 6, 0, text("after hole"))],
    ["u", encodeEnvelope("a", 1, 0, text("other topic"))],
    ["t", encodeEnvelope("b", 1, 0, text("other node"))],
  ];
  for (const [topic, envelope] of inputs) events.deliver(topic, envelope);
  deepStrictEqual(log.got, [
    "msg t a#3 f1 first",
    "gap sequence t a 2",
    "msg t a#6 f0 after hole",
    "msg u a#1 f0 other topic",
    "msg t b#1 f0 other node",
  ]);
});

Deno.test("BrokerEvents.forget() and clear() reset baselines; the current listener is used", () => {
  const broker = { nodeId: "me", listener: noopListener as BrokerListener };
  const events = new BrokerEvents(broker, BrokerState.Connected);
  events.deliver("t", encodeEnvelope("a", 1, 0, bytes()));
  events.deliver("u", encodeEnvelope("a", 1, 0, bytes()));
  const log = new EventLog();
  broker.listener = log;
  events.forget("t");
  events.deliver("t", encodeEnvelope("a", 5, 0, bytes()));
  events.deliver("u", encodeEnvelope("a", 5, 0, bytes()));
  events.clear();
  events.deliver("u", encodeEnvelope("a", 9, 0, bytes()));
  deepStrictEqual(log.got, [
    "msg t a#5 f0 ",
    "gap sequence u a 3",
    "msg u a#5 f0 ",
    "msg u a#9 f0 ",
  ]);
});

Deno.test("BrokerEvents.deliver() reports a throwing listener and goes on", () => {
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent): void => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    const boom = new Error("boom");
    const listener: BrokerListener = {
      ...noopListener,
      onMessage(): void {
        throw boom;
      },
    };
    const events = new BrokerEvents({ nodeId: "me", listener }, BrokerState.Connected);
    events.deliver("t", encodeEnvelope("a", 1, 0, bytes()));
    events.deliver("t", encodeEnvelope("a", 2, 0, bytes()));
    deepStrictEqual(reported, [boom, boom]);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("BrokerEvents.setState() reports each change once, wrapping non-Error causes", () => {
  const log = new EventLog();
  const events = new BrokerEvents({ nodeId: "me", listener: log }, BrokerState.Connecting);
  const steps: [BrokerState, unknown][] = [
    [BrokerState.Connecting, undefined],
    [BrokerState.Disconnected, "refused"],
    [BrokerState.Disconnected, new Error("again")],
    [BrokerState.Connected, undefined],
    [BrokerState.Disconnected, new Error("reset")],
    [BrokerState.Closed, undefined],
  ];
  for (const [state, error] of steps) events.setState(state, error);
  deepStrictEqual(log.got, [
    "state disconnected refused",
    "state connected undefined",
    "state disconnected reset",
    "state closed undefined",
  ]);
  strictEqual(events.state, BrokerState.Closed);
  ok(events.closed);
});

Deno.test("BrokerEvents.reconnected() reports one reconnect gap per topic", () => {
  const log = new EventLog();
  const events = new BrokerEvents({ nodeId: "me", listener: log }, BrokerState.Connected);
  events.reconnected(new Set(["a", "b"]));
  events.reconnected([]);
  deepStrictEqual(log.got, ["gap reconnect a null -1", "gap reconnect b null -1"]);
});

Deno.test("MemoryBroker() shares the frozen noopListener by default", async () => {
  const broker = new MemoryBroker();
  strictEqual(broker.listener, noopListener);
  ok(Object.isFrozen(noopListener));
  await broker.close();
});
