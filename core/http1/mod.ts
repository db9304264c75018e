/**
 * The HTTP/1 codec shared by `@coroio/http` and `@coroio/ws`: a pure,
 * incremental, strict request-head parser (RFC 9112), the request head and
 * header list it produces, the chunked body decoder, the typed
 * {@linkcode HttpError} with its code table, status reason phrases, the
 * field-value grammar (tokens, lists, parameters, case-insensitive compare)
 * and the canned refusal response. No I/O: bytes in, heads or errors out.
 *
 * It lives in core so that the HTTP server and the WebSocket handshake parse
 * and judge a request head with the same code, while `@coroio/ws` still
 * never loads `@coroio/http`.
 *
 * @example Parsing a WebSocket handshake head
 * ```ts
 * import { listHasToken, RequestParser } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const parser = new RequestParser();
 * parser.feed(new TextEncoder().encode(
 *   "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
 * ));
 * const head = parser.head!;
 * equal(listHasToken(head.headers.getAll("connection"), "upgrade"), true);
 * equal(head.upgrade, "websocket");
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./status.ts";
export * from "./tokens.ts";
export * from "./header_list.ts";
export * from "./head.ts";
export * from "./parser.ts";
export * from "./chunked.ts";
export * from "./refusal.ts";
export * from "./response_head.ts";
