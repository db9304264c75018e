import {
  deepStrictEqual,
  match,
  ok as assert,
  strictEqual as assertEquals,
  throws,
} from "node:assert/strict";
import { advantage, Better, BUCKET_US, LatencyHistogram, median, minMax } from "./_stats.ts";
import {
  acceptKey,
  buildClientFrame,
  buildFrameBatch,
  checkHandshakeResponse,
  clientHeaderLength,
  EchoScanner,
  handshakeRequest,
  Opcode,
} from "./_ws_frames.ts";
import {
  fmt,
  fmtRatio,
  ratios,
  renderMarkdown,
  renderSvg,
  type Report,
  summarise,
} from "./_report.ts";
import {
  clockTicks,
  machineBusySeconds,
  parseProcStat,
  ServerProcess,
  withFileLimit,
} from "./_proc.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const ROOT = BENCH.replace(/\/bench$/, "");

/** An unmasked server frame, as an echo server sends it. */
function serverFrame(opcode: number, len: number, fin = true): Uint8Array {
  const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(hl + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) {
    out[1] = 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setUint32(6, len);
  }
  out.fill(0x61, hl);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Feeds `bytes` split at the given cut points; returns total messages completed. */
function feedSplit(s: EchoScanner, bytes: Uint8Array, cuts: number[]): number {
  let done = 0;
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    const piece = bytes.slice(from, c);
    done += s.feed(piece, piece.length);
    from = c;
  }
  return done;
}

Deno.test("median() takes the middle value or the mean of the two middle values", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assert(Number.isNaN(median([])));
});

Deno.test("minMax() returns the extremes", () => {
  deepStrictEqual(minMax([5, -1, 3]), [-1, 5]);
  assert(minMax([]).every(Number.isNaN));
});

Deno.test("advantage() is > 1 when ours is better in either direction", () => {
  assertEquals(advantage(200, 100, Better.higher), 2);
  assertEquals(advantage(5, 20, Better.lower), 4);
  assert(Number.isNaN(advantage(NaN, 1, Better.higher)));
  assert(Number.isNaN(advantage(1, 0, Better.higher)));
});

Deno.test("LatencyHistogram.quantileUs() finds percentiles and survives a sparse round trip", () => {
  const h = new LatencyHistogram();
  for (let i = 0; i < 99; i++) h.record(0.1); // 100 us
  h.record(5); // 5 ms
  assertEquals(h.quantileUs(0.5), 100 + BUCKET_US / 2);
  assertEquals(h.quantileUs(0.99), 100 + BUCKET_US / 2);
  assertEquals(h.quantileUs(1), 5000 + BUCKET_US / 2);
  const back = LatencyHistogram.fromSparse(h.toSparse());
  assertEquals(back.total, 100);
  assertEquals(back.quantileUs(1), h.quantileUs(1));
  h.record(1e9);
  assertEquals(h.counts.at(-1), 1);
  throws(() => LatencyHistogram.fromSparse([[-1, 1]]), RangeError);
});

Deno.test("parseProcStat() reads utime+stime and cutime+cstime after a command name with spaces", () => {
  const stat =
    "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 1 0 100 1000 10";
  deepStrictEqual(parseProcStat(stat, 100), { self: 3, children: 0.5 });
  throws(() => parseProcStat("nonsense", 100), TypeError);
});

Deno.test("machineBusySeconds() adds user, nice, system, irq, softirq and steal but not idle or iowait", () => {
  const t = clockTicks();
  assertEquals(machineBusySeconds("cpu  100 1 50 9999 77 2 3 4 0 0\ncpu0 1 2 3 4\n"), 160 / t);
  throws(() => machineBusySeconds("intr 1 2 3"), TypeError);
  assert(machineBusySeconds() > 0);
});

Deno.test("withFileLimit() keeps the command's PID with exec", () => {
  const [cmd, args] = withFileLimit("deno", ["run", "x.ts"], 65536);
  assertEquals(cmd, "sh");
  match(args[1]!, /ulimit -n 65536/);
  match(args[1]!, /exec "\$0" "\$@"/);
  deepStrictEqual(args.slice(2), ["deno", "run", "x.ts"]);
});

Deno.test("acceptKey() matches the example of RFC 6455", async () => {
  assertEquals(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("checkHandshakeResponse() accepts a 101 with the right key and names what is wrong otherwise", () => {
  const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: abc=\r\n";
  assertEquals(checkHandshakeResponse(ok, "abc="), null);
  assertEquals(
    checkHandshakeResponse(ok.replace("Sec-WebSocket-Accept", "sec-websocket-accept"), "abc="),
    null,
  );
  match(checkHandshakeResponse(ok, "xyz=")!, /wrong Sec-WebSocket-Accept/);
  match(checkHandshakeResponse("HTTP/1.1 400 Bad Request\r\n", "abc=")!, /expected status 101/);
  match(checkHandshakeResponse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n", "abc=")!, /missing/);
  match(
    new TextDecoder().decode(handshakeRequest("h:1", "/ws", "k")),
    /^GET \/ws HTTP\/1\.1\r\nHost: h:1\r\n/,
  );
});

Deno.test("buildClientFrame() masks the payload and encodes 7, 16 and 64-bit lengths", () => {
  const mask = new Uint8Array([1, 2, 3, 4]);
  for (const len of [0, 125, 126, 65535, 65536]) {
    const payload = new Uint8Array(len).map((_, i) => i & 0xff);
    const f = buildClientFrame(Opcode.binary, payload, mask);
    const hl = clientHeaderLength(len);
    assertEquals(f.length, hl + len);
    assertEquals(f[0], 0x82);
    assertEquals(f[1]! & 0x80, 0x80);
    const code = f[1]! & 0x7f;
    const decoded = code < 126
      ? code
      : code === 126
      ? (f[2]! << 8) | f[3]!
      : new DataView(f.buffer).getUint32(6);
    assertEquals(decoded, len);
    const unmasked = f.subarray(hl).map((b, i) => b ^ mask[i & 3]!);
    deepStrictEqual(unmasked, payload);
  }
  throws(() => buildClientFrame(Opcode.text, new Uint8Array(1), new Uint8Array(3)), RangeError);
});

Deno.test("buildFrameBatch() lays out equal frames back to back", () => {
  const { batch, frameLength } = buildFrameBatch(Opcode.text, new TextEncoder().encode("hello"), 3);
  assertEquals(frameLength, 6 + 5);
  assertEquals(batch.length, 33);
  for (let i = 0; i < 3; i++) assertEquals(batch[i * frameLength], 0x81);
});

Deno.test("EchoScanner.feed() counts echoes whole, byte by byte and at random split points", () => {
  for (const len of [0, 32, 200, 70_000]) {
    const stream = concat([
      serverFrame(Opcode.text, len),
      serverFrame(Opcode.text, len),
      serverFrame(Opcode.text, len),
    ]);
    const whole = new EchoScanner(Opcode.text, len);
    assertEquals(whole.feed(stream, stream.length), 3);
    assertEquals(whole.good, 3);
    if (stream.length < 1000) {
      const bytewise = new EchoScanner(Opcode.text, len);
      assertEquals(
        feedSplit(bytewise, stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1)),
        3,
      );
      assertEquals(bytewise.errors, 0);
    }
    for (let trial = 0; trial < 50; trial++) {
      const cuts = Array.from({ length: 4 }, () => Math.floor(Math.random() * stream.length)).sort((
        a,
        b,
      ) => a - b);
      const s = new EchoScanner(Opcode.text, len);
      assertEquals(feedSplit(s, stream, cuts), 3, `cuts ${cuts}`);
      assertEquals(s.good, 3);
      assertEquals(s.errors, 0);
    }
  }
});

Deno.test("EchoScanner.feed() counts a wrong length or opcode as an error but still as an answer", () => {
  const s = new EchoScanner(Opcode.text, 32);
  const stream = concat([
    serverFrame(Opcode.text, 31),
    serverFrame(Opcode.binary, 32),
    serverFrame(Opcode.text, 32),
  ]);
  assertEquals(s.feed(stream, stream.length), 3);
  assertEquals(s.good, 1);
  assertEquals(s.errors, 2);
  match(s.firstError!, /31 bytes, expected 32/);
});

Deno.test("EchoScanner.feed() joins fragments, skips pings and notes a close frame", () => {
  const s = new EchoScanner(Opcode.binary, 30);
  const stream = concat([
    serverFrame(Opcode.binary, 10, false),
    serverFrame(Opcode.ping, 2),
    serverFrame(Opcode.continuation, 20, true),
    serverFrame(Opcode.close, 2),
  ]);
  assertEquals(s.feed(stream, stream.length), 1);
  assertEquals(s.good, 1);
  assertEquals(s.errors, 0);
  assert(s.closed);
  const masked = serverFrame(Opcode.binary, 30);
  masked[1] = masked[1]! | 0x80;
  const withMask = concat([masked.subarray(0, 2), new Uint8Array(4), masked.subarray(2)]);
  const m = new EchoScanner(Opcode.binary, 30);
  m.feed(withMask, withMask.length);
  match(m.firstError!, /masked/);
});

function fakeReport(): Report {
  const run = (value: number) => ({
    round: 1,
    value,
    ops: 1000,
    seconds: 1,
    serverCpu: 0.9,
    clientCpu: 0.5,
    errors: 0,
  });
  const results = [
    summarise("ours", "coroio <http>", true, [run(200), run(220), run(180)]),
    summarise("peer", "Deno.serve", false, [run(100), run(100), run(100)]),
    summarise("slow", "Node http", false, [run(400), run(400), run(400)]),
  ];
  return {
    date: "2026-01-01T00:00:00.000Z",
    machine: { nproc: 2, cpuModel: "Test CPU", kernel: "6.0", memTotalKiB: 1 },
    versions: { deno: "2.9.6", node: "20" },
    config: { rounds: 3 },
    scenarios: [{
      id: "http-hello",
      title: "t",
      unit: "req/s",
      better: Better.higher,
      load: "wrk",
      results,
      ratios: ratios(results, Better.higher, { peer: 1.5 }),
      skipped: [{ id: "x", reason: "missing" }],
    }],
  };
}

Deno.test("summarise() and ratios() give medians, ranges, CPU per op and ratios with targets", () => {
  const r = fakeReport().scenarios[0]!;
  const ours = r.results[0]!;
  assertEquals(ours.median, 200);
  deepStrictEqual([ours.min, ours.max], [180, 220]);
  assertEquals(ours.serverCpuPct, 90);
  assertEquals(ours.cpuUsPerOp, 900);
  assertEquals(r.ratios.length, 2);
  assertEquals(r.ratios[0]!.ratio, 2);
  assertEquals(r.ratios[0]!.target, 1.5);
  assertEquals(r.ratios[1]!.ratio, 0.5);
  const failed = summarise("f", "f", true, [{ ...ours.runs[0]!, value: NaN }]);
  assert(Number.isNaN(failed.median));
});

Deno.test("fmt() and fmtRatio() format numbers for the table", () => {
  assertEquals(fmt(123456.7), "123,457");
  assertEquals(fmt(12.345), "12.3");
  assertEquals(fmt(1.2345), "1.23");
  assertEquals(fmt(NaN), "-");
  assertEquals(fmtRatio(1.234), "1.23x");
  assertEquals(fmtRatio(NaN), "-");
});

Deno.test("renderMarkdown() lists ratios with targets, results and skipped servers", () => {
  const md = renderMarkdown(fakeReport());
  match(md, /\| http-hello \| coroio <http> \| Deno\.serve \| 2\.00x \| >= 1\.5x \| yes \|/);
  match(md, /\| http-hello \| coroio <http> \| Node http \| 0\.50x \|/);
  match(md, /\| http-hello \| coroio <http> \| 200 req\/s \| 180-220 \|/);
  match(md, /skipped: missing/);
});

Deno.test("renderMarkdown() puts warnings first and sums up each server of ours against peers and the floor", () => {
  const report = fakeReport();
  const s = report.scenarios[0]!;
  const run = {
    round: 1,
    value: 250,
    ops: 1000,
    seconds: 1,
    serverCpu: 0.6,
    clientCpu: 0.5,
    errors: 0,
  };
  const floor = { ...summarise("floor_http", "floor", false, [run]), floor: true };
  const bun = summarise("bun", "Bun.serve", false, [{ ...run, value: 160 }]);
  s.results.push(bun, floor);
  s.ratios = ratios(s.results, Better.higher, { floor_http: 0.9, bun: 1 });
  report.warnings = ["Bun 1.4.4 was NOT run"];
  const md = renderMarkdown(report);
  assert(md.indexOf("> **Warning:** Bun 1.4.4 was NOT run") < md.indexOf("## Summary"));
  // ours 200 req/s at 900 us CPU/op; Bun 160; floor 250 req/s at 600 us CPU/op.
  match(
    md,
    /\| http-hello \| coroio <http> \| 200 req\/s \| n\/a \| n\/a \| 1\.25x \(>= 1 met\) \| 0\.80x \(\*\*< 0\.9\*\*\) \| 0\.67x \|/,
  );
});

Deno.test("renderSvg() draws one escaped, coloured bar per ratio", () => {
  const svg = renderSvg(fakeReport());
  assert(svg.startsWith("<svg"));
  assert(svg.trimEnd().endsWith("</svg>"));
  match(svg, /coroio &lt;http&gt; vs Deno\.serve/);
  assertEquals((svg.match(/fill="#2e7d32"/g) ?? []).length, 1);
  assertEquals((svg.match(/fill="#c62828"/g) ?? []).length, 1);
  match(svg, />2\.00x</);
  match(svg, /stroke-dasharray/);
  assert(!/NaN|undefined/.test(svg));
});

Deno.test("ServerProcess.start() and ws_load.ts measure a real echo server, then stop it", async () => {
  const server = await ServerProcess.start({
    cmd: Deno.execPath(),
    args: ["run", "-A", `${BENCH}/peers/deno_ws.ts`, "--port", "0"],
    cwd: ROOT,
  });
  try {
    assert(server.port > 0);
    assert(server.rssKiB() > 0);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${BENCH}/ws_load.ts`,
        "--url",
        `ws://127.0.0.1:${server.port}/`,
        "--conns",
        "4",
        "--inflight",
        "4",
        "--duration",
        "0.3",
      ],
      stdin: "null",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assertEquals(r.connected, 4);
    assertEquals(r.errors, 0, r.firstError);
    assert(r.messages > 0);
  } finally {
    await server.stop();
  }
  assert(server.exited);
});

/** gcc and zlib's header (zlib1g-dev): what ws_load.c needs. */
const HAS_GCC = (() => {
  try {
    const probe = new Deno.Command("gcc", {
      args: ["-E", "-x", "c", "-"],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = probe.stdin.getWriter();
    // Synchronous enough: a one-line input, then wait for the exit status below.
    void w.write(new TextEncoder().encode("#include <zlib.h>\n")).then(() => w.close());
    return probe;
  } catch {
    return null;
  }
})();
const HAS_C_CLIENT = HAS_GCC !== null && (await HAS_GCC.status).success;
if (!HAS_C_CLIENT) {
  // deno-lint-ignore no-console
  console.error(
    "\n*** SKIPPING the ws_load.c tests: gcc or zlib1g-dev is missing " +
      "(apt-get install -y gcc zlib1g-dev) ***\n",
  );
}

/** Compiles ws_load.c into a temporary file. */
async function buildCClient(): Promise<string> {
  const bin = await Deno.makeTempFile({ prefix: "ws_load_" });
  const out = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-Werror", "-o", bin, `${BENCH}/ws_load.c`, "-lz"],
  })
    .output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return bin;
}

async function runClient(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

/**
 * A broken echo server: it completes the handshake, then answers every
 * 32-byte masked text frame (38 bytes) with a 31-byte text frame.
 */
async function withShortEchoServer(body: (port: number) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      const buf = new Uint8Array(65536);
      let head = "";
      let rest = 0;
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += new TextDecoder("latin1").decode(buf.subarray(0, n));
      }
      rest = head.length - head.indexOf("\r\n\r\n") - 4;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      await conn.write(new TextEncoder().encode(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
      ));
      const reply = serverFrame(Opcode.text, 31);
      let pending = rest;
      while (true) {
        const frames = Math.floor(pending / 38);
        pending -= frames * 38;
        if (frames > 0) await conn.write(concat(Array.from({ length: frames }, () => reply)));
        const n = await conn.read(buf);
        if (n === null) return;
        pending += n;
      }
    } catch {
      // the client went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  };
  const accepting = (async () => {
    const served: Promise<void>[] = [];
    try {
      for await (const conn of listener) served.push(serve(conn));
    } catch {
      // listener closed
    }
    await Promise.all(served);
  })();
  try {
    await body((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    await accepting;
  }
}

Deno.test("ws_load.ts counts echoes of the wrong length as errors, not messages", async () => {
  await withShortEchoServer(async (port) => {
    const r = await runClient(Deno.execPath(), [
      "run",
      "-A",
      `${BENCH}/ws_load.ts`,
      "--url",
      `ws://127.0.0.1:${port}/`,
      "--conns",
      "2",
      "--duration",
      "0.2",
    ]);
    assertEquals(r.connected, 2);
    assertEquals(r.messages, 0);
    assert(r.errors > 0);
    match(r.firstError, /31 bytes, expected 32/);
  });
});

Deno.test({
  name: "ws_load.c measures a real echo server and counts wrong lengths as errors",
  ignore: !HAS_C_CLIENT,
  async fn() {
    const bin = await buildCClient();
    try {
      const key = "dGhlIHNhbXBsZSBub25jZQ==";
      const flags = [
        "--key",
        key,
        "--accept",
        await acceptKey(key),
        "--conns",
        "4",
        "--duration",
        "0.3",
      ];
      const server = await ServerProcess.start({
        cmd: Deno.execPath(),
        args: ["run", "-A", `${BENCH}/peers/deno_ws.ts`, "--port", "0"],
        cwd: ROOT,
      });
      try {
        for (const extra of [["--inflight", "4"], ["--size", "70000", "--binary"]]) {
          const r = await runClient(bin, [
            "--url",
            `ws://127.0.0.1:${server.port}/`,
            ...flags,
            ...extra,
          ]);
          assertEquals(r.connected, 4);
          assertEquals(r.errors, 0, r.firstError);
          assert(r.messages > 0);
          assert(r.latency.length > 0);
        }
        const bad = await runClient(bin, [
          "--url",
          `ws://127.0.0.1:${server.port}/`,
          ...flags.slice(0, 2),
          "--accept",
          "AAAA",
          "--conns",
          "1",
          "--duration",
          "0.1",
        ]);
        assertEquals(bad.connected, 0);
        match(bad.firstError, /Sec-WebSocket-Accept/);
      } finally {
        await server.stop();
      }
      await withShortEchoServer(async (port) => {
        const r = await runClient(bin, ["--url", `ws://127.0.0.1:${port}/`, ...flags]);
        assertEquals(r.messages, 0);
        assert(r.errors > 0);
        match(r.firstError, /wrong length/);
      });
    } finally {
      await Deno.remove(bin);
    }
  },
});

/** Reads a connection to its end, bounded by a timeout that closes it. */
async function readToEnd(conn: Deno.Conn, timeoutMs = 5000): Promise<Uint8Array> {
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: Uint8Array[] = [];
  try {
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } finally {
    clearTimeout(timer);
  }
  return concat(chunks);
}

/** Splits a server-to-client stream into unmasked frames. */
function serverFrames(bytes: Uint8Array): Array<{ b0: number; payload: Uint8Array }> {
  const out = [];
  for (let i = 0; i < bytes.length;) {
    assertEquals(bytes[i + 1]! & 0x80, 0, "server frames are not masked");
    let len = bytes[i + 1]! & 0x7f;
    let hl = 2;
    if (len === 126) [len, hl] = [(bytes[i + 2]! << 8) | bytes[i + 3]!, 4];
    else if (len === 127) {
      [len, hl] = [new DataView(bytes.buffer, bytes.byteOffset).getUint32(i + 6), 10];
    }
    out.push({ b0: bytes[i]!, payload: bytes.subarray(i + hl, i + hl + len) });
    i += hl + len;
  }
  return out;
}

const FLOOR = `${BENCH}/floor.ts`;
const BUN_BIN = `${BENCH}/.bench/bun/node_modules/@oven/bun-linux-x64/bin/bun`;
const HAS_BUN = (() => {
  try {
    return Deno.statSync(BUN_BIN).isFile;
  } catch {
    return false;
  }
})();

/** Raw WebSocket exchange: handshake plus `frames` in one write, then everything read to the end. */
async function wsExchange(port: number, frames: Uint8Array[]) {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reading = readToEnd(conn);
  const all = concat([handshakeRequest(`127.0.0.1:${port}`, "/", key), ...frames]);
  for (let off = 0; off < all.length;) off += await conn.write(all.subarray(off));
  const bytes = await reading;
  try {
    conn.close();
  } catch {
    // closed by the server
  }
  const text = new TextDecoder("latin1").decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  assert(end > 0, `no handshake response in "${text.slice(0, 200)}"`);
  assertEquals(checkHandshakeResponse(text.slice(0, end + 2), await acceptKey(key)), null);
  return serverFrames(bytes.subarray(end + 4));
}

function mask(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(4));
}

/** Frames of many lengths and both data types, a ping, then a close; and what must come back. */
function wsCases(): { frames: Uint8Array[]; expected: Array<{ b0: number; payload: Uint8Array }> } {
  const frames: Uint8Array[] = [];
  const expected: Array<{ b0: number; payload: Uint8Array }> = [];
  [0, 1, 3, 5, 32, 125, 126, 127, 1000, 65535, 65536, 70000].forEach((len, i) => {
    const opcode = i % 2 === 0 ? Opcode.text : Opcode.binary;
    const payload = new Uint8Array(len).map((_, k) => 0x61 + ((k * 7 + i) % 26));
    frames.push(buildClientFrame(opcode, payload, mask()));
    expected.push({ b0: 0x80 | opcode, payload });
  });
  const hi = new TextEncoder().encode("hi");
  frames.push(buildClientFrame(Opcode.ping, hi, mask()));
  expected.push({ b0: 0x80 | Opcode.pong, payload: hi });
  const close = new Uint8Array([0x03, 0xe8]);
  frames.push(buildClientFrame(Opcode.close, close, mask()));
  expected.push({ b0: 0x80 | Opcode.close, payload: close });
  return { frames, expected };
}

for (const strict of [[], ["--strict"]]) {
  Deno.test(`floor.ts --mode ws${strict.map((a) => ` ${a}`).join("")} echoes every frame length unmasked, answers ping and close`, async () => {
    const server = await ServerProcess.start({
      cmd: Deno.execPath(),
      args: ["run", "-A", FLOOR, "--mode", "ws", ...strict, "--port", "0"],
      cwd: ROOT,
    });
    try {
      const { frames, expected } = wsCases();
      const got = await wsExchange(server.port, frames);
      assertEquals(got.length, expected.length);
      got.forEach((f, i) => {
        assertEquals(f.b0, expected[i]!.b0, `frame ${i}`);
        deepStrictEqual(f.payload, expected[i]!.payload, `frame ${i}`);
      });
    } finally {
      await server.stop();
    }
  });
}

/** Starts `floor.ts --mode ws --strict`, sends `frames`, returns what came back. */
async function strictWs(frames: Uint8Array[]) {
  const server = await ServerProcess.start({
    cmd: Deno.execPath(),
    args: ["run", "-A", FLOOR, "--mode", "ws", "--strict", "--port", "0"],
    cwd: ROOT,
  });
  try {
    return await wsExchange(server.port, frames);
  } finally {
    await server.stop();
  }
}

Deno.test("floor.ts --mode ws --strict reassembles fragmented text and fails invalid UTF-8, bad opcodes and fragment order", async () => {
  const enc = new TextEncoder();
  const frame = (b0: number, payload: Uint8Array) => {
    const f = buildClientFrame(Opcode.binary, payload, mask());
    f[0] = b0; // FIN and the opcode as given
    return f;
  };
  const cases: Array<
    { name: string; frames: Uint8Array[]; expected: Array<[number, Uint8Array]> }
  > = [
    {
      name: "text in three fragments (a code point split across two)",
      frames: [
        frame(0x01, enc.encode("caf")),
        frame(0x00, new Uint8Array([0xc3])),
        frame(0x80, new Uint8Array([0xa9, 0x21])),
        frame(0x88, new Uint8Array([0x03, 0xe8])),
      ],
      expected: [[0x81, enc.encode("caf\u00e9!")], [0x88, new Uint8Array([0x03, 0xe8])]],
    },
    {
      name: "invalid UTF-8 in one frame",
      frames: [frame(0x81, new Uint8Array([0x61, 0xff]))],
      expected: [[0x88, new Uint8Array([0x03, 0xef])]],
    },
    {
      name: "invalid UTF-8 in the first fragment fails before the message ends",
      frames: [frame(0x01, new Uint8Array([0xc0, 0x80]))],
      expected: [[0x88, new Uint8Array([0x03, 0xef])]],
    },
    {
      name: "a reserved opcode",
      frames: [frame(0x83, new Uint8Array(0))],
      expected: [[0x88, new Uint8Array([0x03, 0xea])]],
    },
    {
      name: "a continuation with no message started",
      frames: [frame(0x80, enc.encode("x"))],
      expected: [[0x88, new Uint8Array([0x03, 0xea])]],
    },
    {
      name: "a close with an invalid code",
      frames: [frame(0x88, new Uint8Array([0x03, 0xec]))],
      expected: [[0x88, new Uint8Array([0x03, 0xea])]],
    },
  ];
  for (const c of cases) {
    const got = await strictWs(c.frames);
    deepStrictEqual(got.map((f) => [f.b0, f.payload]), c.expected, c.name);
  }
});

for (const strict of [[], ["--strict"]]) {
  Deno.test(`floor.ts --mode http${strict.map((a) => ` ${a}`).join("")} answers pipelined GET, POST /echo and 404 in order, then closes`, async () => {
    const server = await ServerProcess.start({
      cmd: Deno.execPath(),
      args: ["run", "-A", FLOOR, "--mode", "http", ...strict, "--port", "0"],
      cwd: ROOT,
    });
    try {
      const body = "0123456789abcdef".repeat(200); // 3,200 bytes: more than the first read buffer
      const host = `Host: 127.0.0.1:${server.port}\r\n`;
      const req = `GET / HTTP/1.1\r\n${host}\r\n` +
        `POST /echo HTTP/1.1\r\n${host}content-length: ${body.length}\r\n\r\n${body}` +
        `GET /nope HTTP/1.1\r\n${host}\r\n` +
        `GET / HTTP/1.1\r\n${host}Connection: close\r\n\r\n` +
        `GET / HTTP/1.1\r\n${host}\r\n`; // after close: never answered
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const reading = readToEnd(conn);
      const bytes = new TextEncoder().encode(req);
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      const text = new TextDecoder().decode(await reading);
      conn.close();
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      deepStrictEqual(statuses, ["200", "200", "404", "200"]);
      match(text, new RegExp(`Content-Length: ${body.length}\r\n\r\n${body}HTTP/1\\.1 404`));
      assertEquals(text.split("Hello, World!\n").length, 3);
    } finally {
      await server.stop();
    }
  });
}

Deno.test("floor.ts --mode http --strict answers a malformed head with 400 and closes", async () => {
  const server = await ServerProcess.start({
    cmd: Deno.execPath(),
    args: ["run", "-A", FLOOR, "--mode", "http", "--strict", "--port", "0"],
    cwd: ROOT,
  });
  try {
    for (
      const head of [
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", // a space in Host
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n", // whitespace before the colon
      ]
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const reading = readToEnd(conn);
      await conn.write(new TextEncoder().encode(head + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const text = new TextDecoder().decode(await reading);
      conn.close();
      deepStrictEqual([...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]), ["400"], head);
    }
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "bun_server.ts serves GET /, POST /echo, 404 and a WebSocket echo under Bun",
  ignore: !HAS_BUN,
  async fn() {
    const server = await ServerProcess.start({
      cmd: BUN_BIN,
      args: [`${BENCH}/peers/bun/bun_server.ts`, "--port", "0"],
      cwd: ROOT,
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const hello = await fetch(`${base}/`);
      assertEquals(await hello.text(), "Hello, World!\n");
      const echo = await fetch(`${base}/echo`, { method: "POST", body: "abc" });
      assertEquals(await echo.text(), "abc");
      const missing = await fetch(`${base}/nope`);
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      const { frames, expected } = wsCases();
      const got = await wsExchange(server.port, frames);
      // Bun answers the ping itself and may send its close before the pong is flushed: compare data frames.
      const data = (xs: typeof got) => xs.filter((f) => (f.b0 & 0x0f) < 8);
      deepStrictEqual(data(got), data(expected));
      assert(got.some((f) => (f.b0 & 0x0f) === Opcode.close));
    } finally {
      await server.stop();
    }
  },
});

const HAS_NODE_WS = (() => {
  try {
    return Deno.statSync(`${BENCH}/peers/node/node_modules/ws/package.json`).isFile &&
      new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * The compressing servers of the ws-1k-deflate scenarios, whether each can run
 * here, and whether it answers `server_no_context_takeover` (`shared`).
 */
const DEFLATE_PEERS = [
  {
    name: "coroio ws",
    spec: { cmd: Deno.execPath(), args: ["run", "-A", `${ROOT}/examples/ws_echo.ts`] },
    path: "/",
    available: true,
    shared: true,
  },
  {
    name: "coroio http+ws bridge",
    spec: { cmd: Deno.execPath(), args: ["run", "-A", `${ROOT}/examples/http_ws_echo.ts`] },
    path: "/ws",
    available: true,
    shared: true,
  },
  {
    name: "npm ws",
    spec: { cmd: "node", args: [`${BENCH}/peers/node/node_ws.mjs`] },
    path: "/",
    available: HAS_NODE_WS,
    shared: false,
  },
  {
    name: "npm ws without context takeover",
    spec: { cmd: "node", args: [`${BENCH}/peers/node/node_ws.mjs`, "--no-context-takeover"] },
    path: "/",
    available: HAS_NODE_WS,
    shared: true,
  },
  {
    name: "Bun",
    spec: { cmd: BUN_BIN, args: [`${BENCH}/peers/bun/bun_server.ts`] },
    path: "/",
    available: HAS_BUN,
    shared: true,
  },
];
for (const p of DEFLATE_PEERS.filter((p) => !p.available)) {
  // deno-lint-ignore no-console
  console.error(
    `\n*** SKIPPING the permessage-deflate check of ${p.name}: not installed here ` +
      `(deno run -A bench/compare.ts --only ws-1k-deflate --quick installs the peers) ***\n`,
  );
}

Deno.test({
  name:
    "ws_load.c --deflate negotiates permessage-deflate with every compressing peer, and each echo comes back compressed and equal",
  ignore: !HAS_C_CLIENT,
  async fn() {
    const bin = await buildCClient();
    const key = "dGhlIHNhbXBsZSBub25jZQ==";
    const auth = ["--key", key, "--accept", await acceptKey(key)];
    const load = ["--conns", "2", "--inflight", "4", "--size", "1024", "--json", "--deflate"];
    const servers: ServerProcess[] = [];
    try {
      const peers = DEFLATE_PEERS.filter((p) => p.available);
      // Started together: each is a fresh process, and sequential starts would cost seconds.
      servers.push(
        ...await Promise.all(peers.map((p) =>
          ServerProcess.start({
            cmd: p.spec.cmd,
            args: [...p.spec.args, "--compression", "--port", "0"],
            cwd: ROOT,
          })
        )),
      );
      const results = await Promise.all(peers.map((p, i) =>
        runClient(bin, [
          "--url",
          `ws://127.0.0.1:${servers[i]!.port}${p.path}`,
          ...auth,
          ...load,
          "--duration",
          "0.3",
        ])
      ));
      for (const [i, r] of results.entries()) {
        const name = peers[i]!.name;
        assertEquals(r.connected, 2, `${name}: ${r.firstError}`);
        assertEquals(r.errors, 0, `${name}: ${r.firstError}`);
        match(r.extensions, /^permessage-deflate\b/, name);
        // Whether the server resets its compressor per message, as the scenario's table says.
        assertEquals(/server_no_context_takeover/.test(r.extensions), peers[i]!.shared, name);
        assert(r.messages > 0, name);
        // Every echo counted (and the drained ones) came back with RSV1 and inflated to the message sent.
        assert(r.compressed >= r.messages, `${name}: ${r.compressed} compressed of ${r.messages}`);
      }
      // --hello: one compressed round trip per connection before going idle.
      const idle = new Deno.Command(bin, {
        args: [
          "--url",
          `ws://127.0.0.1:${servers[0]!.port}/`,
          ...auth,
          "--mode",
          "idle",
          "--conns",
          "3",
          "--hello",
          "--json",
          "--deflate",
          "--size",
          "1024",
        ],
        stdin: "null",
        stdout: "piped",
      }).output();
      const lines = new TextDecoder().decode((await idle).stdout).trim().split("\n");
      const connected = JSON.parse(lines[0]!);
      assertEquals(connected.connected, 3, connected.firstError);
      assertEquals(JSON.parse(lines[1]!).stillOpen, 3);
      // A server that cannot compress: the offer is declined and the client says so.
      const plain = await ServerProcess.start({
        cmd: Deno.execPath(),
        args: ["run", "-A", `${BENCH}/peers/deno_ws.ts`, "--port", "0"],
        cwd: ROOT,
      });
      servers.push(plain);
      const r = await runClient(bin, [
        "--url",
        `ws://127.0.0.1:${plain.port}/`,
        ...auth,
        ...load,
        "--duration",
        "0.1",
      ]);
      assertEquals(r.connected, 0);
      match(r.firstError, /permessage-deflate offered but not negotiated/);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await Deno.remove(bin);
    }
  },
});

Deno.test("compare.ts --list lists the fan-out and hono scenarios with their servers", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${BENCH}/compare.ts`, "--list"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  const table: [string, string][] = [
    ["ws-fanout", "coroio_fanout, deno_fanout, node_ws_fanout, bun"],
    ["http-hono", "coroio_hono, deno_hono, bun_hono"],
    ["http-hono-pipeline", "coroio_hono, deno_hono, bun_hono"],
  ];
  for (const [id, servers] of table) {
    match(text, new RegExp(`^${id} [^\\n]*\\n\\s+servers: ${servers}$`, "m"));
  }
});
