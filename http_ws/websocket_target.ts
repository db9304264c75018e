import type { ConnectionHandle, ErrorReporter } from "@coroio/core";
import type { HttpRequest, Takeover, UpgradeTarget } from "@coroio/http";
import {
  answerHandshake,
  type AnswerHandshakeOptions,
  compressionSettings,
  type PerMessageDeflateOptions,
  type WebSocketServerHandler,
  type WebSocketSession,
  type WebSocketSessionOptions,
} from "@coroio/ws";

/**
 * A WebSocket handler for an HTTP route: the ws package's
 * `WebSocketServerHandler` whose `onUpgrade` receives the `HttpRequest`
 * (route parameters, query, headers, peer).
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example Refusing clients from other origins
 * ```ts
 * import type { HttpRequest } from "@coroio/http";
 * import type { WebSocketRoute } from "@coroio/http-ws";
 * import type { UpgradeDecision, WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Guarded implements WebSocketRoute<{ user: string }> {
 *   onUpgrade(req: HttpRequest): UpgradeDecision<{ user: string }> {
 *     const origin = req.headers.get("origin");
 *     if (origin !== null && origin !== "http://127.0.0.1:8080") return { status: 403 };
 *     return { data: { user: req.params.user ?? "" } };
 *   }
 *   onMessage(ws: WebSocketSession<{ user: string }>, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const req = { headers: new Headers({ origin: "http://evil.example" }) } as unknown as HttpRequest;
 * equal(new Guarded().onUpgrade(req).status, 403);
 * ```
 */
export type WebSocketRoute<T = unknown> = WebSocketServerHandler<T, HttpRequest>;

/** Options for {@linkcode WebSocketTarget}. */
export interface WebSocketTargetOptions
  extends Omit<WebSocketSessionOptions, "role" | "protocol" | "deflate" | "extensions"> {
  /**
   * Subprotocols this route speaks; the first one the client offers is
   * chosen unless `onUpgrade` picks.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Negotiate permessage-deflate (RFC 7692) with clients that offer it:
   * `true` for the defaults (one shared compressor per process, so idle
   * connections hold no zlib memory), or the options. Without it nothing is
   * negotiated and `node:zlib` is never loaded.
   *
   * @default {false}
   */
  compression?: boolean | PerMessageDeflateOptions;
  /**
   * Where handshake errors the target survives go (an `onUpgrade` that
   * threw, an invalid decision).
   *
   * @default {a reporter that writes to console.error}
   */
  errorReporter?: ErrorReporter;
}

/**
 * The bridge between `@coroio/http` and `@coroio/ws`: an
 * {@linkcode UpgradeTarget} that answers the WebSocket opening handshake
 * through `@coroio/ws`'s one handshake path (`answerHandshake`: the same
 * checks and statuses as the standalone `WebSocketServer`, the route's
 * `onUpgrade`, the `101` or the refusal) and runs a `WebSocketSession` on the
 * taken-over connection, starting with the bytes the HTTP server had already
 * read past the request head. The session is the connection's handle: on
 * graceful shutdown of the HTTP server it gets a close frame with 1001 and
 * time to finish.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example An echo route beside ordinary routes
 * ```ts
 * import { HttpServer, Router } from "@coroio/http";
 * import { WebSocketTarget, type WebSocketRoute } from "@coroio/http-ws";
 * import type { WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketRoute {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const server = new HttpServer(new Router().upgrade("/ws", new WebSocketTarget(new Echo())), {
 *   port: 0,
 * });
 * const { port } = server.listen();
 * const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
 * const reply = await new Promise<string>((resolve, reject) => {
 *   client.onopen = () => client.send("hi");
 *   client.onmessage = (e) => resolve(e.data);
 *   client.onerror = reject;
 * });
 * equal(reply, "hi");
 * const closed = new Promise((r) => client.onclose = r);
 * client.close();
 * await closed;
 * await server.shutdown();
 * ```
 */
export class WebSocketTarget<T = unknown> implements UpgradeTarget {
  /** The `Upgrade` token this target serves. */
  readonly protocol = "websocket";
  #handler: WebSocketRoute<T>;
  #answer: AnswerHandshakeOptions;

  /**
   * Creates the target for one route.
   *
   * @param handler Decides each handshake and receives every session's events.
   * @param options Session limits and timeouts, and the subprotocols spoken.
   */
  constructor(handler: WebSocketRoute<T>, options: WebSocketTargetOptions = {}) {
    this.#handler = handler;
    const { protocols, errorReporter, compression, ...session } = options;
    this.#answer = {
      protocols: protocols ?? [],
      session: { ...session, role: "server" },
      reporter: errorReporter ?? null,
      compression: compressionSettings(compression),
    };
  }

  /**
   * Answers the handshake and starts the session. Called by the HTTP server
   * after a takeover.
   *
   * @param takeover The connection, the request and the bytes read past its head.
   * @returns The running session's handle, or `null` if the handshake was
   * refused (the connection is then closed).
   */
  upgrade(takeover: Takeover): Promise<ConnectionHandle | null> {
    // The handshake runs in its own frame so that the request and the
    // takeover record are garbage while the session runs.
    return answerHandshake(
      takeover.conn,
      takeover.request,
      takeover.buffered,
      this.#handler,
      this.#answer,
      takeover,
    ).then(start);
  }
}

/** Starts an accepted session: it is the handle the HTTP server's accept loop holds. */
function start<T>(session: WebSocketSession<T> | null): ConnectionHandle | null {
  session?.run();
  return session;
}
