// deno-lint-ignore-file no-console
/**
 * Benchmark peer: the hono "hello" app of `serve/testdata/bench_server.ts`
 * (`GET /` answers `Hello Hono!`, anything else hono's 404) under
 * `Bun.serve({ fetch: app.fetch })`, run by `bench/compare.ts` (scenarios
 * `http-hono`, `http-hono-pipeline`) under the Bun binary it installs.
 *
 * Flags: `--hono <file>` (required: hono's ESM entry, `dist/index.js` of
 * the npm package that `bench/compare.ts` installs into
 * `bench/.bench/hono/`; a path, so that this file needs no `node_modules`
 * beside it), `--hostname` (default 127.0.0.1), `--port` (default 0, a free
 * port). Prints one line `listening on http://HOST:PORT` once it accepts.
 *
 * This file runs under Bun, not Deno; the few Bun and hono APIs it uses are
 * typed below so that `deno check` and `deno lint` pass on it.
 *
 * @module
 */

interface BunServer {
  readonly port: number;
  readonly hostname: string;
}
interface BunGlobal {
  argv: string[];
  serve(options: {
    hostname: string;
    port: number;
    development: boolean;
    fetch(req: Request): Response | Promise<Response>;
  }): BunServer;
}
interface HonoContext {
  text(body: string): Response;
}
interface HonoApp {
  get(path: string, handler: (c: HonoContext) => Response): HonoApp;
  fetch(req: Request): Response | Promise<Response>;
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

const entry = flag("hono", "");
if (entry === "") {
  throw new TypeError("Cannot start: --hono <path of hono's dist/index.js> is required");
}
const { Hono } = (await import(entry)) as { Hono: new () => HonoApp };

const BODY = "Hello Hono!";
const app = new Hono();
app.get("/", (c) => c.text(BODY));

const server = Bun.serve({
  hostname: flag("hostname", "127.0.0.1"),
  port: Number(flag("port", "0")),
  development: false,
  fetch: app.fetch,
});

console.log(`listening on http://${server.hostname}:${server.port}`);
