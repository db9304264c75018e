import {
  BufferLimitError,
  BufReader,
  type ConnectionHandler,
  type Deadlines,
  type ErrorReporter,
  TcpServer,
  type TrackedConn,
} from "@coroio/core";
import { computeAcceptKey, isValidKey } from "./accept_key.ts";
import {
  CloseOnExpire,
  fieldValues,
  hasToken,
  type Head,
  isToken,
  parseHead,
  tokens,
  writeAll,
} from "./_head.ts";
import {
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "./session.ts";
import { sessionOptionsFrom } from "./_session_options.ts";
import { acquireDeadlines, releaseDeadlines } from "./_shared_deadlines.ts";

/**
 * The opening handshake request, as a {@linkcode WebSocketServerHandler}
 * sees it in `onUpgrade`.
 */
export interface UpgradeRequest {
  /** The request target as sent, e.g. `"/chat?room=1"`. */
  readonly target: string;
  /** The request header fields. */
  readonly headers: Headers;
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in order. */
  readonly protocols: readonly string[];
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
}

/** What `onUpgrade` decides for one handshake. */
export interface UpgradeDecision<T = unknown> {
  /**
   * Refuse the upgrade with this HTTP status (400-599) instead of 101.
   *
   * @default {undefined (accept)}
   */
  status?: number;
  /**
   * The subprotocol to agree to: one of the offered ones.
   *
   * @default {the first offered protocol listed in the server's `protocols`}
   */
  protocol?: string;
  /** The session's initial `data`. */
  data?: T;
}

/**
 * A {@linkcode WebSocketHandler} that may also decide each handshake.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example Only accepting the path "/chat", with per-connection data
 * ```ts
 * import type { UpgradeDecision, UpgradeRequest, WebSocketServerHandler } from "@coroio/ws";
 *
 * class Chat implements WebSocketServerHandler<{ joined: number }> {
 *   onUpgrade(req: UpgradeRequest): UpgradeDecision<{ joined: number }> {
 *     if (!req.target.startsWith("/chat")) return { status: 404 };
 *     return { data: { joined: Date.now() } };
 *   }
 *   onMessage(): void {}
 * }
 * console.log(typeof new Chat().onUpgrade); // "function"
 * ```
 */
export interface WebSocketServerHandler<T = unknown> extends WebSocketHandler<T> {
  /**
   * Called once the handshake request is valid, before the 101 is written.
   *
   * @param request The request.
   * @returns The decision; `undefined` accepts with the defaults.
   */
  onUpgrade?(
    request: UpgradeRequest,
  ): UpgradeDecision<T> | undefined | Promise<UpgradeDecision<T> | undefined>;
}

/** Options for {@linkcode WebSocketServer}. */
export interface WebSocketServerOptions extends Omit<WebSocketSessionOptions, "role" | "protocol"> {
  /**
   * Subprotocols this server speaks; the first one the client offers is
   * chosen (unless `onUpgrade` picks).
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Largest handshake request head, in bytes. Larger: 431.
   *
   * @default {8192}
   */
  maxHeadSize?: number;
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

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();
const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function response(status: number, message: string, extra = ""): Uint8Array {
  const body = message + "\n";
  return encoder.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${
        encoder.encode(body).length
      }\r\n` +
      `${extra}\r\n${body}`,
  );
}

/** A refusal: status, message and extra header lines. */
interface Refusal {
  status: number;
  message: string;
  extra?: string;
}

/**
 * Validates a handshake request head (RFC 6455 section 4.2.1). Returns the
 * key and offered protocols, or a refusal.
 */
function validate(head: Head): { key: string; protocols: string[]; target: string } | Refusal {
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/.exec(head.line);
  if (m === null) return { status: 400, message: "Malformed request line" };
  if (m[1] !== "GET") {
    return { status: 405, message: "WebSocket handshake must use GET", extra: "Allow: GET\r\n" };
  }
  if (m[3] !== "1" || m[4] !== "1") {
    return { status: 400, message: "WebSocket handshake needs HTTP/1.1" };
  }
  if (fieldValues(head, "host").length !== 1) {
    return { status: 400, message: "Exactly one Host header is required" };
  }
  if (!hasToken(fieldValues(head, "upgrade"), "websocket")) {
    return { status: 400, message: "Upgrade header must include websocket" };
  }
  if (!hasToken(fieldValues(head, "connection"), "upgrade")) {
    return { status: 400, message: "Connection header must include Upgrade" };
  }
  const version = fieldValues(head, "sec-websocket-version");
  if (version.length !== 1 || version[0] !== "13") {
    return {
      status: 426,
      message: "Unsupported Sec-WebSocket-Version: only 13 is supported",
      extra: "Sec-WebSocket-Version: 13\r\n",
    };
  }
  const keys = fieldValues(head, "sec-websocket-key");
  if (keys.length !== 1 || !isValidKey(keys[0]!)) {
    return { status: 400, message: "Sec-WebSocket-Key must be base64 of 16 bytes" };
  }
  const protocols = tokens(fieldValues(head, "sec-websocket-protocol"));
  for (const p of protocols) {
    if (!isToken(p)) return { status: 400, message: "Malformed Sec-WebSocket-Protocol" };
  }
  return { key: keys[0]!, protocols, target: m[2]! };
}

/** The per-connection half of the server (not public: it implements core's interface). */
class Acceptor<T> implements ConnectionHandler {
  handler: WebSocketServerHandler<T>;
  sessionOptions: WebSocketSessionOptions;
  protocols: readonly string[];
  maxHeadSize: number;
  handshakeTimeout: number;
  deadlines: Deadlines | null = null;
  /** Sessions by connection record; entries go with the records. */
  sessions = new WeakMap<TrackedConn, WebSocketSession<T>>();

  constructor(handler: WebSocketServerHandler<T>, options: WebSocketServerOptions) {
    this.handler = handler;
    this.protocols = options.protocols ?? [];
    this.maxHeadSize = options.maxHeadSize ?? 8192;
    this.handshakeTimeout = options.handshakeTimeout ?? 10000;
    if (!Number.isInteger(this.maxHeadSize) || this.maxHeadSize < 256) {
      throw new RangeError("Cannot create WebSocketServer: maxHeadSize must be an integer >= 256");
    }
    const s = sessionOptionsFrom(options, "server");
    this.sessionOptions = s;
  }

  async handleConnection(conn: Deno.Conn, tracked: TrackedConn): Promise<void> {
    // The handshake runs in its own frame so that none of its garbage (head
    // bytes, header strings) stays reachable while the session idles.
    // Returning the run promise (instead of awaiting it) ends this frame:
    // an idle connection keeps no suspended function here.
    const session = await this.handshake(conn);
    if (session === null) return;
    this.sessions.set(tracked, session);
    const done = session.run();
    if (tracked.closing) session.close(1001, "server shutting down");
    return done;
  }

  async handshake(conn: Deno.Conn): Promise<WebSocketSession<T> | null> {
    const reader = new BufReader(conn, {
      initialSize: Math.min(1024, this.maxHeadSize),
      maxReadSize: this.maxHeadSize,
    });
    const timer = new CloseOnExpire(conn);
    const deadlines = this.deadlines;
    deadlines?.arm(timer, this.handshakeTimeout);
    let headBytes: Uint8Array | null;
    try {
      headBytes = await reader.readUntil(CRLFCRLF, this.maxHeadSize);
    } catch (err) {
      deadlines?.disarm(timer);
      if (err instanceof BufferLimitError && !timer.expired) {
        await writeAll(conn, response(431, "Handshake request head too large"));
      }
      return null;
    }
    deadlines?.disarm(timer);
    if (headBytes === null) return null;
    const head = parseHead(headBytes);
    if (typeof head === "string") {
      await writeAll(conn, response(400, `Malformed request head: ${head}`));
      return null;
    }
    const checked = validate(head);
    if ("status" in checked) {
      await writeAll(conn, response(checked.status, checked.message, checked.extra));
      return null;
    }
    let protocol = "";
    for (const p of checked.protocols) {
      if (this.protocols.includes(p)) {
        protocol = p;
        break;
      }
    }
    let data: T | undefined;
    if (this.handler.onUpgrade !== undefined) {
      const headers = new Headers();
      for (const [n, v] of head.fields) headers.append(n, v);
      let decision: UpgradeDecision<T> | undefined;
      try {
        decision = await this.handler.onUpgrade({
          target: checked.target,
          headers,
          protocols: checked.protocols,
          remoteAddr: conn.remoteAddr,
        });
      } catch (err) {
        await writeAll(conn, response(500, "Upgrade handler failed"));
        throw err;
      }
      if (decision !== undefined) {
        if (decision.status !== undefined) {
          const st = decision.status;
          await writeAll(conn, response(st >= 400 && st <= 599 ? st : 500, "Upgrade refused"));
          return null;
        }
        if (decision.protocol !== undefined) {
          if (!checked.protocols.includes(decision.protocol)) {
            await writeAll(
              conn,
              response(500, "Server chose a subprotocol the client did not offer"),
            );
            throw new Error(
              `Cannot accept upgrade: protocol ${decision.protocol} was not offered by the client`,
            );
          }
          protocol = decision.protocol;
        }
        data = decision.data;
      }
    }
    const accept = await computeAcceptKey(checked.key);
    await writeAll(
      conn,
      encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n` +
          (protocol === "" ? "" : `Sec-WebSocket-Protocol: ${protocol}\r\n`) + "\r\n",
      ),
    );
    const { buffered } = reader.detach();
    const options = protocol === "" ? this.sessionOptions : { ...this.sessionOptions, protocol };
    return new WebSocketSession<T>(conn, buffered, this.handler, options, data);
  }

  shutdownConnection(_conn: Deno.Conn, tracked: TrackedConn): void {
    const session = this.sessions.get(tracked);
    if (session !== undefined) session.close(1001, "server shutting down");
    else tracked.close(); // Still in the handshake.
  }
}

/**
 * A standalone WebSocket server on a TCP listener, without the HTTP
 * package: it reads the handshake request head (with a size cap and a
 * timeout), checks it strictly (GET, HTTP/1.1, Host, `Upgrade: websocket`,
 * `Connection: Upgrade`, `Sec-WebSocket-Version: 13` or 426,
 * `Sec-WebSocket-Key` of 16 bytes or 400), lets the handler decide
 * (`onUpgrade`: refuse, pick a subprotocol, attach data), writes the 101 and
 * runs a {@linkcode WebSocketSession} on the bytes that followed the head.
 * Graceful shutdown sends close 1001 to every session.
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
