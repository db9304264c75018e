// JavaScript cost per request of the HTTP server and of the fetch adapter,
// without sockets (not part of the package):
//
//   deno run -A serve/testdata/adapter_cost.ts [--vary] [requests] [perRead] [rounds] [variants...]
//
// --vary: every request carries an `X-Seq` field with its own number, so that
// no two heads are byte-identical (as in real traffic; wrk sends the same
// bytes every time).
//
// variants: native      a native @coroio/http Handler answering "Hello Hono!"
//           post        examples/http_hello.ts's routes, POST /echo with a
//                       1 KiB body (wrk's bench/wrk/post_1k.lua shape): the
//                       Echo handler copies Content-Type and sends the body back
//           fetch       serve(() => new Response("Hello Hono!"))
//           hono        a hono "hello" app under serve(app.fetch)
// Each variant runs in its own process. The server is the real one
// (HttpServer, or serve() with Deno.listen replaced by an in-memory
// listener): its one connection is an in-memory Deno.Conn whose read()
// hands `perRead` pipelined wrk-style requests at a time (1: keep-alive
// shape, one request per read; 16: wrk's pipeline.lua) and whose write()
// takes everything at once. No system call is made, so what is measured is
// the server's own JavaScript per request, plus one settled promise per read
// and per write where Deno would make an op. Reported: microseconds of process CPU
// (user+system) and of wall time per request, the median of the rounds.
import { Hono } from "npm:hono@4.13.19";
import { type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
import { serve } from "../serve.ts";
import { helloRoutes } from "../../examples/http_hello.ts";

const BODY = "Hello Hono!";
const REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const POST_BODY = "0123456789abcdef".repeat(64);
const POST = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
  "Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n" + POST_BODY;
const encoder = new TextEncoder();
const VARY = Deno.args.includes("--vary");
const ARGS = Deno.args.filter((a) => a !== "--vary");
const SEQ_DIGITS = 8;

/** A connection that reads canned requests from memory and drops what is written. */
class MemoryConn {
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8080 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
  readonly rid = -1;
  readonly readable = null as unknown as ReadableStream<Uint8Array>;
  readonly writable = null as unknown as WritableStream<Uint8Array>;
  readonly closed: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  written = 0;
  #batch: Uint8Array;
  #batches: number;
  #off = 0;

  /** Where each request's X-Seq digits are in the batch (empty without --vary). */
  #seqAt: number[] = [];
  #seq = 0;

  constructor(request: string, requests: number, perRead: number) {
    if (VARY) request = request.replace("\r\n", "\r\nX-Seq: " + "0".repeat(SEQ_DIGITS) + "\r\n");
    const text = request.repeat(perRead);
    this.#batch = encoder.encode(text);
    this.#batches = Math.ceil(requests / perRead);
    for (let at = text.indexOf("X-Seq: "); at >= 0; at = text.indexOf("X-Seq: ", at + 1)) {
      this.#seqAt.push(at + 7);
    }
  }

  /** Gives every request of the batch a number of its own. */
  #number(): void {
    const batch = this.#batch;
    for (const at of this.#seqAt) {
      let n = ++this.#seq;
      for (let i = SEQ_DIGITS - 1; i >= 0; i--, n = Math.floor(n / 10)) {
        batch[at + i] = 0x30 + n % 10;
      }
    }
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#batches === 0) return Promise.resolve(null);
    if (this.#off === 0 && this.#seqAt.length > 0) this.#number();
    const rest = this.#batch.subarray(this.#off);
    const n = Math.min(rest.length, buf.length);
    buf.set(rest.subarray(0, n));
    this.#off += n;
    if (this.#off === this.#batch.length) {
      this.#off = 0;
      this.#batches--;
    }
    return Promise.resolve(n);
  }

  write(p: Uint8Array): Promise<number> {
    this.written += p.length;
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed.resolve();
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  setNoDelay(): void {}
  setKeepAlive(): void {}
  ref(): void {}
  unref(): void {}
  [Symbol.dispose](): void {}
}

/** A listener that hands out the connections pushed into it. */
class MemoryListener {
  readonly addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8080 };
  readonly rid = -1;
  #queue: MemoryConn[] = [];
  #waiting: PromiseWithResolvers<MemoryConn> | null = null;
  #closed = false;

  push(conn: MemoryConn): void {
    if (this.#waiting !== null) {
      const w = this.#waiting;
      this.#waiting = null;
      w.resolve(conn);
    } else this.#queue.push(conn);
  }
  accept(): Promise<MemoryConn> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    this.#waiting = Promise.withResolvers<MemoryConn>();
    return this.#waiting.promise;
  }
  close(): void {
    this.#closed = true;
    this.#waiting?.reject(new Deno.errors.BadResource("closed"));
    this.#waiting = null;
  }
  ref(): void {}
  unref(): void {}
  [Symbol.dispose](): void {
    this.close();
  }
  async *[Symbol.asyncIterator](): AsyncIterableIterator<MemoryConn> {
    for (;;) yield await this.accept();
  }
}

class Native {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send(BODY);
  }
}

function start(variant: string, listener: MemoryListener): void {
  if (variant === "native") {
    new HttpServer(new Native(), {}).serve(listener as unknown as Deno.Listener);
    return;
  }
  if (variant === "post") {
    new HttpServer(helloRoutes(), {}).serve(listener as unknown as Deno.Listener);
    return;
  }
  // serve() listens itself: hand it the in-memory listener instead.
  const listen = Deno.listen;
  (Deno as { listen: unknown }).listen = () => listener;
  try {
    const opts = { port: 0, onListen() {} };
    if (variant === "fetch") serve(opts, () => new Response(BODY));
    else if (variant === "hono") {
      const app = new Hono();
      app.get("/", (c) => c.text(BODY));
      serve(opts, app.fetch);
    } else throw new TypeError(`Unknown variant ${variant}`);
  } finally {
    (Deno as { listen: unknown }).listen = listen;
  }
}

async function once(
  request: string,
  listener: MemoryListener,
  requests: number,
  perRead: number,
): Promise<[number, number]> {
  const conn = new MemoryConn(request, requests, perRead);
  const { default: process } = await import("node:process");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  listener.push(conn);
  await conn.closed.promise;
  const t1 = performance.now();
  const c1 = process.cpuUsage(c0);
  const expected = requests * responseLength();
  if (conn.written !== expected) {
    throw new Error(`Expected ${expected} bytes of responses, got ${conn.written}`);
  }
  return [(c1.user + c1.system) / requests, (t1 - t0) * 1000 / requests];
}

let respLen = 0;
function responseLength(): number {
  return respLen;
}

async function child(variant: string, requests: number, perRead: number): Promise<void> {
  const listener = new MemoryListener();
  start(variant, listener);
  const request = variant === "post" ? POST : REQUEST;
  // Learn one response's length, then warm up.
  const probe = new MemoryConn(request, 1, 1);
  listener.push(probe);
  await probe.closed.promise;
  respLen = probe.written;
  await once(request, listener, Math.min(requests, 200_000), perRead);
  const [cpu, wall] = await once(request, listener, requests, perRead);
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ variant, cpu, wall }));
  Deno.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  const requests = Number(ARGS[0] ?? 300_000);
  const perRead = Number(ARGS[1] ?? 1);
  const rounds = Number(ARGS[2] ?? 3);
  const variants = ARGS.length > 3 ? ARGS.slice(3) : ["native", "fetch", "hono"];
  const results = new Map<string, { cpu: number[]; wall: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          ...(VARY ? ["--vary"] : []),
          "--child",
          v,
          String(requests),
          String(perRead),
        ],
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`variant ${v} failed`);
      const { cpu, wall } = JSON.parse(new TextDecoder().decode(out.stdout));
      const e = results.get(v) ?? { cpu: [], wall: [] };
      e.cpu.push(cpu);
      e.wall.push(wall);
      results.set(v, e);
    }
  }
  const base = results.get("native");
  // deno-lint-ignore no-console
  console.log(
    `requests=${requests} perRead=${perRead} rounds=${rounds}${
      VARY ? " vary" : ""
    } (median; us per request)`,
  );
  for (const [v, e] of results) {
    const cpu = median(e.cpu);
    const over = base === undefined || v === "native"
      ? ""
      : ` (+${(cpu - median(base.cpu)).toFixed(3)} over native)`;
    // deno-lint-ignore no-console
    console.log(
      `${v.padEnd(7)} cpu ${cpu.toFixed(3)} [${e.cpu.map((x) => x.toFixed(3)).join(" ")}]` +
        `  wall ${median(e.wall).toFixed(3)}${over}`,
    );
  }
}

if (ARGS[0] === "--child") {
  await child(ARGS[1]!, Number(ARGS[2]), Number(ARGS[3]));
} else {
  await main();
}
