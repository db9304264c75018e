// Measures the memory an idle WebSocket connection costs the server process:
// starts examples/ws_echo.ts (standalone) and examples/http_ws_echo.ts (the
// HTTP bridge), opens N connections to each from another process (raw
// handshakes, then silence), and reports the server's RSS growth per
// connection. A "floor" server (core's TcpServer parking one 2 KiB read per
// connection, no WebSocket code) is measured the same way for comparison.
//
//     deno run -A ws/testdata/idle_memory.ts [N=5000]
//
// Figures vary by about 1 KiB per connection between runs.

const N = Number(Deno.args[0] ?? 5000);
const root = new URL("../../", import.meta.url).pathname;

const CLIENT = `
const [port, n] = Deno.args.slice(0, 2).map(Number);
const path = Deno.args[2];
const req = new TextEncoder().encode("GET " + path + " HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\n" +
  "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n");
const conns = [];
const buf = new Uint8Array(1024);
for (let i = 0; i < n; i++) {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(req);
  await c.read(buf);
  conns.push(c);
}
console.log("ready");
setInterval(() => {}, 1 << 30);
`;

const FLOOR = `
import { TcpServer } from "@coroio/core";
const res = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\\r\\n\\r\\n");
class H {
  open(conn) {
    return { done: this.run(conn).catch(() => {}), shutdown: () => conn.close() };
  }
  async run(conn) {
    const buf = new Uint8Array(2048);
    await conn.read(buf);
    await conn.write(res);
    while ((await conn.read(buf)) !== null) {}
  }
}
const s = new TcpServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new H());
console.log("listening on ws://127.0.0.1:" + s.addr.port);
Deno.addSignalListener("SIGTERM", () => s.shutdown(0));
await s.serve();
`;

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let s = "";
  while (!s.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    s += value;
  }
  reader.releaseLock();
  return s.split("\n")[0]!;
}

async function clients(port: number, n: number, path: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", CLIENT, String(port), String(n), path],
    stdout: "piped",
  }).spawn();
  await firstLine(child.stdout);
  return child;
}

async function measure(name: string, args: string[], path = "/"): Promise<void> {
  const server = new Deno.Command(Deno.execPath(), { args, cwd: root, stdout: "piped" }).spawn();
  const line = await firstLine(server.stdout);
  const port = Number(line.slice(line.lastIndexOf(":") + 1));
  const warm = await clients(port, 200, path); // JIT and pools warm, then gone
  warm.kill();
  await warm.status;
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssKiB(server.pid);
  const c = await clients(port, N, path);
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssKiB(server.pid);
  c.kill();
  await c.status;
  server.kill("SIGTERM");
  await server.status;
  // deno-lint-ignore no-console
  console.log(
    `${name}: ${N} idle connections, RSS +${after - before} KiB = ${
      ((after - before) * 1024 / N / 1024).toFixed(1)
    } KiB per connection`,
  );
}

const floorFile = await Deno.makeTempFile({ dir: root + "ws", prefix: "_floor_", suffix: ".ts" });
try {
  await Deno.writeTextFile(floorFile, FLOOR);
  await measure("ws_echo", ["run", "-A", "examples/ws_echo.ts", "--port", "0"]);
  await measure(
    "http_ws_echo (bridge)",
    ["run", "-A", "examples/http_ws_echo.ts", "--port", "0"],
    "/ws",
  );
  await measure("floor (TcpServer + parked read)", ["run", "-A", floorFile]);
} finally {
  await Deno.remove(floorFile);
}
