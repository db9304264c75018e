import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/**
 * Shapes the response to an error a handler threw (or rejected with) before
 * it started its response: a JSON API answers JSON errors. Set it as
 * {@linkcode HttpServerInit.errorHandler}.
 *
 * `err` is whatever was thrown: an `HttpError` (its `status` says what the
 * client did wrong: 400 from `req.body.json()` on invalid JSON, 413 past the
 * body limit, or one a handler threw on purpose), or any other value (a
 * bug: answer 500 and do not show it to the client). `res` is a fresh
 * response: headers the failed handler had set are not on it.
 *
 * After an `HttpError` the connection stays open for more requests unless
 * the error broke the request body; after any other error it closes. An
 * error thrown once the response was started still closes the connection
 * (the hook is not called: the status line is gone). Errors other than
 * `HttpError` also go to the server's `errorReporter`. If the hook throws
 * or does not respond, the server's plain-text answer goes out.
 *
 * @example JSON errors for an API
 * ```ts
 * import {
 *   type ErrorHandler,
 *   type Handler,
 *   HttpError,
 *   type HttpRequest,
 *   type HttpResponse,
 *   HttpServer,
 * } from "@coroio/http";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * class JsonErrors implements ErrorHandler {
 *   handleError(err: unknown, _req: HttpRequest, res: HttpResponse): void {
 *     if (err instanceof HttpError) res.json({ error: err.message }, err.status);
 *     else res.json({ error: "internal error" }, 500);
 *   }
 * }
 * class Create implements Handler {
 *   async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
 *     const body = await req.body.json(); // 400 HttpError on invalid JSON
 *     res.json(body, 201);
 *   }
 * }
 * const server = new HttpServer(new Create(), {
 *   port: 0,
 *   errorHandler: new JsonErrors(),
 * });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{oops" });
 * equal(res.status, 400);
 * equal(res.headers.get("content-type"), "application/json; charset=utf-8");
 * deepEqual(await res.json(), { error: "Cannot parse request body: invalid JSON" });
 * await server.shutdown();
 * ```
 */
export interface ErrorHandler {
  /**
   * Answers the request whose handler failed.
   *
   * @param err What the handler threw.
   * @param req The request.
   * @param res A fresh response to answer on.
   * @returns Nothing, or a promise that settles once the response is sent.
   */
  handleError(err: unknown, req: HttpRequest, res: HttpResponse): void | Promise<void>;
}
