/**
 * The hello server: `GET /` answers a short text, `POST /echo` answers the
 * request body, anything else 404. Imports only @coroio/core and
 * @coroio/http.
 *
 *     deno run --allow-net examples/http_hello.ts --hostname 127.0.0.1 --port 8080
 *
 * @module
 */
import {
  type Handler,
  type HttpRequest,
  type HttpResponse,
  HttpServer,
  Router,
} from "@coroio/http";
import { abortOnSignals, listenOrExit, parseListenFlags, printListening } from "./_args.ts";

/** `GET /`: a short text body. */
export class Hello implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("Hello, World!\n");
  }
}

/** `POST /echo`: the request body, byte for byte. */
export class Echo implements Handler {
  handle(req: HttpRequest, res: HttpResponse): void | Promise<void> {
    const ct = req.headers.get("content-type");
    if (ct !== null) res.setHeader("Content-Type", ct);
    // A body that came with its head goes back at once (no promise).
    const body = req.body.tryBorrow();
    if (body === null) return this.#later(req, res);
    res.send(body);
  }

  async #later(req: HttpRequest, res: HttpResponse): Promise<void> {
    res.send(await req.body.borrow());
  }
}

/** The example's routes, shared with examples/http_ws_echo.ts. */
export function helloRoutes(router: Router = new Router()): Router {
  return router.get("/", new Hello()).post("/echo", new Echo());
}

if (import.meta.main) {
  const { hostname, port } = parseListenFlags(Deno.args, 8080);
  const signal = abortOnSignals();
  const server = new HttpServer(helloRoutes(), { hostname, port, signal, shutdownTimeout: 3000 });
  printListening("http", await listenOrExit({ hostname, port }, () => server.listen()));
  await server.finished;
  Deno.exit(0);
}
