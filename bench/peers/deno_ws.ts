// deno-lint-ignore-file no-console
/**
 * Benchmark peer: a WebSocket echo on `Deno.serve` + `Deno.upgradeWebSocket`
 * (the runtime's Rust implementation). Any path upgrades; text is echoed as
 * text and binary as binary. Anything that is not an upgrade gets 426.
 *
 * Flags: `--hostname` (default 127.0.0.1), `--port` (default 0, a free port).
 * Prints one line `listening on ws://HOST:PORT` once it accepts.
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

/** One shared listener object: no closure per connection. */
function echo(this: WebSocket, e: MessageEvent): void {
  this.send(e.data);
}

Deno.serve({
  hostname,
  port,
  onListen(addr) {
    console.log(`listening on ws://${addr.hostname}:${addr.port}`);
  },
}, (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("WebSocket upgrade expected", { status: 426 });
  }
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  socket.onmessage = echo;
  return response;
});
