// examples/fanout.ts over real loopback: one process, two processes on one
// Redis and on one NATS (servers started here, stopped by PID), N workers, a
// slow subscriber, unsubscribe races, and a broker killed and restarted.
import { connect, type WebSocketSession } from "@coroio/ws";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { findBinary, ServerProcess } from "../broker_workers/_conformance.ts";
import { RawClient } from "../ws/_test_util.ts";

const FANOUT = new URL("../examples/fanout.ts", import.meta.url).pathname;

/** A fanout.ts process: its address, its stderr so far, and a stop that checks the exit. */
class Fanout {
  readonly url: string;
  #child: Deno.ChildProcess;
  #stderr = "";
  #draining: Promise<void>;

  private constructor(child: Deno.ChildProcess, url: string, stdout: Promise<void>) {
    this.#child = child;
    this.url = url;
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const err = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#stderr += value;
      }
    })();
    this.#draining = Promise.all([stdout, err]).then(() => {});
  }

  get stderr(): string {
    return this.#stderr;
  }

  static async start(args: string[], denoFlags: string[] = []): Promise<Fanout> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...denoFlags, FANOUT, "--port", "0", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    try {
      for (;;) {
        const m = /listening on (\S+)/.exec(seen);
        if (m) break;
        const { value, done } = await reader.read();
        if (done) throw new Error(`fanout.ts exited before listening: ${seen}`);
        seen += value;
      }
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      await child.stderr.cancel();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const stdout = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })();
    return new Fanout(child, /listening on (\S+)/.exec(seen)![1]!, stdout);
  }

  /** Stops with SIGTERM; resolves with the exit code (SIGKILL after 10 s: -1). */
  async stop(): Promise<number> {
    this.#child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.#child.status,
      new Promise<null>((r) => timer = setTimeout(r, 10000, null)),
    ]);
    clearTimeout(timer);
    if (status === null) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
      await this.#draining;
      return -1;
    }
    await this.#draining;
    return status.code;
  }
}

/** A WebSocket client with a bounded wait per message. */
class Client {
  readonly ws: WebSocketSession;
  #it: AsyncIterator<string | Uint8Array>;

  private constructor(ws: WebSocketSession) {
    this.ws = ws;
    this.#it = ws[Symbol.asyncIterator]();
  }

  static async open(url: string): Promise<Client> {
    return new Client(await connect(url));
  }

  async next(ms = 5000): Promise<string | Uint8Array> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const r = await Promise.race([
        this.#it.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
        }),
      ]);
      if (r.done) throw new Error("connection closed");
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  async texts(n: number): Promise<(string | Uint8Array)[]> {
    const out: (string | Uint8Array)[] = [];
    while (out.length < n) out.push(await this.next());
    return out;
  }

  async sub(topic: string): Promise<void> {
    await this.ws.send(`sub ${topic}`);
    strictEqual(await this.next(), `subscribed ${topic}`);
  }

  /** Nothing more is queued: a marker published now is the next message. */
  async onlyMarkerLeft(publisher: Client, topic: string): Promise<void> {
    await publisher.ws.send(`pub ${topic} marker`);
    strictEqual(await this.next(), "marker");
  }

  close(): Promise<void> {
    return this.ws.close();
  }
}

function binaryPublish(topic: string, payload: Uint8Array): Uint8Array {
  const t = new TextEncoder().encode(topic);
  const out = new Uint8Array(1 + t.length + payload.length);
  out[0] = t.length;
  out.set(t, 1);
  out.set(payload, 1 + t.length);
  return out;
}

async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

Deno.test("fanout.ts serves sub, unsub, pub (text, empty, binary) on one process; topics are literal", async () => {
  const server = await Fanout.start([]);
  const [a, b] = [await Client.open(server.url), await Client.open(server.url)];
  try {
    await a.sub("x.*");
    await b.sub("x.>");
    await b.sub("x.a");
    await a.ws.send("pub x.a only b");
    await a.ws.send("pub x.* hello  with spaces ");
    await a.ws.send("pub x.* ");
    await b.ws.send(binaryPublish("x.>", new Uint8Array([1, 2, 3])));
    deepStrictEqual(await a.texts(2), ["hello  with spaces ", ""]);
    deepStrictEqual(await b.texts(2), ["only b", new Uint8Array([1, 2, 3])]);
    await a.ws.send("unsub x.*");
    strictEqual(await a.next(), "unsubscribed x.*");
    await a.ws.send("pub x.* gone");
    await b.onlyMarkerLeft(a, "x.a");
    await a.sub("x.a");
    await a.onlyMarkerLeft(b, "x.a"); // the sender gets its own message when subscribed
    strictEqual(await b.next(), "marker");
  } finally {
    await closeAll([a, b]);
    strictEqual(await server.stop(), 0);
  }
});

interface BrokerCase {
  name: string;
  binary: string;
  args: (port: number) => string[];
  flag: (port: number) => string[];
}

const BROKERS: BrokerCase[] = [
  {
    name: "redis",
    binary: "redis-server",
    args: (
      p,
    ) => ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    flag: (p) => ["--redis", `redis://127.0.0.1:${p}`],
  },
  {
    name: "nats",
    binary: "nats-server",
    args: (p) => ["-a", "127.0.0.1", "-p", String(p)],
    flag: (p) => ["--nats", `nats://127.0.0.1:${p}`],
  },
];

for (const broker of BROKERS) {
  const binary = findBinary(broker.binary);
  const ignore = binary === undefined;
  if (ignore) {
    // deno-lint-ignore no-console
    console.warn(`SKIPPING fanout --${broker.name} tests: ${broker.binary} is not installed`);
  }

  Deno.test({
    name:
      `fanout.ts --${broker.name}: two processes, every subscriber exactly once, per-publisher order, literal topics, unsubscribe races`,
    ignore,
    async fn() {
      const server = await new ServerProcess(binary!, broker.args).start();
      const p1 = await Fanout.start(broker.flag(server.port));
      const p2 = await Fanout.start(broker.flag(server.port));
      const clients: Client[] = [];
      const open = async (p: Fanout): Promise<Client> => {
        const c = await Client.open(p.url);
        clients.push(c);
        return c;
      };
      try {
        const [pub, a1] = [await open(p1), await open(p1)];
        const [b1, b2, b3] = [await open(p2), await open(p2), await open(p2)];
        await a1.sub("x.*");
        await b1.sub("x.*");
        await b2.sub("x.>");
        await b3.sub("x.*");
        await b3.sub("x.a");
        const sent: string[] = [];
        for (let i = 0; i < 100; i++) {
          const topic = i % 3 === 0 ? "x.a" : "x.*";
          sent.push(`${topic}:${i}`);
          await pub.ws.send(`pub ${topic} ${topic}:${i}`);
        }
        const star = sent.filter((s) => s.startsWith("x.*"));
        deepStrictEqual(await a1.texts(star.length), star);
        deepStrictEqual(await b1.texts(star.length), star);
        deepStrictEqual(await b3.texts(sent.length), sent); // across topics, in publish order
        // Exactly once: the marker comes right after.
        for (const c of [a1, b1, b3]) await c.onlyMarkerLeft(pub, "x.*");
        // "x.>" is a topic of its own, not a wildcard: b2 got nothing so far.
        await b2.onlyMarkerLeft(pub, "x.>");

        // Unsubscribe races: sub, unsub, sub pipelined; the last one wins everywhere.
        const c = await open(p2);
        await c.ws.send("sub race");
        await c.ws.send("unsub race");
        await c.ws.send("sub race");
        const replies = await c.texts(3);
        deepStrictEqual(
          [...replies].sort(),
          ["subscribed race", "subscribed race", "unsubscribed race"],
        );
        await pub.ws.send("pub race once");
        strictEqual(await c.next(), "once");
        await c.onlyMarkerLeft(pub, "race");
        // sub then unsub at once: nothing arrives on the other process afterwards.
        await c.ws.send("unsub race");
        strictEqual(await c.next(), "unsubscribed race");
        await pub.ws.send("pub race lost");
        await c.sub("check");
        await c.onlyMarkerLeft(pub, "check"); // "lost" would have come first (same publisher)
      } finally {
        await closeAll(clients);
        strictEqual(await p1.stop(), 0);
        strictEqual(await p2.stop(), 0);
        await server.stop("SIGTERM");
      }
    },
  });

  Deno.test({
    name:
      `fanout.ts --${broker.name}: a broker killed and restarted: gaps reported, delivery resumes, nothing crashes`,
    ignore,
    async fn() {
      const server = await new ServerProcess(binary!, broker.args).start();
      const p1 = await Fanout.start(broker.flag(server.port));
      const p2 = await Fanout.start(broker.flag(server.port));
      const clients: Client[] = [];
      try {
        const pub = await Client.open(p1.url);
        const sub = await Client.open(p2.url);
        clients.push(pub, sub);
        await sub.sub("t");
        await pub.ws.send("pub t before");
        strictEqual(await sub.next(), "before");
        await server.stop("SIGKILL");
        for (let i = 0; i < 10; i++) await pub.ws.send(`pub t down${i}`); // lost, no crash
        await new Promise((r) => setTimeout(r, 300));
        await server.start();
        // Publish until one arrives (a publish may race the re-subscribe).
        let got = "";
        for (let i = 0; i < 100 && got === ""; i++) {
          await pub.ws.send(`pub t after${i}`);
          got = await sub.next(200).then((m) => m as string, () => "");
        }
        ok(got.startsWith("after") || got.startsWith("down"), got);
        // The subscriber's process reported the outage as a gap on stderr.
        const deadline = Date.now() + 5000;
        while (!/gap \S+ t /.test(p2.stderr) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        ok(/gap \S+ t /.test(p2.stderr), `no gap reported: ${p2.stderr}`);
      } finally {
        await closeAll(clients);
        strictEqual(await p1.stop(), 0);
        strictEqual(await p2.stop(), 0);
        await server.stop("SIGTERM");
      }
    },
  });
}

// Without --unstable-net the workers share one accept queue; with it, SO_REUSEPORT.
for (const denoFlags of [[], ["--unstable-net"]]) {
  Deno.test(`fanout.ts --workers 2${denoFlags.map((f) => ` (deno ${f})`).join("")}: a publish reaches the subscribers on every worker; SIGTERM stops it`, async () => {
    const server = await Fanout.start(["--workers", "2"], denoFlags);
    const clients: Client[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const c = await Client.open(server.url);
        clients.push(c);
        await c.sub("all");
      }
      const pub = clients[0]!;
      for (let i = 0; i < 20; i++) await pub.ws.send(`pub all m${i}`);
      const want = Array.from({ length: 20 }, (_, i) => `m${i}`);
      for (const c of clients) deepStrictEqual(await c.texts(20), want);
      for (const c of clients) await c.onlyMarkerLeft(pub, "all");
    } finally {
      await closeAll(clients);
      strictEqual(await server.stop(), 0);
    }
  });
}

Deno.test("fanout.ts: a subscriber that stops reading neither stalls the publisher nor the others", async () => {
  const server = await Fanout.start([]);
  const port = Number(new URL(server.url).port);
  const slow = await RawClient.open(port);
  const [pub, fast] = [await Client.open(server.url), await Client.open(server.url)];
  try {
    await slow.sendFrame(0x1, "sub big");
    const reply = await slow.next();
    deepStrictEqual(reply, { type: "text", data: "subscribed big" });
    await fast.sub("big");
    // 400 x 64 KiB: far more than the slow client's socket buffers and its 1 MiB limit.
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 400; i++) {
      payload[0] = i & 0xff;
      await pub.ws.send(binaryPublish("big", payload));
      const got = await fast.next() as Uint8Array;
      strictEqual(got.length, payload.length);
      strictEqual(got[0], i & 0xff);
    }
    await fast.onlyMarkerLeft(pub, "big");
  } finally {
    slow.close();
    await closeAll([pub, fast]);
    strictEqual(await server.stop(), 0);
  }
});
