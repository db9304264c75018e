/**
 * A drop-in for `Deno.serve` and `Deno.upgradeWebSocket` on `@coroio/http`
 * and `@coroio/ws`: change one import and a fetch-API program (a hono app
 * with `serve(app.fetch)`) runs on coroio's strict parser, limits,
 * pipelining and WebSocket sessions. The request the handler gets is lazy
 * (it builds a URL, `Headers` or a body stream only when touched) and still
 * passes `instanceof Request`; globals are left alone.
 *
 * @example A JSON API and a WebSocket echo
 * ```ts
 * import { serve, upgradeWebSocket } from "@coroio/serve";
 * import { deepStrictEqual as equal } from "node:assert/strict";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
 *   if (req.headers.get("upgrade") === "websocket") {
 *     const { socket, response } = upgradeWebSocket(req);
 *     socket.onmessage = (e) => socket.send(e.data);
 *     return response;
 *   }
 *   const body = await req.json() as { n: number };
 *   return Response.json({ twice: body.n * 2 });
 * });
 * const base = `127.0.0.1:${server.addr.port}`;
 * const res = await fetch(`http://${base}/`, { method: "POST", body: '{"n":21}' });
 * equal(await res.json(), { twice: 42 });
 *
 * const ws = new WebSocket(`ws://${base}/`);
 * ws.onopen = () => ws.send("ping");
 * const got = await new Promise((resolve) => ws.onmessage = (e) => resolve(e.data));
 * equal(got, "ping");
 * const closed = new Promise((resolve) => ws.onclose = resolve);
 * ws.close();
 * await closed;
 * await server.shutdown();
 * ```
 *
 * @module
 */
export {
  serve,
  type ServeHandler,
  type ServeHandlerInfo,
  type ServeInit,
  type ServeOptions,
  Server,
} from "./serve.ts";
export {
  ServerWebSocket,
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
  type WebSocketUpgrade,
} from "./websocket.ts";
export {
  createUpgradeWebSocket,
  type HonoContextLike,
  type HonoMiddleware,
  type WSContext,
  type WSEvents,
} from "./hono.ts";
// Types that appear in this package's options, re-exported so that the API
// is complete without importing the packages underneath.
export type { AccessLogEntry, AccessLogger, HttpServerOptions } from "@coroio/http";
export type { Clock, Deadlines, DeadlinesOptions, ErrorReporter, Expirable } from "@coroio/core";
export type {
  CompressionMode,
  DeflateParams,
  Invalid,
  PerMessageDeflate,
  PerMessageDeflateEngineOptions,
  PerMessageDeflateOptions,
  TooBig,
  WebSocketSessionOptions,
} from "@coroio/ws";
