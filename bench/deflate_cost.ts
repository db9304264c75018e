// deno-lint-ignore-file no-console
/**
 * What permessage-deflate costs a coroio WebSocket server beyond throughput:
 * the idle memory of compressed connections (shared and dedicated mode
 * against no compression) and the number of zlib deflate calls per echoed
 * message.
 *
 * ```sh
 * deno run -A bench/deflate_cost.ts [--conns 10000] [--modes off,shared,dedicated] [--seconds 3]
 * ```
 *
 * Per mode it starts a fresh server process (this file with `--serve MODE`:
 * a `WebSocketServer` echo like `examples/ws_echo.ts`, with `compression`
 * off, `true` (the default shared mode) or `{ mode: "dedicated" }`, run with
 * `--v8-flags=--expose-gc`), which answers `stats` on its stdin with its
 * VmRSS after a full GC, `deflateCount()`, `liveStreams()` (zlib streams
 * open) and the messages it echoed. The load comes from the C client
 * (`bench/ws_load.c`, built into `bench/.bench/ws_load` like `compare.ts`
 * does; it needs gcc and zlib1g-dev):
 *
 * - idle memory, twice per mode: connections that only completed the
 *   handshake (`--mode idle`, offering permessage-deflate unless the mode is
 *   `off`), and connections that each echoed one 1 KiB JSON-like message
 *   first (`--hello`: in dedicated mode the deflater and inflater exist only
 *   from the first compressed message). 100 connections are opened and
 *   closed first; RSS per connection = (after - before) / N, both after a
 *   full GC, with the connections held open 1 s;
 * - deflate calls (shared and dedicated): `--seconds` of 50 connections
 *   echoing 1 KiB JSON-like text with 1 and 16 in flight; deflate calls /
 *   messages the server echoed.
 *
 * Prints a Markdown table of each and the JSON of all runs.
 *
 * @module
 */
import { flagValue, fullGc, rssKiB } from "./_proc.ts";
import { WebSocketServer, type WebSocketSession } from "@coroio/ws";
import { deflateCount, liveStreams } from "../ws/permessage_deflate.ts";
import { acceptKey } from "./_ws_frames.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const CLIENT = `${BENCH}/.bench/ws_load`;

type Mode = "off" | "shared" | "dedicated";
const MODES: readonly Mode[] = ["off", "shared", "dedicated"];

function rss(): number {
  return rssKiB(Deno.pid);
}

/** What the server process reports on `stats`. */
interface Stats {
  rssKiB: number;
  deflates: number;
  zlibStreams: number;
  messages: number;
}

/** The server side: an echo that counts its messages, and answers `stats` on stdin. */
async function serve(mode: Mode): Promise<void> {
  let messages = 0;
  const handler = {
    onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
      messages++;
      ws.send(data);
    },
  };
  const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), handler, {
    compression: mode === "off" ? false : mode === "shared" ? true : { mode: "dedicated" },
    borrowMessages: true,
  });
  const serving = server.serve();
  console.log(`listening on ws://127.0.0.1:${server.addr.port}`);
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buf = "";
  for await (const chunk of lines) {
    buf += chunk;
    for (let nl; (nl = buf.indexOf("\n")) >= 0;) {
      const cmd = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (cmd === "stats") {
        fullGc();
        const s: Stats = {
          rssKiB: rss(),
          deflates: deflateCount(),
          zlibStreams: liveStreams(),
          messages,
        };
        console.log(JSON.stringify(s));
      }
    }
  }
  await server.shutdown();
  await serving;
}

/** Reads lines from a child's stdout. */
class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(): Promise<string> {
    while (true) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      const r = await this.#reader.read();
      if (r.done) throw new Error(`output closed; it had printed "${this.#buf.slice(-200)}"`);
      this.#buf += r.value;
    }
  }
}

/** A server process of one mode. */
class Server {
  readonly #child: Deno.ChildProcess;
  readonly #lines: Lines;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  port = 0;

  constructor(mode: Mode) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", import.meta.filename!, "--serve", mode],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = new Lines(this.#child.stdout);
    this.#stdin = this.#child.stdin.getWriter();
  }

  async start(): Promise<void> {
    const line = await this.#lines.next();
    this.port = Number(/:(\d+)$/.exec(line)?.[1] ?? NaN);
    if (!(this.port > 0)) throw new Error(`no port in "${line}"`);
  }

  async stats(): Promise<Stats> {
    await this.#stdin.write(new TextEncoder().encode("stats\n"));
    return JSON.parse(await this.#lines.next()) as Stats;
  }

  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#child.status;
    clearTimeout(timer);
  }
}

async function buildClient(): Promise<void> {
  const fresh = await Promise.all([Deno.stat(CLIENT), Deno.stat(`${BENCH}/ws_load.c`)])
    .then(([b, s]) => (b.mtime?.getTime() ?? 0) >= (s.mtime?.getTime() ?? 0))
    .catch(() => false);
  if (fresh) return;
  await Deno.mkdir(`${BENCH}/.bench`, { recursive: true });
  const out = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", CLIENT, `${BENCH}/ws_load.c`, "-lz"],
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot build bench/ws_load.c (gcc and zlib1g-dev needed): ${
        new TextDecoder().decode(out.stderr).slice(0, 400)
      }`,
    );
  }
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = await acceptKey(KEY);

function clientArgs(port: number, flags: string[]): string[] {
  return ["--url", `ws://127.0.0.1:${port}/`, "--key", KEY, "--accept", ACCEPT, ...flags];
}

/** Opens `n` idle connections, calls `hold` while they are open; returns how many opened. */
async function idle(
  port: number,
  n: number,
  flags: string[],
  hold: () => Promise<void>,
): Promise<{ connected: number; stillOpen: number; extensions: string | null }> {
  const child = new Deno.Command(CLIENT, {
    args: clientArgs(port, ["--mode", "idle", "--conns", `${n}`, ...flags]),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = new Lines(child.stdout);
  const c = JSON.parse(await lines.next()) as {
    connected: number;
    failed: number;
    firstError: string | null;
    extensions: string | null;
  };
  if (c.failed > 0) console.error(`  ${c.failed} connections failed: ${c.firstError}`);
  await hold();
  await child.stdin.close();
  const d = JSON.parse(await lines.next()) as { stillOpen: number };
  await child.status;
  return { connected: c.connected, stillOpen: d.stillOpen, extensions: c.extensions };
}

interface IdleRow {
  mode: Mode;
  hello: boolean;
  conns: number;
  kibPerConn: number;
  zlibStreamsPerConn: number;
  extensions: string | null;
}

async function measureIdle(mode: Mode, hello: boolean, n: number): Promise<IdleRow> {
  const server = new Server(mode);
  try {
    await server.start();
    const flags = [
      ...(mode === "off" ? [] : ["--deflate"]),
      ...(hello ? ["--hello", "--json", "--size", "1024"] : []),
    ];
    await idle(server.port, 100, flags, () => Promise.resolve());
    await new Promise((r) => setTimeout(r, 500));
    const before = await server.stats();
    let after = before;
    const r = await idle(server.port, n, flags, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      after = await server.stats();
    });
    if (r.stillOpen < r.connected) {
      console.error(`  ${r.connected - r.stillOpen} connections were closed while idle`);
    }
    return {
      mode,
      hello,
      conns: r.connected,
      kibPerConn: (after.rssKiB - before.rssKiB) / r.connected,
      zlibStreamsPerConn: (after.zlibStreams - before.zlibStreams) / r.connected,
      extensions: r.extensions,
    };
  } finally {
    await server.stop();
  }
}

interface CountRow {
  mode: Mode;
  inflight: number;
  messages: number;
  deflates: number;
  perMessage: number;
  extensions: string | null;
}

async function measureDeflates(mode: Mode, inflight: number, seconds: number): Promise<CountRow> {
  const server = new Server(mode);
  try {
    await server.start();
    const before = await server.stats();
    const out = await new Deno.Command(CLIENT, {
      args: clientArgs(server.port, [
        "--conns",
        "50",
        "--inflight",
        `${inflight}`,
        "--size",
        "1024",
        "--json",
        "--deflate",
        "--duration",
        `${seconds}`,
      ]),
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) as {
      errors: number;
      firstError: string | null;
      extensions: string | null;
      compressed: number;
    };
    if (r.errors > 0) throw new Error(`load client: ${r.errors} errors, first: ${r.firstError}`);
    const after = await server.stats();
    const messages = after.messages - before.messages;
    const deflates = after.deflates - before.deflates;
    return {
      mode,
      inflight,
      messages,
      deflates,
      perMessage: deflates / messages,
      extensions: r.extensions,
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const conns = Number(flagValue("conns", "10000"));
  const seconds = Number(flagValue("seconds", "3"));
  const modes = flagValue("modes", MODES.join(",")).split(",") as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new TypeError(`unknown mode ${m}`);
  await buildClient();
  const idleRows: IdleRow[] = [];
  for (const hello of [false, true]) {
    for (const mode of modes) {
      const row = await measureIdle(mode, hello, conns);
      console.error(
        `  idle ${mode}${hello ? " after one message" : ""}: ${
          row.kibPerConn.toFixed(2)
        } KiB/conn, ${row.zlibStreamsPerConn.toFixed(2)} zlib streams/conn`,
      );
      idleRows.push(row);
    }
  }
  const countRows: CountRow[] = [];
  for (const mode of modes.filter((m) => m !== "off")) {
    for (const inflight of [1, 16]) {
      const row = await measureDeflates(mode, inflight, seconds);
      console.error(`  deflates ${mode} x${inflight}: ${row.perMessage.toFixed(3)} per message`);
      countRows.push(row);
    }
  }
  const off = (hello: boolean) => idleRows.find((r) => r.mode === "off" && r.hello === hello);
  console.log(
    `\n${conns.toLocaleString("en-US")} idle connections, server RSS growth after a full GC:\n`,
  );
  console.log(
    "| mode | connections | KiB per connection | vs off | zlib streams per connection | negotiated |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | --- |");
  for (const r of idleRows) {
    const base = off(r.hello);
    const diff = base === undefined || r.mode === "off"
      ? ""
      : `${r.kibPerConn - base.kibPerConn >= 0 ? "+" : ""}${
        (r.kibPerConn - base.kibPerConn).toFixed(2)
      }`;
    console.log(
      `| ${r.mode} | ${r.hello ? "after one 1 KiB message each" : "handshake only"} | ${
        r.kibPerConn.toFixed(2)
      } | ${diff} | ${r.zlibStreamsPerConn.toFixed(2)} | ${
        r.extensions ? `\`${r.extensions}\`` : "-"
      } |`,
    );
  }
  console.log(
    `\nDeflate calls per echoed message (50 connections x 1 KiB JSON-like text, ${seconds} s):\n`,
  );
  console.log("| mode | in flight | messages | deflate calls | per message |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of countRows) {
    console.log(
      `| ${r.mode} | ${r.inflight} | ${r.messages} | ${r.deflates} | ${r.perMessage.toFixed(3)} |`,
    );
  }
  console.log(
    `\n${JSON.stringify({ date: new Date().toISOString(), idle: idleRows, deflates: countRows })}`,
  );
}

if (import.meta.main) {
  const mode = flagValue("serve", "");
  if (mode !== "") await serve(mode as Mode);
  else await main();
}
