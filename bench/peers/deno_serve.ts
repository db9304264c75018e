// deno-lint-ignore-file no-console
/**
 * Benchmark peer: `Deno.serve` (the runtime's Rust HTTP server) with the
 * same routes as `examples/http_hello.ts`:
 *
 * - `GET /` answers 200 with a short text body;
 * - `POST /echo` answers 200 with exactly the request body, buffered first;
 * - anything else answers 404.
 *
 * The handler answers `GET /` and 404 synchronously (no promise per
 * request), like the Bun peer and our own servers.
 *
 * Flags: `--hostname` (default 127.0.0.1), `--port` (default 0, a free port).
 * Prints one line `listening on http://HOST:PORT` once it accepts.
 *
 * @module
 */

function flag(name: string, fallback: string): string {
  const args = Deno.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1] ?? fallback;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

const hostname = flag("hostname", "127.0.0.1");
const port = Number(flag("port", "0"));
// Exit normally on SIGTERM, so that `--cpu-prof` writes its profile (bench/profile.ts).
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const HELLO = "Hello, World!";
const TEXT = { "content-type": "text/plain; charset=utf-8" } as const;

/** Path of an absolute request URL without building a `URL` object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

/** `POST /echo`: the body, buffered, sent back with its Content-Type. */
async function echo(req: Request): Promise<Response> {
  const body = await req.arrayBuffer();
  return new Response(body, {
    headers: { "content-type": req.headers.get("content-type") ?? "application/octet-stream" },
  });
}

// The handler returns its Response at once where it can (as the Bun peer's
// does, and as ours does): a promise for every request cost Deno.serve
// 0.2-0.5 microseconds of CPU per keep-alive request.
Deno.serve({
  hostname,
  port,
  onListen(addr) {
    console.log(`listening on http://${addr.hostname}:${addr.port}`);
  },
}, (req) => {
  const path = pathOf(req.url);
  if (path === "/" && req.method === "GET") return new Response(HELLO, { headers: TEXT });
  if (path === "/echo" && req.method === "POST") return echo(req);
  return new Response("Not Found", { status: 404, headers: TEXT });
});
