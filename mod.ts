/**
 * coroio for Deno: the whole stack in one import, for scripts and examples.
 * Libraries should import the package they need instead (`@coroio/http`
 * alone loads no WebSocket code).
 *
 * @example Namespaces
 * ```ts
 * import { core, http, httpWs, ws } from "./mod.ts";
 *
 * console.log(typeof core.BufReader, typeof http.HttpServer, typeof ws.WebSocketSession, typeof httpWs.WebSocketTarget);
 * ```
 *
 * @module
 */
export * as core from "@coroio/core";
export * as http from "@coroio/http";
export * as ws from "@coroio/ws";
export * as httpWs from "@coroio/http-ws";
