/**
 * A strict, fast HTTP/1.1 server for Deno over `Deno.listen`, with a parser
 * written from scratch and a generic connection takeover: a route can hand
 * the connection, with every byte read past the request head, to an
 * {@linkcode UpgradeTarget} that HTTP knows nothing about. This package loads
 * no WebSocket code.
 *
 * Handlers, routes, upgrade targets and loggers are objects implementing an
 * interface, one method per event.
 *
 * @example A server with two routes
 * ```ts
 * import { type Handler, HttpRequest, HttpResponse, HttpServer, Router } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Hello implements Handler {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.send("hello\n");
 *   }
 * }
 * class Echo implements Handler {
 *   async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
 *     res.send(await req.body.bytes());
 *   }
 * }
 * const server = new HttpServer(new Router().get("/", new Hello()).post("/echo", new Echo()), {
 *   port: 0,
 * });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "abc" });
 * equal(await res.text(), "abc");
 * await server.shutdown();
 * ```
 *
 * @module
 */
export {
  ChunkedDecoder,
  type ChunkedDecoderOptions,
  HeaderList,
  HttpError,
  HttpErrorCode,
  RequestHead,
  RequestParser,
  type RequestParserOptions,
  STATUS_TEXT,
} from "@coroio/core/http1";
export * from "./handler.ts";
export * from "./error_handler.ts";
export * from "./upgrade.ts";
export * from "./access_log.ts";
export * from "./request.ts";
export * from "./response.ts";
export * from "./router.ts";
export * from "./cookie.ts";
export * from "./static.ts";
export * from "./server.ts";
export {
  type Clock,
  type ConnectionEndListener,
  type ConnectionHandle,
  Deadlines,
  type DeadlinesOptions,
  type ErrorReporter,
  type Expirable,
} from "@coroio/core";
