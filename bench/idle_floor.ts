// deno-lint-ignore-file no-console
/**
 * The idle-memory floor of a Deno TCP server, in parts: RSS per accepted
 * connection when the server only holds the `Deno.Conn` (`hold`), when it
 * also keeps one `conn.read` pending into a buffer of 16 bytes, 1 KiB or
 * 16 KiB (`read16`, `read1k`, `read16k`), and when that read is made from a
 * suspended async function (`async1k`, what an `await conn.read()` loop
 * costs on top). No WebSocket: plain TCP, so no handshake garbage counts.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/idle_floor.ts [--conns 10000] [--modes hold,read1k]
 * ```
 *
 * Per mode it starts a fresh server process (this file with `--serve MODE`),
 * opens the connections from a client process (this file with `--client`),
 * and the server prints VmRSS before and after (both after a full GC).
 *
 * @module
 */
import { flagValue, fullGc, rssKiB } from "./_proc.ts";

function rss(): number {
  return rssKiB(Deno.pid);
}

const SIZES: Record<string, number> = { read16: 16, read1k: 1024, read16k: 16384, async1k: 1024 };

/** A connection whose one pending read is resumed through a callback bound once. */
class Pending {
  readonly #onRead: (n: number | null) => void;
  constructor(readonly conn: Deno.Conn, readonly buf: Uint8Array) {
    this.#onRead = this.#read.bind(this);
    this.#arm();
  }
  #arm(): void {
    this.conn.read(this.buf).then(this.#onRead, () => {});
  }
  #read(n: number | null): void {
    if (n !== null) this.#arm();
  }
}

async function asyncReader(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  try {
    while ((await conn.read(buf)) !== null);
  } catch {
    // closed
  }
}

async function serve(mode: string, n: number): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: unknown[] = [];
  console.log(`port ${listener.addr.port}`);
  let before = NaN;
  let accepted = 0;
  for await (const conn of listener) {
    const size = SIZES[mode];
    if (mode === "hold" || size === undefined) held.push(conn);
    else if (mode.startsWith("async")) held.push(asyncReader(conn, new Uint8Array(size)));
    else held.push(new Pending(conn, new Uint8Array(size)));
    accepted++;
    if (accepted === 100) {
      await new Promise((r) => setTimeout(r, 300));
      fullGc();
      before = rss();
      console.log("warm");
    }
    if (accepted === 100 + n) break;
  }
  await new Promise((r) => setTimeout(r, 1000));
  fullGc();
  const after = rss();
  console.log(JSON.stringify({ mode, conns: n, before, after, kibPerConn: (after - before) / n }));
  Deno.exit(0);
}

async function client(port: number, n: number): Promise<void> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  // Hold them until the parent closes stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  for (const c of conns) c.close();
}

async function lines(stream: ReadableStream<Uint8Array>, each: (line: string) => Promise<void>) {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl; (nl = buf.indexOf("\n")) >= 0;) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      await each(line);
    }
  }
}

if (import.meta.main) {
  const n = Number(flagValue("conns", "10000"));
  if (Deno.args.includes("--serve")) {
    await serve(flagValue("serve", "hold"), n);
  } else if (Deno.args.includes("--client")) {
    await client(Number(flagValue("client", "0")), n);
  } else {
    const modes = flagValue("modes", "hold,read16,read1k,read16k,async1k").split(",");
    for (const mode of modes) {
      console.log(await measure(mode, n));
    }
  }
}

/** Runs one mode: a fresh server, 100 warm-up connections, then `n` measured ones. */
async function measure(mode: string, n: number): Promise<string> {
  const self = new URL(import.meta.url).pathname;
  const sh = (args: string[], stdin: "piped" | "null") =>
    new Deno.Command("sh", {
      args: [
        "-c",
        'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"',
        Deno.execPath(),
        "run",
        "-A",
        ...args,
      ],
      stdin,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const server = sh(["--v8-flags=--expose-gc", self, "--serve", mode, "--conns", `${n}`], "null");
  const clients: Deno.ChildProcess[] = [];
  let port = "";
  let result = "";
  await lines(server.stdout, async (line) => {
    if (line.startsWith("port ")) {
      port = line.slice(5);
      clients.push(sh([self, "--client", port, "--conns", "100"], "piped"));
    } else if (line === "warm") {
      clients.push(sh([self, "--client", port, "--conns", `${n}`], "piped"));
    } else if (line.startsWith("{")) {
      result = line;
    }
    await Promise.resolve();
  });
  await server.status;
  for (const c of clients) {
    await c.stdin.close().catch(() => {});
    await c.stdout.cancel();
    await c.status;
  }
  return result;
}
