// The broker conformance table: one list of behaviours every Broker implementation must show,
// run by each implementation's test file against a fixture that makes nodes on one medium
// (a bus, a hub, a real Redis or NATS server). Test-only; not published.
import {
  type Broker,
  BrokerClosedError,
  type BrokerGap,
  type BrokerListener,
  BrokerState,
  GapReason,
  MessageFlags,
  type MessageOrigin,
  type ReconnectingBrokerOptions,
} from "@coroio/core";
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";

/** One received message, copied. */
export interface Received {
  topic: string;
  text: string;
  payload: Uint8Array;
  node: string;
  seq: number;
  flags: number;
}

/** A listener that records everything and lets a test wait for a condition. */
export class Recorder implements BrokerListener {
  messages: Received[] = [];
  gaps: BrokerGap[] = [];
  states: BrokerState[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  #decoder = new TextDecoder();

  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    this.messages.push({
      topic,
      text: this.#decoder.decode(payload),
      payload: payload.slice(),
      node: origin.node,
      seq: origin.seq,
      flags: origin.flags,
    });
    this.wake();
  }

  onGap(gap: BrokerGap): void {
    this.gaps.push(gap);
    this.wake();
  }

  onStateChange(state: BrokerState): void {
    this.states.push(state);
    this.wake();
  }

  texts(topic?: string): string[] {
    return this.messages.filter((m) => topic === undefined || m.topic === topic).map((m) => m.text);
  }

  /** Re-checks the waiters (for events mirrored from elsewhere). */
  wake(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.check()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves when `check()` holds (checked on every event); rejects after `ms`. */
  async until(check: () => boolean, what: string, ms = 5000): Promise<void> {
    if (check()) return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const waiter = { check, resolve };
    this.#waiters.push(waiter);
    const timer = setTimeout(() => {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      reject(new Error(`Timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    try {
      await promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once `n` messages (in total) have arrived. */
  count(n: number, ms?: number): Promise<void> {
    return this.until(() => this.messages.length >= n, `${n} messages`, ms);
  }
}

/** A node made by a fixture, with its recorder as listener. */
export interface Node {
  broker: Broker;
  rec: Recorder;
}

/** What an implementation's test provides: nodes on one shared medium. */
export interface BrokerFixture {
  /** Makes one more connected node; the runner closes it after the case. */
  node(rec: Recorder): Promise<Broker>;
}

const encoder = new TextEncoder();
const text = (s: string): Uint8Array => encoder.encode(s);

/**
 * Waits until `b` has received a marker published by `a` on `topic` (both subscribed to it):
 * anything `a` published before the marker on a topic `b` is subscribed to has arrived by then.
 */
async function marker(a: Node, b: Node, topic: string, label: string): Promise<void> {
  a.broker.publish(topic, text(label));
  await b.rec.until(() => b.rec.texts(topic).includes(label), `marker ${label}`);
}

type Case = [name: string, run: (make: () => Promise<Node>) => Promise<void>];

/** The table. */
export const CASES: Case[] = [
  ["subscribe() resolves once active: a later publish() is delivered", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("t");
    b.broker.publish("t", text("hello"));
    await a.rec.count(1);
    deepStrictEqual(a.rec.texts(), ["hello"]);
    strictEqual(a.rec.messages[0]!.node, b.broker.nodeId);
    strictEqual(a.rec.messages[0]!.seq, 1);
    deepStrictEqual(a.rec.gaps, []);
  }],
  ["publish() fans out to every subscribed node", async (make) => {
    const [a, b, c] = [await make(), await make(), await make()];
    await Promise.all([a.broker.subscribe("t"), b.broker.subscribe("t")]);
    c.broker.publish("t", text("all"));
    await Promise.all([a.rec.count(1), b.rec.count(1)]);
    deepStrictEqual([a.rec.texts(), b.rec.texts()], [["all"], ["all"]]);
  }],
  ["publish() is not delivered back to its own node", async (make) => {
    const [a, b] = [await make(), await make()];
    await Promise.all([a.broker.subscribe("t"), b.broker.subscribe("t")]);
    a.broker.publish("t", text("from a"));
    await b.rec.count(1);
    await marker(b, a, "t", "from b");
    deepStrictEqual(a.rec.texts(), ["from b"]);
  }],
  ["publish() keeps one publisher's order across topics, sequence numbers count per topic", async (
    make,
  ) => {
    const [a, b] = [await make(), await make()];
    await Promise.all([b.broker.subscribe("t1"), b.broker.subscribe("t2")]);
    const n = 1000;
    for (let i = 0; i < n; i++) a.broker.publish(i % 2 ? "t2" : "t1", text(String(i)));
    await b.rec.count(n);
    deepStrictEqual(b.rec.texts().map(Number), Array.from({ length: n }, (_, i) => i));
    for (const topic of ["t1", "t2"]) {
      const seqs = b.rec.messages.filter((m) => m.topic === topic).map((m) => m.seq);
      deepStrictEqual(seqs, Array.from({ length: n / 2 }, (_, i) => i + 1));
    }
    deepStrictEqual(b.rec.gaps, []);
  }],
  ["unsubscribe() stops delivery", async (make) => {
    const [a, b] = [await make(), await make()];
    await Promise.all([a.broker.subscribe("t"), a.broker.subscribe("other")]);
    b.broker.publish("t", text("before"));
    await a.rec.count(1);
    await a.broker.unsubscribe("t");
    b.broker.publish("t", text("after"));
    b.broker.publish("other", text("marker"));
    await a.rec.count(2);
    deepStrictEqual(a.rec.texts(), ["before", "marker"]);
  }],
  ["unsubscribe() then subscribe() without awaiting ends subscribed", async (make) => {
    const [a, b] = [await make(), await make()];
    await Promise.all([
      a.broker.subscribe("t"),
      a.broker.unsubscribe("t"),
      a.broker.subscribe("t"),
      a.broker.unsubscribe("t"),
      a.broker.subscribe("t"),
    ]);
    b.broker.publish("t", text("x"));
    await a.rec.count(1);
    deepStrictEqual(a.rec.texts(), ["x"]);
  }],
  ["subscribe() then unsubscribe() without awaiting ends unsubscribed", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("other");
    await Promise.all([
      a.broker.subscribe("t"),
      a.broker.unsubscribe("t"),
      a.broker.subscribe("t"),
      a.broker.unsubscribe("t"),
    ]);
    b.broker.publish("t", text("lost"));
    b.broker.publish("other", text("marker"));
    await a.rec.count(1);
    deepStrictEqual(a.rec.texts(), ["marker"]);
  }],
  ["subscribe() twice is idempotent: one delivery per message", async (make) => {
    const [a, b] = [await make(), await make()];
    await Promise.all([a.broker.subscribe("t"), a.broker.subscribe("t")]);
    await a.broker.subscribe("t");
    b.broker.publish("t", text("once"));
    await marker(b, a, "t", "marker");
    deepStrictEqual(a.rec.texts(), ["once", "marker"]);
  }],
  ["publish() carries binary payloads exactly and the flags", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("t");
    const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) & 255);
    b.broker.publish("t", all, MessageFlags.Binary);
    b.broker.publish("t", text("\u00e9\u0000"), MessageFlags.Text);
    await a.rec.count(2);
    deepStrictEqual(a.rec.messages[0]!.payload, all);
    deepStrictEqual(a.rec.messages.map((m) => m.flags), [MessageFlags.Binary, MessageFlags.Text]);
    strictEqual(a.rec.messages[1]!.text, "\u00e9\u0000");
  }],
  ["publish() carries an empty payload", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("t");
    b.broker.publish("t", new Uint8Array(0));
    await a.rec.count(1);
    strictEqual(a.rec.messages[0]!.payload.length, 0);
  }],
  ["publish() carries a 1 MiB payload", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("t");
    const big = new Uint8Array(1 << 20);
    crypto.getRandomValues(big.subarray(0, 65536));
    big.copyWithin(65536, 0);
    b.broker.publish("t", big);
    await a.rec.count(1, 10_000);
    ok(a.rec.messages[0]!.payload.length === big.length);
    deepStrictEqual(a.rec.messages[0]!.payload, big);
  }],
  ["publish() copies the payload: the caller may reuse its buffer", async (make) => {
    const [a, b] = [await make(), await make()];
    await a.broker.subscribe("t");
    const buf = text("first");
    b.broker.publish("t", buf);
    buf.set(text("XXXXX"));
    await a.rec.count(1);
    strictEqual(a.rec.messages[0]!.text, "first");
  }],
  ["subscribe() takes topics literally: '.', '*', '>', spaces, unicode, empty", async (make) => {
    const [a, b] = [await make(), await make()];
    const subscribed = [
      "x.*",
      "x.>",
      "*",
      ">",
      "a b",
      "x",
      "\u043a\u043e\u043c\u043d\u0430\u0442\u0430 \u{1f642}",
      "",
      "x:y",
    ];
    const others = [
      "x.a",
      "x.a.b",
      "y",
      "a",
      "x y",
      "x.",
      "a.b",
      "\u043a\u043e\u043c\u043d\u0430\u0442\u0430",
    ];
    await Promise.all(subscribed.map((t) => a.broker.subscribe(t)));
    for (const t of [...others, ...subscribed]) b.broker.publish(t, text(t));
    await a.rec.count(subscribed.length);
    await marker(b, a, "x", "marker");
    const got = a.rec.messages.filter((m) => m.text !== "marker");
    deepStrictEqual(got.map((m) => m.topic), subscribed);
    deepStrictEqual(got.map((m) => m.text), subscribed);
  }],
  ["subscribe() handles 500 topics", async (make) => {
    const [a, b] = [await make(), await make()];
    const topics = Array.from({ length: 500 }, (_, i) => `topic-${i}`);
    await Promise.all(topics.map((t) => a.broker.subscribe(t)));
    for (const t of topics) b.broker.publish(t, text(t));
    await a.rec.count(500);
    deepStrictEqual(a.rec.messages.map((m) => m.topic).sort(), [...topics].sort());
    for (const m of a.rec.messages) strictEqual(m.text, m.topic);
  }],
  ["close() reports closed, refuses later calls and is idempotent", async (make) => {
    const a = await make();
    await a.broker.subscribe("t");
    await a.broker.close();
    await a.broker.close();
    strictEqual(a.broker.state, "closed");
    strictEqual(a.rec.states.at(-1), "closed");
    strictEqual(a.rec.states.filter((s) => s === "closed").length, 1);
    throws(() => a.broker.publish("t", text("x")), BrokerClosedError);
    await rejects(a.broker.subscribe("t"), BrokerClosedError);
  }],
];

/**
 * Registers one test running every case of the table (as steps) against a fixture.
 *
 * @param name The implementation, e.g. "RedisBroker".
 * @param setup Makes the fixture (starts a server...) and returns it with its teardown.
 * @param ignore A reason to skip (printed loudly), or `false`.
 */
export function conformance(
  name: string,
  setup: () => Promise<BrokerFixture & { teardown(): Promise<void> }>,
  ignore: string | false = false,
): void {
  if (ignore) {
    // deno-lint-ignore no-console
    console.warn(`SKIPPED ${name} conformance: ${ignore}`);
  }
  Deno.test({
    name: `${name} conformance: every case of the broker table`,
    ignore: ignore !== false,
    async fn(t) {
      const fixture = await setup();
      try {
        for (const [caseName, run] of CASES) {
          await t.step(`${name}.${caseName}`, async () => {
            const nodes: Node[] = [];
            const make = async (): Promise<Node> => {
              const rec = new Recorder();
              const node = { broker: await fixture.node(rec), rec };
              nodes.push(node);
              return node;
            };
            try {
              await run(make);
            } finally {
              await Promise.all(nodes.map((n) => n.broker.close()));
            }
          });
        }
      } finally {
        await fixture.teardown();
      }
    },
  });
}

/**
 * The path of a server binary (on PATH, or in /usr/sbin where Debian puts nats-server), or
 * `undefined` when it is missing: tests then skip loudly.
 */
export function findBinary(name: string): string | undefined {
  for (const candidate of [name, `/usr/sbin/${name}`, `/usr/bin/${name}`]) {
    try {
      new Deno.Command(candidate, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync();
      return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** A free loopback port (bound and released; good enough on a test box). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A broker server (redis-server, nats-server) run by a test on a loopback port, stopped by PID. */
export class ServerProcess {
  readonly port: number;
  #command: string;
  #args: string[];
  #child: Deno.ChildProcess | undefined;

  constructor(command: string, args: (port: number) => string[], port = freePort()) {
    this.port = port;
    this.#command = command;
    this.#args = args(port);
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<this> {
    if (this.#child !== undefined) throw new Error("Cannot start: already running");
    this.#child = new Deno.Command(this.#command, {
      args: this.#args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const child = this.#child;
    let exit: Deno.CommandStatus | undefined;
    void child.status.then((status) => exit = status);
    const deadline = Date.now() + 5000;
    for (;;) {
      if (exit !== undefined) {
        throw new Error(`${this.#command} exited with code ${exit.code} before listening`);
      }
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        return this;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`${this.#command} never listened on ${this.port}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** Sends a signal to the server's PID. */
  signal(signal: Deno.Signal): void {
    this.#child?.kill(signal);
  }

  /** Stops the server (SIGKILL by default: a crash) and waits for it to exit. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill("SIGCONT");
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.status;
  }
}

/** A broker that holds a connection to a server (`RedisBroker`, `NatsBroker`). */
export interface ServerBroker extends Broker {
  /** Resolves once connected the first time. */
  ready(): Promise<void>;
  /** How many publishes were dropped while disconnected. */
  readonly dropped: number;
}

/** Makes a {@linkcode ServerBroker} talking to the server on 127.0.0.1:`port`. */
export type ServerBrokerAt = (port: number, options: ReconnectingBrokerOptions) => ServerBroker;

/**
 * Starts a broker before its server (not started yet: `server`), checks it reports a failed
 * attempt, then starts the server and checks a subscribe made meanwhile and `ready()` resolve.
 * The caller stops the server afterwards.
 */
export async function startedBeforeServer(
  server: ServerProcess,
  at: ServerBrokerAt,
): Promise<void> {
  const rec = new Recorder();
  const broker = at(server.port, { listener: rec, reconnectDelay: 10, maxReconnectDelay: 50 });
  try {
    const subscribed = broker.subscribe("t");
    await rec.until(() => rec.states.includes(BrokerState.Disconnected), "a failed attempt");
    await server.start();
    await subscribed;
    await broker.ready();
    strictEqual(broker.state, BrokerState.Connected);
  } finally {
    await broker.close();
  }
}

/**
 * Closes a broker whose server never came up (a free port): a pending subscribe rejects with
 * {@linkcode BrokerClosedError} and nothing is left running (the sanitizers check).
 */
export async function closedBeforeServer(at: ServerBrokerAt): Promise<void> {
  const rec = new Recorder();
  const broker = at(freePort(), { listener: rec, reconnectDelay: 10 });
  const refused = broker.subscribe("t").then(() => false, (e) => e instanceof BrokerClosedError);
  await rec.until(() => rec.states.includes(BrokerState.Disconnected), "a failed attempt");
  await broker.close();
  strictEqual(await refused, true);
  strictEqual(broker.state, BrokerState.Closed);
}

/**
 * Checks a reconnecting broker class refuses bad options in its constructor, before any
 * connection is attempted: the durations follow `intOption`'s rule, the node id the envelope's.
 */
export function refusesBadOptions(
  owner: string,
  make: (options: ReconnectingBrokerOptions) => unknown,
): void {
  const cases: [ReconnectingBrokerOptions, RegExp | ErrorConstructor][] = [
    [
      { heartbeatInterval: 0 },
      new RegExp(`Cannot create ${owner}: heartbeatInterval must be an integer >= 1`),
    ],
    [
      { reconnectDelay: 2.5 },
      new RegExp(`Cannot create ${owner}: reconnectDelay must be an integer >= 1`),
    ],
    [{ maxReconnectDelay: Infinity }, /maxReconnectDelay must be an integer >= 1/],
    [{ connectTimeout: -1 }, /connectTimeout must be an integer >= 1/],
    [{ nodeId: "" }, RangeError],
    [{ nodeId: "a b" }, TypeError],
  ];
  for (const [options, error] of cases) {
    throws(() => make(options), error, JSON.stringify(options));
  }
}

/**
 * Kills `server` (SIGKILL) while `pub` publishes every 2 ms to a subscriber, restarts it, and
 * checks the subscriber saw one disconnect, one reconnect gap, then delivery again with every
 * sequence number up to the last one received either delivered or reported missing, and that
 * `pub` counted the publishes it dropped meanwhile. The caller stops the server afterwards.
 */
export async function serverCrash(
  server: ServerProcess,
  make: (rec: Recorder) => Promise<ServerBroker>,
): Promise<void> {
  const [subRec, pubRec] = [new Recorder(), new Recorder()];
  const sub = await make(subRec);
  const pub = await make(pubRec);
  let sent = 0;
  const ticker = setInterval(() => pub.publish("t", text(String(++sent))), 2);
  try {
    await sub.subscribe("t");
    await subRec.count(20);
    await server.stop("SIGKILL");
    await subRec.until(() => sub.state === BrokerState.Disconnected, "disconnected");
    const before = subRec.messages.length;
    await server.start();
    await subRec.until(
      () => subRec.gaps.some((g) => g.reason === GapReason.Reconnect),
      "a reconnect gap",
    );
    await subRec.until(() => subRec.messages.length > before + 20, "delivery to resume");
    await subRec.until(
      () => subRec.gaps.some((g) => g.reason === GapReason.Sequence),
      "a sequence gap",
    );
  } finally {
    clearInterval(ticker);
    await sub.close();
    await pub.close();
  }
  // Every sequence number up to the last received was either delivered or reported missing.
  const seqs = subRec.messages.map((m) => m.seq);
  const missed = subRec.gaps.filter((g) => g.reason === GapReason.Sequence)
    .reduce((sum, g) => sum + g.missed, 0);
  strictEqual(seqs.length + missed, seqs.at(-1));
  deepStrictEqual(seqs, [...seqs].sort((x, y) => x - y));
  deepStrictEqual(
    subRec.gaps.filter((g) => g.reason === GapReason.Reconnect).map((g) => g.topic),
    ["t"],
  );
  deepStrictEqual(subRec.states, ["connected", "disconnected", "connected", "closed"]);
  ok(pub.dropped > 0, "publishes while the server was down are counted as dropped");
}

/**
 * Runs a slow subscriber (see testdata/slow_subscriber.ts) of broker class `className` from
 * `module` in a worker, floods it through `publisher` until the server disconnects it, then
 * checks it reconnects, reports the gaps, and that every sequence number up to the last one
 * received was either delivered or reported missing.
 */
export async function slowSubscriber(
  module: string,
  className: string,
  options: Record<string, unknown>,
  publisher: Broker,
): Promise<{ received: number; missed: number }> {
  const worker = new Worker(new URL("./testdata/slow_subscriber.ts", import.meta.url), {
    type: "module",
  });
  const seqs: number[] = [];
  const gaps: BrokerGap[] = [];
  const states: string[] = [];
  const rec = new Recorder(); // only for until(), woken on each event from the worker
  const closed = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<void>();
  worker.onmessage = (event) => {
    const msg = event.data;
    if (msg.op === "message") seqs.push(msg.seq);
    else if (msg.op === "gap") gaps.push(msg.gap);
    else if (msg.op === "state") states.push(msg.state);
    else if (msg.op === "ready") ready.resolve();
    else if (msg.op === "closed") closed.resolve();
    rec.wake();
  };
  worker.postMessage({ op: "init", module, className, options, topic: "slow", blockMs: 1500 });
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    await ready.promise;
    const chunk = new Uint8Array(16 << 10).fill(1);
    for (let i = 0; i < 2000; i++) publisher.publish("slow", chunk); // 32 MiB
    const small = new Uint8Array(8);
    ticker = setInterval(() => publisher.publish("slow", small), 5);
    await rec.until(
      () =>
        gaps.some((g) => g.reason === "reconnect") && gaps.some((g) => g.reason === "sequence") &&
        seqs.length > 0 && seqs.at(-1)! > 2000,
      "the slow subscriber to be cut off, reconnect, report gaps and receive again",
      20_000,
    );
  } finally {
    clearInterval(ticker);
    worker.postMessage({ op: "close" });
    await closed.promise;
    worker.terminate();
  }
  ok(states.includes("disconnected"), `states ${states}`);
  const missed = gaps.filter((g) => g.reason === "sequence").reduce((sum, g) => sum + g.missed, 0);
  strictEqual(seqs.length + missed, seqs.at(-1));
  deepStrictEqual(seqs, [...seqs].sort((x, y) => x - y));
  return { received: seqs.length, missed };
}

/**
 * Two processes on one broker: a separate `deno run` process publishes `n` messages through
 * broker class `className` of `module`; `subscriber` (in this process) must get all of them,
 * in order, with no gap reported.
 */
export async function twoProcesses(
  module: string,
  className: string,
  options: Record<string, unknown>,
  subscriber: Node,
  n: number,
): Promise<void> {
  await subscriber.broker.subscribe("cross");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./testdata/publisher_process.ts", import.meta.url).href,
      module,
      className,
      JSON.stringify(options),
      "cross",
      String(n),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  try {
    const { value } = await reader.read();
    strictEqual(new TextDecoder().decode(value), "ready\n");
    await writer.write(new TextEncoder().encode("go\n"));
    await subscriber.rec.count(n, 20_000);
  } finally {
    await writer.close();
    await reader.cancel();
    strictEqual((await child.status).code, 0);
  }
  deepStrictEqual(
    subscriber.rec.texts("cross").map(Number),
    Array.from({ length: n }, (_, i) => i),
  );
  deepStrictEqual(subscriber.rec.gaps, []);
}

/**
 * Subscription changes made while the server is down take effect once it is back: a topic
 * subscribed meanwhile is delivered, one unsubscribed meanwhile is not, one kept is renewed.
 */
export async function changesWhileDown(
  server: ServerProcess,
  make: (rec: Recorder) => Promise<Broker>,
): Promise<void> {
  const [subRec, pubRec] = [new Recorder(), new Recorder()];
  const sub = await make(subRec);
  const pub = await make(pubRec);
  try {
    await Promise.all([sub.subscribe("kept"), sub.subscribe("dropped")]);
    await server.stop("SIGKILL");
    await subRec.until(() => sub.state === "disconnected", "disconnected");
    const late = sub.subscribe("late");
    const dropped = sub.unsubscribe("dropped");
    await server.start();
    await Promise.all([late, dropped]);
    // The publisher reconnects on its own schedule: publish markers until one gets through.
    let i = 0;
    const ticker = setInterval(() => pub.publish("kept", text(`marker ${i++}`)), 20);
    try {
      await subRec.until(() => subRec.texts("kept").length > 0, "a marker after the restart");
    } finally {
      clearInterval(ticker);
    }
    pub.publish("dropped", text("x"));
    pub.publish("late", text("y"));
    pub.publish("kept", text("z"));
    await subRec.until(() => subRec.texts("kept").includes("z"), "the last message");
    await subRec.until(() => subRec.texts("late").includes("y"), "the late topic's message");
    deepStrictEqual(subRec.texts("dropped"), []);
  } finally {
    await sub.close();
    await pub.close();
  }
}
