import {
  closeQuietly,
  type ConnectionHandle,
  type ConnectionHandler,
  type Deadlines,
  EndingHandle,
  type ErrorReporter,
  intOption,
  TcpServer,
  writeAll,
} from "@coroio/core";
import {
  encodeRefusal,
  type HeaderList,
  HttpError,
  type RequestHead,
  RequestParser,
} from "@coroio/core/http1";
import type { PerMessageDeflateOptions } from "./permessage_deflate.ts";
import {
  answerHandshake,
  type AnswerHandshakeOptions,
  compressionSettings,
  type UpgradeRequest,
  type WebSocketServerHandler,
} from "./handshake.ts";
import { WebSocketSession, type WebSocketSessionOptions } from "./session.ts";
import { HandshakeTimer } from "./_handshake_timer.ts";
import { sessionOptionsFrom } from "./_session_options.ts";
import { acquireDeadlines, releaseDeadlines } from "./_shared_deadlines.ts";

/** Options for {@linkcode WebSocketServer}. */
export interface WebSocketServerOptions
  extends Omit<WebSocketSessionOptions, "role" | "protocol" | "deflate" | "extensions"> {
  /**
   * Subprotocols this server speaks; the first one the client offers is
   * chosen (unless `onUpgrade` picks).
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Negotiate permessage-deflate (RFC 7692) with clients that offer it:
   * `true` for the defaults (one shared compressor per process, reset after
   * each message, so idle connections hold no zlib memory; messages from 128
   * bytes), or the options (mode, level, window bits, memLevel, threshold).
   * Without it nothing is negotiated and `node:zlib` is never loaded.
   *
   * @default {false}
   */
  compression?: boolean | PerMessageDeflateOptions;
  /**
   * Largest handshake request head, in bytes. Larger: 431.
   *
   * @default {8192}
   */
  maxHeadSize?: number;
  /**
   * Longest handshake request line, in bytes. Longer: 414.
   *
   * @default {4096}
   */
  maxRequestLineLength?: number;
  /**
   * Milliseconds to receive the whole handshake request head.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Most connections served at once.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * Milliseconds graceful shutdown waits for sessions to finish their close
   * handshake before closing the rest.
   *
   * @default {10000}
   */
  shutdownTimeout?: number;
  /** Aborting it starts a graceful shutdown. */
  signal?: AbortSignal;
  /**
   * Where errors the server survives go.
   *
   * @default {a reporter that writes to console.error}
   */
  errorReporter?: ErrorReporter;
}

/** The handshake request as the standalone server hands it to `onUpgrade`. */
class StandaloneRequest implements UpgradeRequest {
  readonly head: RequestHead;
  readonly remoteAddr: Deno.Addr;
  constructor(head: RequestHead, remoteAddr: Deno.Addr) {
    this.head = head;
    this.remoteAddr = remoteAddr;
  }
  get path(): string {
    return this.head.path;
  }
  get query(): string {
    return this.head.query;
  }
  get headers(): HeaderList {
    return this.head.headers;
  }
}

/**
 * One connection: the handshake, then the session. The accept loop learns
 * of its end through `onEnd()`, the session tells this handle through the
 * same hook: no promise per connection (`done` is made only if asked for).
 */
class StandaloneConnection<T> extends EndingHandle {
  /** The connection during the handshake, then the session. */
  #peer: Deno.Conn | WebSocketSession<T>;
  #shuttingDown = false;

  constructor(acceptor: Acceptor<T>, conn: Deno.Conn) {
    super();
    this.#peer = conn;
    // The handshake runs in its own frame so that none of its garbage (head
    // bytes, header strings) stays reachable while the session idles.
    acceptor.handshake(conn, this);
  }

  /**
   * The handshake succeeded: this connection's handle is now the session,
   * which tells this handle when it ends.
   */
  attach(session: WebSocketSession<T>): void {
    session.onEnd(this);
    this.#peer = session;
    if (this.#shuttingDown) session.shutdown();
    session.run();
  }

  shutdown(): void {
    this.#shuttingDown = true;
    const peer = this.#peer;
    if (peer instanceof WebSocketSession) peer.shutdown();
    else closeQuietly(peer); // Still in the handshake.
  }
}

function noop(): void {}

/** The first read of a handshake (a larger head takes more reads). */
const HEAD_READ = 1024;
/** Request parsers kept for the next handshakes. */
const PARSER_POOL = 16;

/** The per-connection half of the server (not public: it implements core's interface). */
class Acceptor<T> implements ConnectionHandler {
  readonly handler: WebSocketServerHandler<T>;
  readonly answer: AnswerHandshakeOptions;
  readonly maxHeadSize: number;
  readonly maxRequestLineLength: number;
  readonly handshakeTimeout: number;
  deadlines: Deadlines | null = null;
  readonly #parserOptions: { maxHeadSize: number; maxRequestLineLength: number };
  /** Parsers of finished handshakes (reset), reused: fewer objects per handshake. */
  readonly #parsers: RequestParser[] = [];

  constructor(handler: WebSocketServerHandler<T>, options: WebSocketServerOptions) {
    this.handler = handler;
    this.maxHeadSize = intOption("WebSocketServer", "maxHeadSize", options.maxHeadSize, 8192, 256);
    this.maxRequestLineLength = intOption(
      "WebSocketServer",
      "maxRequestLineLength",
      options.maxRequestLineLength,
      4096,
    );
    this.handshakeTimeout = intOption(
      "WebSocketServer",
      "handshakeTimeout",
      options.handshakeTimeout,
      10000,
    );
    this.#parserOptions = {
      maxHeadSize: this.maxHeadSize,
      maxRequestLineLength: this.maxRequestLineLength,
    };
    this.answer = {
      protocols: options.protocols ?? [],
      session: sessionOptionsFrom(options, "server"),
      reporter: options.errorReporter ?? null,
      compression: compressionSettings(options.compression),
    };
  }

  open(conn: Deno.Conn): ConnectionHandle {
    return new StandaloneConnection(this, conn);
  }

  /**
   * Reads and parses the request head, answers it, and attaches the session
   * to `slot`; ends `slot` itself when there is none. Never rejects: an
   * unexpected error ends `slot` with it.
   */
  async handshake(conn: Deno.Conn, slot: StandaloneConnection<T>): Promise<void> {
    try {
      // Reads straight into one buffer: the parser keeps what a partial head
      // needs (no buffered reader, no async layer of its own).
      const buf = new Uint8Array(Math.min(HEAD_READ, this.maxHeadSize));
      const parser = this.#parsers.pop() ?? new RequestParser(this.#parserOptions);
      const timer = new HandshakeTimer(conn);
      const deadlines = this.deadlines;
      deadlines?.arm(timer, this.handshakeTimeout);
      let n: number | null;
      let used: number;
      try {
        do {
          n = await conn.read(buf);
          if (n === null) {
            closeQuietly(conn);
            slot.end();
            return;
          }
          used = parser.feed(n === buf.length ? buf : buf.subarray(0, n));
        } while (parser.head === null);
      } catch (err) {
        if (err instanceof HttpError && !timer.expired) {
          await writeAll(conn, encodeRefusal(err.status, err.message)).catch(noop);
        }
        closeQuietly(conn);
        slot.end();
        return;
      } finally {
        deadlines?.disarm(timer);
      }
      const request = new StandaloneRequest(parser.head, conn.remoteAddr);
      // The head is the request's now; the parser serves the next handshake.
      parser.reset();
      if (this.#parsers.length < PARSER_POOL) this.#parsers.push(parser);
      const session = await answerHandshake(
        conn,
        request,
        buf.subarray(used, n),
        this.handler,
        this.answer,
      );
      if (session === null) slot.end();
      else slot.attach(session);
    } catch (err) {
      slot.end(err);
    }
  }
}

/**
 * A standalone WebSocket server on a TCP listener, without the HTTP
 * package: it reads the handshake request head with the same strict HTTP/1
 * parser as `@coroio/http` (with a size cap and a timeout), then answers it
 * through the one handshake path ({@linkcode answerHandshake}: the checks
 * of {@linkcode checkHandshake}, the handler's `onUpgrade`, the `101` or the
 * refusal), and runs a {@linkcode WebSocketSession} on the bytes that
 * followed the head. A request gets the same status here as through the
 * HTTP bridge. Graceful shutdown sends close 1001 to every session.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example An echo server
 * ```ts
 * import { WebSocketServer, type WebSocketHandler, type WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Echo());
 * const serving = server.serve();
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`);
 * const reply = await new Promise((resolve) => {
 *   ws.onopen = () => ws.send("hi");
 *   ws.onmessage = (e) => resolve(e.data);
 * });
 * equal(reply, "hi");
 * const closed = new Promise((resolve) => ws.onclose = resolve);
 * ws.close();
 * await closed;
 * await server.shutdown();
 * await serving;
 * ```
 */
export class WebSocketServer<T = unknown> {
  #tcp: TcpServer;
  #acceptor: Acceptor<T>;
  #ownDeadlines: boolean;
  #serving: Promise<void> | null = null;

  /**
   * Creates the server; call {@linkcode WebSocketServer.prototype.serve} to
   * start accepting.
   *
   * @param listener A TCP listener, e.g. from `Deno.listen`.
   * @param handler Receives every session's events (and decides upgrades).
   * @param options Limits, timeouts, subprotocols and session options.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(
    listener: Deno.Listener,
    handler: WebSocketServerHandler<T>,
    options: WebSocketServerOptions = {},
  ) {
    this.#acceptor = new Acceptor(handler, options);
    this.#ownDeadlines = options.deadlines === undefined;
    this.#acceptor.deadlines = options.deadlines ?? null;
    const tcp: {
      maxConnections?: number;
      shutdownTimeout?: number;
      signal?: AbortSignal;
      errorReporter?: ErrorReporter;
    } = {};
    if (options.maxConnections !== undefined) tcp.maxConnections = options.maxConnections;
    if (options.shutdownTimeout !== undefined) tcp.shutdownTimeout = options.shutdownTimeout;
    if (options.signal !== undefined) tcp.signal = options.signal;
    if (options.errorReporter !== undefined) tcp.errorReporter = options.errorReporter;
    this.#tcp = new TcpServer(listener, this.#acceptor, tcp);
  }

  /**
   * The address the server listens on.
   *
   * @returns The listener's address.
   */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /**
   * Connections open now (in the handshake or in a session).
   *
   * @returns The count.
   */
  get connections(): number {
    return this.#tcp.connections;
  }

  /**
   * Accepts connections until shutdown.
   *
   * @returns A promise that resolves once the server has shut down and all
   * its connections are closed.
   */
  serve(): Promise<void> {
    return this.#serving ??= this.#serve();
  }

  async #serve(): Promise<void> {
    if (this.#ownDeadlines) this.#acceptor.deadlines = acquireDeadlines();
    try {
      await this.#tcp.serve();
    } finally {
      if (this.#ownDeadlines) {
        this.#acceptor.deadlines = null;
        releaseDeadlines();
      }
    }
  }

  /**
   * Graceful shutdown: stop accepting, send close 1001 to every session,
   * wait up to `timeout` ms, then close what is left.
   *
   * @param timeout Milliseconds to wait.
   * @returns A promise that resolves once every connection is closed.
   */
  shutdown(timeout?: number): Promise<void> {
    return this.#tcp.shutdown(timeout);
  }
}
