// deno-lint-ignore-file no-console
/**
 * Benchmark peer: Bun's own server, plain `Bun.serve` (uWebSockets
 * underneath), run by `bench/compare.ts` under the Bun binary it installs on
 * demand (`@oven/bun-linux-x64` from the npm registry, into `.bench/bun/`).
 * One file serves both kinds of scenario, with the routes of the other
 * peers:
 *
 * - `GET /` answers 200 with a short text body;
 * - `POST /echo` answers 200 with exactly the request body, buffered first;
 * - a WebSocket upgrade at any path starts an echo: text back as text,
 *   binary as binary; no compression unless `--compression` (then
 *   `perMessageDeflate: true`, Bun's defaults: it answers
 *   `server_no_context_takeover`, uWebSockets' shared compressor, and each
 *   echo is sent with `ws.send(data, true)`: Bun compresses only the messages
 *   sent with `compress` true, so without it the echoes leave uncompressed);
 * - anything else answers 404.
 *
 * Flags: `--hostname` (default 127.0.0.1), `--port` (default 0, a free port),
 * `--compression` (no value).
 * Prints one line `listening on http://HOST:PORT` once it accepts.
 *
 * This file runs under Bun, not Deno; the few Bun APIs it uses are typed
 * below so that `deno check` and `deno lint` pass on it.
 *
 * @module
 */

interface BunSocket {
  send(data: string | Uint8Array, compress?: boolean): number;
}
interface BunServer {
  readonly port: number;
  readonly hostname: string;
  upgrade(req: Request): boolean;
}
interface BunServeOptions {
  hostname: string;
  port: number;
  development: boolean;
  fetch(req: Request, server: BunServer): Response | Promise<Response> | undefined;
  websocket: {
    perMessageDeflate: boolean;
    message(ws: BunSocket, data: string | Uint8Array): void;
  };
}
interface BunGlobal {
  argv: string[];
  serve(options: BunServeOptions): BunServer;
}

const Bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;

function flag(name: string, fallback: string): string {
  const args = Bun.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1] ?? fallback;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

const COMPRESS = Bun.argv.includes("--compression");
const HELLO = "Hello, World!\n";
const TEXT = { "content-type": "text/plain; charset=utf-8" } as const;

/** Path of an absolute request URL without building a `URL` object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

async function echo(req: Request): Promise<Response> {
  const body = await req.arrayBuffer();
  return new Response(body, {
    headers: { "content-type": req.headers.get("content-type") ?? "application/octet-stream" },
  });
}

const server = Bun.serve({
  hostname: flag("hostname", "127.0.0.1"),
  port: Number(flag("port", "0")),
  development: false,
  fetch(req, server) {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return server.upgrade(req)
        ? undefined
        : new Response("WebSocket upgrade failed", { status: 400 });
    }
    const path = pathOf(req.url);
    if (path === "/" && req.method === "GET") return new Response(HELLO, { headers: TEXT });
    if (path === "/echo" && req.method === "POST") return echo(req);
    return new Response("Not Found", { status: 404, headers: TEXT });
  },
  websocket: {
    perMessageDeflate: COMPRESS,
    message(ws, data) {
      ws.send(data, COMPRESS);
    },
  },
});

console.log(`listening on http://${server.hostname}:${server.port}`);
