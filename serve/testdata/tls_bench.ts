// deno-lint-ignore-file no-console
// What TLS costs: 32 B WebSocket echo and keep-alive "hello" over TLS
// against plain TCP, for serve() + upgradeWebSocket() and for Deno.serve +
// Deno.upgradeWebSocket. Loopback only; every run is bounded in time.
//
//   deno run -A serve/testdata/tls_bench.ts [seconds=3] [rounds=2]
//
// For each server and transport it starts the server in its own process,
// then (1) a WebSocket echo client in another process (8 connections, 16
// messages of 32 bytes in flight on each, binary) and (2) wrk keep-alive
// (50 connections) when wrk is installed. Each figure: throughput, and the
// server's CPU time (utime+stime of /proc/PID/stat over the measured window)
// per message or request. The summary gives the share of plain throughput
// kept over TLS and the CPU per operation over TLS / plain. The machine is
// shared and has 2 cores that client and server split: figures are noisy.
//
// Internal modes: `server <ours|deno> <plain|tls>` and
// `client <port> <plain|tls> <seconds> <server pid>` (CERT_FILE/CA_FILE).
import { serve } from "../serve.ts";
import { upgradeWebSocket } from "../websocket.ts";
import { makeCertificate } from "../../core/_test_util.ts";

const CONNS = 8;
const INFLIGHT = 16;
const SIZE = 32;
const ECHO = 2 + SIZE; // a server frame: 2 header bytes, no mask
const ticks = 100; // CLK_TCK on Linux

function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / ticks;
}

// ---------------------------------------------------------------- server
function runServer(kind: string, transport: string): void {
  const tls = transport === "tls"
    ? {
      cert: Deno.readTextFileSync(Deno.env.get("CERT_FILE")!),
      key: Deno.readTextFileSync(Deno.env.get("KEY_FILE")!),
    }
    : {};
  const onListen = (addr: Deno.NetAddr) => console.log(`listening on ${addr.port}`);
  if (kind === "ours") {
    serve({ hostname: "127.0.0.1", port: 0, onListen, ...tls }, (req) => {
      if (req.headers.get("upgrade") !== "websocket") return new Response("Hello World!");
      const { socket, response } = upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    });
  } else {
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen, ...tls }, (req) => {
      if (req.headers.get("upgrade") !== "websocket") return new Response("Hello World!");
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    });
  }
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}

// ---------------------------------------------------------------- client
const FRAME = (() => {
  // Binary, final, masked with a zero key (the payload goes as is).
  const f = new Uint8Array(6 + SIZE);
  f[0] = 0x82;
  f[1] = 0x80 | SIZE;
  f.fill(0x61, 6);
  return f;
})();
const FRAMES = (() => {
  const b = new Uint8Array(FRAME.length * INFLIGHT);
  for (let i = 0; i < INFLIGHT; i++) b.set(FRAME, i * FRAME.length);
  return b;
})();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

interface Window {
  measuring: boolean;
  stop: boolean;
  count: number;
}

async function echoConn(port: number, ca: string | null, w: Window): Promise<void> {
  const conn: Deno.Conn = ca === null
    ? await Deno.connect({ hostname: "127.0.0.1", port })
    : await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] });
  try {
    await writeAll(
      conn,
      new TextEncoder().encode(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(65536);
    let head = "";
    let extra = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("closed during the handshake");
      head += new TextDecoder("latin1").decode(buf.subarray(0, n));
      const end = head.indexOf("\r\n\r\n");
      if (end >= 0) {
        if (!head.startsWith("HTTP/1.1 101")) throw new Error(head.split("\r\n")[0]);
        extra = head.length - end - 4;
        break;
      }
    }
    let bytes = extra;
    let acked = 0;
    let outstanding = INFLIGHT;
    await writeAll(conn, FRAMES);
    for (;;) {
      const done = Math.floor(bytes / ECHO);
      const k = done - acked;
      if (k > 0) {
        acked = done;
        outstanding -= k;
        if (w.measuring) w.count += k;
        if (!w.stop) {
          await writeAll(conn, FRAMES.subarray(0, k * FRAME.length));
          outstanding += k;
        }
      }
      if (w.stop && outstanding === 0) break;
      const n = await conn.read(buf);
      if (n === null) throw new Error("server closed");
      bytes += n;
    }
  } finally {
    conn.close();
  }
}

async function runClient(port: number, transport: string, secs: number, pid: number) {
  const ca = transport === "tls" ? Deno.readTextFileSync(Deno.env.get("CA_FILE")!) : null;
  const w: Window = { measuring: false, stop: false, count: 0 };
  const conns = Array.from({ length: CONNS }, () => echoConn(port, ca, w));
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  w.measuring = true;
  await new Promise((r) => setTimeout(r, secs * 1000));
  w.measuring = false;
  const c1 = cpuSeconds(pid);
  const t1 = performance.now();
  w.stop = true;
  await Promise.all(conns);
  const perSec = w.count / ((t1 - t0) / 1000);
  console.log(JSON.stringify({ perSec, cpuUs: (c1 - c0) * 1e6 / w.count }));
}

// ---------------------------------------------------------------- runner
interface Row {
  server: string;
  transport: string;
  test: string;
  perSec: number;
  cpuUs: number;
}

async function startServer(kind: string, transport: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "server", kind, transport],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server ${kind} ${transport} exited`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, port: Number(/listening on (\d+)/.exec(text)![1]) };
}

async function wrk(
  url: string,
  secs: number,
  pid: number,
): Promise<Omit<Row, "server" | "transport" | "test">> {
  await new Deno.Command("wrk", { args: ["-t1", "-c50", "-d1s", url], stdout: "null" }).output();
  const c0 = cpuSeconds(pid);
  const out = await new Deno.Command("wrk", {
    args: ["-t1", "-c50", `-d${secs}s`, url],
    stdout: "piped",
  }).output();
  const c1 = cpuSeconds(pid);
  const text = new TextDecoder().decode(out.stdout);
  const reqs = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const perSec = Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1] ?? NaN);
  return { perSec, cpuUs: (c1 - c0) * 1e6 / reqs };
}

function hasWrk(): boolean {
  try {
    return new Deno.Command("wrk", { args: ["-v"], stdout: "null", stderr: "null" }).outputSync()
      .code >= 0;
  } catch {
    return false;
  }
}

async function main(secs: number, rounds: number): Promise<void> {
  const pem = await makeCertificate();
  if (pem === null) throw new Error("openssl is needed to make a test certificate");
  const dir = await Deno.makeTempDir({ prefix: "coroio-tls-bench-" });
  const env = {
    CERT_FILE: `${dir}/cert.pem`,
    KEY_FILE: `${dir}/key.pem`,
    CA_FILE: `${dir}/ca.pem`,
  };
  await Deno.writeTextFile(env.CERT_FILE, pem.cert);
  await Deno.writeTextFile(env.KEY_FILE, pem.key);
  await Deno.writeTextFile(env.CA_FILE, pem.ca);
  const withWrk = hasWrk();
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const server of ["ours", "deno"]) {
        for (const transport of ["plain", "tls"]) {
          const { child, port } = await startServer(server, transport, env);
          try {
            const out = await new Deno.Command(Deno.execPath(), {
              args: [
                "run",
                "-A",
                import.meta.filename!,
                "client",
                String(port),
                transport,
                String(secs),
                String(child.pid),
              ],
              env,
              stdout: "piped",
              stderr: "inherit",
            }).output();
            const ws = JSON.parse(new TextDecoder().decode(out.stdout).trim());
            const add = (test: string, r: { perSec: number; cpuUs: number }) => {
              rows.push({ server, transport, test, ...r });
              console.log(
                `round=${round} server=${server} transport=${transport} test=${test} ` +
                  `per_s=${r.perSec.toFixed(0)} server_cpu_us=${r.cpuUs.toFixed(2)}`,
              );
            };
            add("ws-echo-32B", ws);
            if (withWrk) {
              const scheme = transport === "tls" ? "https" : "http";
              add("hello-keepalive", await wrk(`${scheme}://127.0.0.1:${port}/`, secs, child.pid));
            }
          } finally {
            child.kill("SIGTERM");
            await child.status;
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Medians over the rounds.
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  console.log("\nserver test              plain/s   tls/s  kept  cpu_us plain  cpu_us tls  ratio");
  for (const server of ["ours", "deno"]) {
    for (const test of ["ws-echo-32B", "hello-keepalive"]) {
      const pick = (t: string) =>
        rows.filter((r) => r.server === server && r.test === test && r.transport === t);
      const p = pick("plain");
      const s = pick("tls");
      if (p.length === 0) continue;
      const [pp, sp] = [median(p.map((r) => r.perSec)), median(s.map((r) => r.perSec))];
      const [pc, sc] = [median(p.map((r) => r.cpuUs)), median(s.map((r) => r.cpuUs))];
      console.log(
        `${server.padEnd(6)} ${test.padEnd(16)} ${pp.toFixed(0).padStart(8)} ${
          sp.toFixed(0).padStart(7)
        } ${(sp / pp * 100).toFixed(0).padStart(4)}% ${pc.toFixed(2).padStart(12)} ${
          sc.toFixed(2).padStart(11)
        } ${(sc / pc).toFixed(2).padStart(6)}`,
      );
    }
  }
}

const [mode, ...rest] = Deno.args;
if (mode === "server") runServer(rest[0]!, rest[1]!);
else if (mode === "client") {
  await runClient(Number(rest[0]), rest[1]!, Number(rest[2]), Number(rest[3]));
} else await main(Number(mode ?? 3), Number(rest[0] ?? 2));
