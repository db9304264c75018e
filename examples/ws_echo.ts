/**
 * A standalone WebSocket echo server (no HTTP package): every text and binary
 * message is sent back as the same type, at any path.
 *
 *     deno run --allow-net examples/ws_echo.ts --hostname 127.0.0.1 --port 8081 [--compression]
 *
 * Prints `listening on ws://HOST:PORT` once listening (`--port 0` picks a
 * free port) and shuts down gracefully (close 1001 to every client) on
 * SIGINT or SIGTERM.
 *
 * @module
 */
import { type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
import { abortOnSignals, listenOrExit, parseListenFlags, printListening } from "./_args.ts";

/** Echoes each message back as the same type. */
export class Echo implements WebSocketHandler {
  /**
   * Sends the message back. The promise is not returned: replies to a burst
   * of messages are written together.
   *
   * @param ws The session.
   * @param data The message.
   */
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
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
  const { hostname, port, compression } = parseListenFlags(Deno.args, 8081);
  const listener = await listenOrExit({ hostname, port }, () => Deno.listen({ hostname, port }));
  const server = new WebSocketServer(listener, new Echo(), {
    compression,
    // send() copies the bytes, so the echo can take messages as lent views
    // (no allocation per message, one reused buffer per connection).
    borrowMessages: true,
    signal: abortOnSignals(),
    shutdownTimeout: 3000,
    closeTimeout: 2000,
  });
  const serving = server.serve();
  printListening("ws", server.addr);
  await serving;
  Deno.exit(0);
}
