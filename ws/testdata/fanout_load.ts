// Fan-out load client (bench material, not a test): N subscriber connections
// on one topic, one publisher connection sending binary publishes in the
// examples/fanout.ts binary form ([topic length][topic][payload]); each
// payload starts with its send time (float64, ms since the time origin of
// the epoch), so every delivery gives a publish-to-receive latency.
//
//   deno run -A ws/testdata/fanout_load.ts --url ws://127.0.0.1:8082/ \
//     --subscribers 1000 --size 64 --seconds 5 --window 32 [--server-pid PID] [--url2 URL]
//
// The publisher keeps at most `window` messages ahead of subscriber 0
// (closed loop: the rate is what the server sustains). Prints one JSON
// line: deliveries/s, publishes/s, p50/p99 latency (ms) and the CPU time
// of this client and of the server (from /proc) per second of wall time.
// Raw sockets and a minimal frame scanner keep the client cheap.

const flags: Record<string, string> = {};
for (let i = 0; i < Deno.args.length; i += 2) flags[Deno.args[i]!.slice(2)] = Deno.args[i + 1]!;
const url = new URL(flags.url ?? "ws://127.0.0.1:8082/");
// With --url2, odd subscribers connect there (a second server process on the same broker).
const url2 = flags.url2 === undefined ? url : new URL(flags.url2);
const subscribers = Number(flags.subscribers ?? 1000);
const size = Math.max(16, Number(flags.size ?? 64));
const seconds = Number(flags.seconds ?? 5);
const warmup = Number(flags.warmup ?? 1);
const window = Number(flags.window ?? 32);
const serverPid = flags["server-pid"];
const TOPIC = "bench";

const encoder = new TextEncoder();
const now = (): number => performance.timeOrigin + performance.now();

/** A masked (zero key) client frame. */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const h = len < 126 ? 6 : 8;
  const out = new Uint8Array(h + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else {
    out[1] = 0x80 | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  }
  out.set(payload, h); // key 0: the payload is unchanged
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Opens a connection and completes the handshake; returns bytes read past it. */
async function open(target = url): Promise<{ conn: Deno.TcpConn; rest: Uint8Array }> {
  const url = target;
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  await writeAll(
    conn,
    encoder.encode(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    ),
  );
  const buf = new Uint8Array(4096);
  let n = 0;
  for (;;) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) throw new Error("closed during the handshake");
    n += r;
    for (let i = 3; i < n; i++) {
      if (buf[i - 3] === 13 && buf[i - 2] === 10 && buf[i - 1] === 13 && buf[i] === 10) {
        const head = new TextDecoder().decode(buf.subarray(0, i));
        if (!head.startsWith("HTTP/1.1 101")) throw new Error(`handshake: ${head}`);
        return { conn, rest: buf.slice(i + 1, n) };
      }
    }
  }
}

// Latency samples (ms), all subscribers, measurement window only.
const samples = new Float64Array(4_000_000);
let sampleCount = 0;
let measuring = false;
let delivered = 0;
const received = new Float64Array(subscribers);

/** Reads frames forever; counts binary ones; resolves the first text frame. */
async function readLoop(
  index: number,
  conn: Deno.TcpConn,
  rest: Uint8Array,
  firstText: (text: string) => void,
): Promise<void> {
  let buf = new Uint8Array(65536);
  buf.set(rest);
  let have = rest.length;
  const view = new DataView(buf.buffer);
  let gotText = false;
  for (;;) {
    let off = 0;
    for (;;) {
      if (have - off < 2) break;
      const b0 = buf[off]!;
      let len = buf[off + 1]! & 0x7f;
      let h = 2;
      if (len === 126) {
        if (have - off < 4) break;
        len = (buf[off + 2]! << 8) | buf[off + 3]!;
        h = 4;
      } else if (len === 127) throw new Error("frame too large for the load client");
      if (have - off < h + len) break;
      const op = b0 & 0x0f;
      if (op === 2) {
        received[index]!++;
        if (measuring) {
          delivered++;
          if (len >= 8 && sampleCount < samples.length) {
            samples[sampleCount++] = now() - view.getFloat64(off + h);
          }
        }
      } else if (op === 1 && !gotText) {
        gotText = true;
        firstText(new TextDecoder().decode(buf.subarray(off + h, off + h + len)));
      } else if (op === 8) return;
      off += h + len;
    }
    if (off > 0) {
      buf.copyWithin(0, off, have);
      have -= off;
    }
    if (have === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(have));
    if (n === null) return;
    have += n;
  }
}

function cpuSeconds(pid: string): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 10 ms
  } catch {
    return NaN;
  }
}

// Subscribers: connect and subscribe, a few at a time.
const conns: Deno.TcpConn[] = [];
const loops: Promise<void>[] = [];
for (let i = 0; i < subscribers; i += 50) {
  const batch: Promise<void>[] = [];
  for (let j = i; j < Math.min(subscribers, i + 50); j++) {
    batch.push((async () => {
      const { conn, rest } = await open(j % 2 === 1 ? url2 : url);
      conns.push(conn);
      const subscribed = Promise.withResolvers<string>();
      loops.push(readLoop(j, conn, rest, subscribed.resolve).catch(() => {}));
      await writeAll(conn, clientFrame(1, encoder.encode(`sub ${TOPIC}`)));
      const reply = await subscribed.promise;
      if (reply !== `subscribed ${TOPIC}`) throw new Error(`unexpected reply ${reply}`);
    })());
  }
  await Promise.all(batch);
}

// The publisher.
const { conn: pub } = await open();
const topic = encoder.encode(TOPIC);
const body = new Uint8Array(1 + topic.length + size);
body[0] = topic.length;
body.set(topic, 1);
const bodyView = new DataView(body.buffer);
const frameLen = clientFrame(2, body).length;
let sent = 0;
let running = true;
const publishing = (async () => {
  const batch = new Uint8Array(frameLen * window);
  while (running) {
    const room = window - (sent - received[0]!);
    if (room <= 0) {
      await new Promise((r) => setTimeout(r, 0));
      continue;
    }
    for (let k = 0; k < room; k++) {
      bodyView.setFloat64(1 + topic.length, now());
      batch.set(clientFrame(2, body), k * frameLen);
    }
    sent += room;
    await writeAll(pub, batch.subarray(0, room * frameLen));
  }
})();

await new Promise((r) => setTimeout(r, warmup * 1000));
const cpu0 = cpuSeconds("self");
const server0 = serverPid === undefined ? NaN : cpuSeconds(serverPid);
const sent0 = sent;
const t0 = performance.now();
measuring = true;
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu1 = cpuSeconds("self");
const server1 = serverPid === undefined ? NaN : cpuSeconds(serverPid);
const published = sent - sent0;
running = false;
await publishing;

const sorted = samples.subarray(0, sampleCount).sort();
const pct = (p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
// deno-lint-ignore no-console
console.log(JSON.stringify({
  url: url.href,
  url2: url2.href,
  subscribers,
  size,
  window,
  seconds: Number(elapsed.toFixed(2)),
  deliveriesPerSecond: Math.round(delivered / elapsed),
  publishesPerSecond: Math.round(published / elapsed),
  p50ms: Number(pct(0.5).toFixed(3)),
  p99ms: Number(pct(0.99).toFixed(3)),
  clientCpu: Number(((cpu1 - cpu0) / elapsed).toFixed(2)),
  serverCpu: Number(((server1 - server0) / elapsed).toFixed(2)),
}));
pub.close();
for (const c of conns) c.close();
await Promise.all(loops);
Deno.exit(0);
