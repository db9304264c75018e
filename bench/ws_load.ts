// deno-lint-ignore-file no-console
/**
 * WebSocket load client for the benchmark suite.
 *
 * ```sh
 * deno run -A bench/ws_load.ts --url ws://127.0.0.1:8080/ --conns 50 --inflight 16 \
 *   --size 32 --duration 5
 * deno run -A bench/ws_load.ts --url ws://127.0.0.1:8080/ --mode idle --conns 10000
 * ```
 *
 * Echo mode opens `--conns` connections, keeps `--inflight` messages of
 * `--size` bytes (text, or binary with `--binary`) in flight on each, and
 * counts echoes for `--duration` seconds. Frames are masked once, up front;
 * sending k messages is one write of k prebuilt frames; echoes are scanned
 * incrementally without copying payloads; a wrong opcode or length is an
 * error. Round-trip latency goes into a 10 microsecond histogram. The result
 * is one JSON line on stdout, including this process's own CPU time during
 * the measured window (from `/proc/self/stat`), so a saturated client shows.
 *
 * Idle mode opens `--conns` connections (`--connect-concurrency` handshakes at
 * a time), prints a JSON line `{"event":"connected",...}`, holds them open
 * with a pending read each until stdin closes, then prints
 * `{"event":"done","stillOpen":N}` and closes them.
 *
 * @module
 */
import { LatencyHistogram } from "./_stats.ts";
import {
  acceptKey,
  buildCloseFrame,
  buildFrameBatch,
  checkHandshakeResponse,
  EchoScanner,
  handshakeRequest,
  Opcode,
} from "./_ws_frames.ts";
import { cpuTimes } from "./_proc.ts";

/** Result line of echo mode. */
export interface EchoResult {
  event: "result";
  /** Connections asked for. */
  conns: number;
  /** Connections whose handshake succeeded. */
  connected: number;
  /** Echoes with the right opcode and length inside the measured window. */
  messages: number;
  /** Wrong echoes, failed handshakes, connections lost while measuring. */
  errors: number;
  /** The first error seen. */
  firstError: string | null;
  /** Length of the measured window. */
  seconds: number;
  /** Payload bytes echoed inside the window. */
  bytes: number;
  /** This process's CPU seconds inside the window. */
  clientCpu: number;
  /** Latency histogram, sparse (see `LatencyHistogram.toSparse`). */
  latency: Array<[number, number]>;
}

interface Options {
  url: URL;
  mode: "echo" | "idle";
  conns: number;
  inflight: number;
  size: number;
  binary: boolean;
  duration: number;
  connectConcurrency: number;
}

function parseArgs(argv: string[]): Options {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new TypeError(`Cannot parse arguments: unexpected "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) o[a.slice(2, eq)] = a.slice(eq + 1);
    else if (a === "--binary") o.binary = "true";
    else o[a.slice(2)] = argv[++i] ?? "";
  }
  if (!o.url) throw new TypeError("Cannot start ws_load: --url ws://HOST:PORT/PATH is required");
  const num = (k: string, d: number) => {
    const v = o[k] === undefined ? d : Number(o[k]);
    if (!(v >= 0)) {
      throw new TypeError(`Cannot parse --${k}: "${o[k]}" is not a non-negative number`);
    }
    return v;
  };
  const mode = o.mode ?? "echo";
  if (mode !== "echo" && mode !== "idle") {
    throw new TypeError(`Cannot parse --mode: "${mode}" is not echo or idle`);
  }
  return {
    url: new URL(o.url),
    mode,
    conns: num("conns", 50),
    inflight: Math.max(1, num("inflight", 1)),
    size: num("size", 32),
    binary: o.binary === "true",
    duration: num("duration", 5),
    connectConcurrency: Math.max(1, num("connect-concurrency", 64)),
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
}

/** Connects and upgrades one connection; returns it with any bytes read past the 101 head. */
async function openWs(
  hostname: string,
  port: number,
  request: Uint8Array,
  accept: string,
): Promise<{ conn: Deno.Conn; leftover: Uint8Array }> {
  const conn = await Deno.connect({ hostname, port });
  try {
    conn.setNoDelay(true);
    await writeAll(conn, request);
    const buf = new Uint8Array(4096);
    let have = 0;
    while (true) {
      const n = await conn.read(buf.subarray(have));
      if (n === null) throw new Error("connection closed during the handshake");
      have += n;
      // Scan for CRLFCRLF in what we have.
      for (let i = 3; i < have; i++) {
        if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
          const head = new TextDecoder().decode(buf.subarray(0, i + 1));
          const bad = checkHandshakeResponse(head, accept);
          if (bad !== null) throw new Error(`handshake failed: ${bad}`);
          return { conn, leftover: buf.slice(i + 1, have) };
        }
      }
      if (have === buf.length) throw new Error("handshake response head is over 4096 bytes");
    }
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** Runs `task(i)` for i in [0, n) with at most `limit` running at once. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, limit) }, worker));
}

const Phase = { connecting: 0, measuring: 1, draining: 2 } as const;
type Phase = typeof Phase[keyof typeof Phase];

/** Shared state of an echo run, read by every connection. */
class EchoRun {
  phase: Phase = Phase.connecting;
  messages = 0;
  errors = 0;
  firstError: string | null = null;
  readonly latency = new LatencyHistogram();
  readonly batch: Uint8Array;
  readonly frameLength: number;
  readonly inflight: number;
  readonly opcode: Opcode;
  readonly size: number;

  constructor(o: Options) {
    this.opcode = o.binary ? Opcode.binary : Opcode.text;
    this.size = o.size;
    const payload = new Uint8Array(o.size);
    for (let i = 0; i < payload.length; i++) payload[i] = 0x61 + (i % 26); // ASCII: valid UTF-8
    const { batch, frameLength } = buildFrameBatch(this.opcode, payload, o.inflight);
    this.batch = batch;
    this.frameLength = frameLength;
    this.inflight = o.inflight;
  }

  error(why: string): void {
    this.errors++;
    if (this.firstError === null) this.firstError = why;
  }
}

/** One echo connection: a read loop, and a writer that sends queued messages in one write. */
class EchoConn {
  readonly #run: EchoRun;
  readonly #conn: Deno.Conn;
  readonly #scanner: EchoScanner;
  readonly #sent: Float64Array;
  readonly #buf: Uint8Array;
  #oldest = 0;
  #outstanding = 0;
  #pending = 0;
  #writing = false;
  #closed = false;

  constructor(run: EchoRun, conn: Deno.Conn) {
    this.#run = run;
    this.#conn = conn;
    this.#scanner = new EchoScanner(run.opcode, run.size);
    this.#sent = new Float64Array(run.inflight);
    this.#buf = new Uint8Array(Math.max(65536, Math.min(1 << 20, run.frameLength * 4)));
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  #queue(k: number): void {
    this.#pending += k;
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    const run = this.#run;
    try {
      while (this.#pending > 0 && run.phase !== Phase.draining) {
        const k = Math.min(this.#pending, run.inflight - this.#outstanding);
        if (k <= 0) break;
        this.#pending -= k;
        const now = performance.now();
        const cap = run.inflight;
        for (let j = 0; j < k; j++) this.#sent[(this.#oldest + this.#outstanding + j) % cap] = now;
        this.#outstanding += k;
        await writeAll(this.#conn, run.batch.subarray(0, k * run.frameLength));
      }
    } catch (e) {
      if (!this.#closed && run.phase === Phase.measuring) run.error(`write failed: ${e}`);
    } finally {
      this.#writing = false;
    }
  }

  /** Sends the first window, then reads echoes until drained after the run. */
  async run(leftover: Uint8Array): Promise<void> {
    const run = this.#run;
    const scanner = this.#scanner;
    const buf = this.#buf;
    const cap = run.inflight;
    this.#queue(cap);
    let chunk = leftover;
    let n = leftover.length;
    try {
      while (run.phase !== Phase.draining || this.#outstanding > 0) {
        if (n === 0) {
          const r = await this.#conn.read(buf);
          if (r === null) {
            if (run.phase !== Phase.draining) run.error("server closed the connection");
            return;
          }
          chunk = buf;
          n = r;
        }
        const good = scanner.good;
        const done = scanner.feed(chunk, n);
        n = 0;
        if (done === 0) continue;
        if (run.phase === Phase.measuring) {
          const now = performance.now();
          for (let j = 0; j < done; j++) {
            run.latency.record(now - this.#sent[this.#oldest]!);
            this.#oldest = (this.#oldest + 1) % cap;
          }
          run.messages += scanner.good - good;
        } else {
          this.#oldest = (this.#oldest + done) % cap;
        }
        this.#outstanding -= done;
        if (this.#outstanding < 0) {
          run.error("more echoes than messages sent");
          this.#outstanding = 0;
        }
        if (scanner.closed) {
          if (run.phase !== Phase.draining) run.error("server sent a close frame");
          return;
        }
        if (run.phase !== Phase.draining) this.#queue(done);
      }
      // Drained: say goodbye politely; the runner closes the socket right after.
      await writeAll(this.#conn, buildCloseFrame());
    } catch (e) {
      if (!this.#closed && run.phase !== Phase.draining) run.error(`connection failed: ${e}`);
    } finally {
      if (scanner.errors > 0) {
        run.errors += scanner.errors;
        if (run.firstError === null) run.firstError = scanner.firstError;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function echoMode(o: Options, request: Uint8Array, accept: string): Promise<EchoResult> {
  const run = new EchoRun(o);
  const conns: EchoConn[] = [];
  const leftovers: Uint8Array[] = [];
  const host = o.url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(o.url.port || 80);
  await pool(o.conns, o.connectConcurrency, async () => {
    try {
      const { conn, leftover } = await openWs(host, port, request, accept);
      conns.push(new EchoConn(run, conn));
      leftovers.push(leftover);
    } catch (e) {
      run.error(`connect: ${e instanceof Error ? e.message : e}`);
    }
  });
  const cpu0 = cpuTimes("self").self;
  const t0 = performance.now();
  run.phase = Phase.measuring;
  const loops = conns.map((c, i) => c.run(leftovers[i]!));
  await delay(o.duration * 1000);
  run.phase = Phase.draining;
  const seconds = (performance.now() - t0) / 1000;
  const clientCpu = cpuTimes("self").self - cpu0;
  // Let in-flight echoes land (bounded), then close everything.
  const deadline = performance.now() + 1000;
  while (performance.now() < deadline && conns.some((c) => c.outstanding > 0)) await delay(10);
  await delay(20);
  for (const c of conns) c.close();
  await Promise.all(loops);
  return {
    event: "result",
    conns: o.conns,
    connected: conns.length,
    messages: run.messages,
    errors: run.errors,
    firstError: run.firstError,
    seconds,
    bytes: run.messages * o.size,
    clientCpu,
    latency: run.latency.toSparse(),
  };
}

async function idleMode(o: Options, request: Uint8Array, accept: string): Promise<void> {
  const host = o.url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(o.url.port || 80);
  const conns: Deno.Conn[] = [];
  const reads: Promise<void>[] = [];
  const sink = new Uint8Array(64);
  let failed = 0;
  let firstError: string | null = null;
  let lost = 0;
  let closing = false;
  await pool(o.conns, o.connectConcurrency, async () => {
    try {
      const { conn } = await openWs(host, port, request, accept);
      conns.push(conn);
      // A pending read per connection, as a real client has; the server should send nothing.
      reads.push(
        (async () => {
          try {
            while ((await conn.read(sink)) !== null);
          } catch {
            // closed by us
          }
          if (!closing) lost++;
        })(),
      );
    } catch (e) {
      failed++;
      if (firstError === null) firstError = e instanceof Error ? e.message : String(e);
    }
  });
  console.log(JSON.stringify({ event: "connected", connected: conns.length, failed, firstError }));
  // Hold until the runner closes our stdin.
  const buf = new Uint8Array(256);
  while ((await Deno.stdin.read(buf)) !== null);
  console.log(JSON.stringify({ event: "done", stillOpen: conns.length - lost }));
  closing = true;
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
  await Promise.all(reads);
}

if (import.meta.main) {
  const o = parseArgs(Deno.args);
  if (o.url.protocol !== "ws:") {
    throw new TypeError(`Cannot load ${o.url}: only ws:// is supported`);
  }
  // Never outlive the runner's budget: connect phase + duration + drain.
  const watchdog = setTimeout(() => {
    console.error("ws_load: watchdog expired, exiting");
    Deno.exit(3);
  }, o.mode === "idle" ? 600_000 : (o.duration + 60) * 1000);
  const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
  const accept = await acceptKey(key);
  const request = handshakeRequest(o.url.host, o.url.pathname + o.url.search, key);
  if (o.mode === "echo") {
    console.log(JSON.stringify(await echoMode(o, request, accept)));
  } else {
    await idleMode(o, request, accept);
  }
  clearTimeout(watchdog);
}
