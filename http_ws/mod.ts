/**
 * The bridge between `@coroio/http` and `@coroio/ws`, and the only package
 * that knows both: {@linkcode WebSocketTarget} is an HTTP `UpgradeTarget`
 * that validates the WebSocket handshake, answers 101 and runs a WebSocket
 * session on the taken-over connection, starting with the bytes the HTTP
 * server had already read. Upgrade routes live beside ordinary routes in the
 * HTTP `Router`.
 *
 * @example A server with an HTTP route and a WebSocket route
 * ```ts
 * import { type HttpRequest, type HttpResponse, HttpServer, Router } from "@coroio/http";
 * import { WebSocketTarget, type WebSocketRoute } from "@coroio/http-ws";
 * import type { WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Page {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.send("see /ws");
 *   }
 * }
 * class Shout implements WebSocketRoute {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(typeof data === "string" ? data.toUpperCase() : data);
 *   }
 * }
 * const router = new Router().get("/", new Page()).upgrade("/ws", new WebSocketTarget(new Shout()));
 * const server = new HttpServer(router, { port: 0 });
 * const { port } = server.listen();
 * equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "see /ws");
 * const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
 * const got = await new Promise<string>((resolve, reject) => {
 *   ws.onopen = () => ws.send("hey");
 *   ws.onmessage = (e) => resolve(e.data);
 *   ws.onerror = reject;
 * });
 * equal(got, "HEY");
 * const closed = new Promise((r) => ws.onclose = r);
 * ws.close();
 * await closed;
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./websocket_target.ts";
// The types this package's API names, re-exported so that its documentation
// stands alone (jsr.io builds each package's docs by itself).
export type {
  ConnectionEndListener,
  ConnectionHandle,
  Deadlines,
  ErrorReporter,
  Expirable,
} from "@coroio/core";
export type {
  HeaderList,
  HttpRequest,
  RequestBody,
  RequestHead,
  Takeover,
  UpgradeTarget,
} from "@coroio/http";
export type {
  CompressionMode,
  DeflateParams,
  ErrorCode,
  Invalid,
  PerMessageDeflate,
  PerMessageDeflateEngineOptions,
  PerMessageDeflateOptions,
  ReadyState,
  SendOptions,
  TooBig,
  UpgradeDecision,
  UpgradeRequest,
  WebSocketError,
  WebSocketHandler,
  WebSocketServerHandler,
  WebSocketSession,
  WebSocketSessionOptions,
} from "@coroio/ws";
