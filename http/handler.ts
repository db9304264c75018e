import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import type { UpgradeTarget } from "./upgrade.ts";

/**
 * What a handler's `handle` returns: nothing when it answered through the
 * response, or the {@linkcode UpgradeTarget} that takes the connection over
 * (the handler's outcome says who owns the connection next).
 *
 * @example Answering, or handing the connection over
 * ```ts
 * import type { ConnectionHandle, HandlerResult, HttpRequest, HttpResponse, Takeover, UpgradeTarget } from "@coroio/http";
 * import { HttpServer } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Bye implements UpgradeTarget {
 *   readonly protocol = "bye";
 *   async upgrade({ conn }: Takeover): Promise<ConnectionHandle | null> {
 *     await conn.write(new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: bye\r\nConnection: Upgrade\r\n\r\n"));
 *     conn.close();
 *     return null;
 *   }
 * }
 * const bye = new Bye();
 * const handler = {
 *   handle(req: HttpRequest, res: HttpResponse): HandlerResult {
 *     if (req.head.upgrade === "bye") return bye;
 *     res.send("plain");
 *   },
 * };
 * const server = new HttpServer(handler, { port: 0 });
 * const { port } = server.listen();
 * equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "plain");
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: bye\r\n\r\n"));
 * const buf = new Uint8Array(256);
 * const n = (await conn.read(buf))!;
 * equal(new TextDecoder().decode(buf.subarray(0, 12)), "HTTP/1.1 101");
 * equal(n > 12, true);
 * conn.close();
 * await server.shutdown();
 * ```
 */
export type HandlerResult = void | UpgradeTarget;

/**
 * Serves requests: one object for every request, one method called per
 * request. Routers, middleware and applications implement it.
 *
 * The request and response objects are valid until the returned promise
 * settles (or, for a synchronous handler, until `handle` returns).
 *
 * @example A handler object
 * ```ts
 * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Hello implements Handler {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.send("hello\n");
 *   }
 * }
 * const server = new HttpServer(new Hello(), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/any/path`);
 * equal(await res.text(), "hello\n");
 * await server.shutdown();
 * ```
 */
export interface Handler {
  /**
   * Handles one request. Respond through `res` (`send()` for a whole body,
   * `write()`/`end()` to stream), or return an {@linkcode UpgradeTarget}
   * without responding to hand it the connection. Return a promise when the
   * work is async.
   *
   * @param req The request.
   * @param res The response to write.
   * @returns Nothing, or the upgrade target that takes the connection over.
   */
  handle(req: HttpRequest, res: HttpResponse): HandlerResult | Promise<HandlerResult>;
}
