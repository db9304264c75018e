// Bench servers for @coroio/serve (not part of the package):
//
//   deno run -A serve/testdata/bench_server.ts <variant> [port]
//
// variants: hono-serve   a hono "hello" app under serve(app.fetch)
//           hono-deno    the same app under Deno.serve(app.fetch)
//           fetch-serve  a bare fetch handler under serve()
//           fetch-deno   the same under Deno.serve()
//           native       a native @coroio/http Handler with the same answer
// With CERT_FILE and KEY_FILE set (PEM), the serve/Deno variants use TLS.
// Prints "listening on http://127.0.0.1:<port>/" once it listens.
import { Hono } from "npm:hono@4.13.19";
import { type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
import { serve } from "../serve.ts";

const BODY = "Hello Hono!";
const variant = Deno.args[0] ?? "hono-serve";
// A port as the second argument, or `--port N` (bench/profile.ts passes flags).
const portFlag = Deno.args.indexOf("--port");
const port = Number(portFlag > 0 ? Deno.args[portFlag + 1] : Deno.args[1] ?? 0);
const hostname = "127.0.0.1";
const certFile = Deno.env.get("CERT_FILE");
const keyFile = Deno.env.get("KEY_FILE");
const tls = certFile !== undefined && keyFile !== undefined
  ? { cert: Deno.readTextFileSync(certFile), key: Deno.readTextFileSync(keyFile) }
  : {};

function listening(addr: Deno.NetAddr): void {
  // deno-lint-ignore no-console
  console.log(`listening on http://${addr.hostname}:${addr.port}/`);
}

const app = new Hono();
app.get("/", (c) => c.text(BODY));
const bare = (): Response => new Response(BODY);

class Native {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send(BODY);
  }
}

// A clean exit on SIGINT or SIGTERM, so that --cpu-prof writes its profile.
Deno.addSignalListener("SIGINT", () => Deno.exit(0));
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

switch (variant) {
  case "hono-serve":
    serve({ hostname, port, onListen: listening, ...tls }, app.fetch);
    break;
  case "hono-deno":
    Deno.serve({ hostname, port, onListen: listening, ...tls }, app.fetch);
    break;
  case "fetch-serve":
    serve({ hostname, port, onListen: listening, ...tls }, bare);
    break;
  case "fetch-deno":
    Deno.serve({ hostname, port, onListen: listening, ...tls }, bare);
    break;
  case "native": {
    const server = new HttpServer(new Native(), { hostname, port });
    listening(server.listen());
    break;
  }
  default:
    throw new TypeError(`Unknown variant ${variant}`);
}
