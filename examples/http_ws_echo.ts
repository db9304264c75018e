/**
 * The routes of `http_hello.ts` (`GET /`, `POST /echo`, 404 otherwise) plus
 * a WebSocket route `/ws` that echoes every text and binary message as the
 * same type, on one port.
 *
 *     deno run --allow-net examples/http_ws_echo.ts --port 8080 [--compression]
 *
 * @module
 */
import { HttpServer, Router } from "@coroio/http";
import { type WebSocketRoute, WebSocketTarget } from "@coroio/http-ws";
import type { WebSocketSession } from "@coroio/ws";
import { abortOnSignals, listenOrExit, parseListenFlags, printListening } from "./_args.ts";
import { helloRoutes } from "./http_hello.ts";

/** Echoes each message back as the same type. */
export class EchoRoute implements WebSocketRoute {
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    // Not awaited: replies to a burst of messages leave in one write. No
    // .catch() either: send() never rejects, and a derived promise per
    // message is garbage.
    ws.send(data);
  }

  /**
   * Sends a text message back as the bytes it arrived as (validated UTF-8):
   * an echo need not make a string of it.
   *
   * @param ws The session.
   * @param bytes The message's UTF-8.
   */
  onText(ws: WebSocketSession, bytes: Uint8Array): void {
    ws.sendText(bytes);
  }
}

if (import.meta.main) {
  const { hostname, port, compression } = parseListenFlags(Deno.args, 8080);
  const signal = abortOnSignals();
  const router = helloRoutes(new Router()).upgrade(
    "/ws",
    // send() copies, so messages can be lent views (no allocation per message).
    new WebSocketTarget(new EchoRoute(), { compression, borrowMessages: true }),
  );
  const server = new HttpServer(router, { hostname, port, signal, shutdownTimeout: 3000 });
  printListening("http", await listenOrExit({ hostname, port }, () => server.listen()));
  await server.finished;
  Deno.exit(0);
}
