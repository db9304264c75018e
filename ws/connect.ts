import { BufReader, closeQuietly, type Deadlines, intOption, writeAll } from "@coroio/core";
import { HttpError, parseResponseHead } from "@coroio/core/http1";
import { ErrorCode, protocolError } from "./errors.ts";
import { checkHandshakeResponse, clientHandshakeRequest } from "./handshake.ts";
import {
  type ClientDeflateOptions,
  clientOffer,
  deflateAvailable,
  PerMessageDeflate,
  type PerMessageDeflateEngineOptions,
} from "./permessage_deflate.ts";
import {
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "./session.ts";
import { HandshakeTimer } from "./_handshake_timer.ts";
import { sessionOptionsFrom } from "./_session_options.ts";
import { acquireDeadlines, releaseDeadlines } from "./_shared_deadlines.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions<T = unknown>
  extends Omit<WebSocketSessionOptions, "role" | "protocol" | "deflate" | "extensions"> {
  /**
   * Subprotocols to offer (`Sec-WebSocket-Protocol`), in order of preference.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Extra request header fields. The handshake fields (`Upgrade`,
   * `Connection`, `Sec-WebSocket-*`) cannot be set here.
   *
   * @default {{}}
   */
  headers?: HeadersInit;
  /**
   * Receives the session's events; without one, read messages with
   * `for await (const message of ws)`.
   *
   * @default {null}
   */
  handler?: WebSocketHandler<T> | null;
  /** The session's initial `data`. */
  data?: T;
  /**
   * Milliseconds for connecting and the whole opening handshake.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Largest handshake response head, in bytes.
   *
   * @default {8192}
   */
  maxHeadSize?: number;
  /** PEM certificates to trust for `wss://`, beyond the system's. */
  caCerts?: string[];
  /**
   * Offer permessage-deflate (RFC 7692): `true` offers what browsers offer
   * (`permessage-deflate; client_max_window_bits`), an object sets the
   * parameters to ask for (and the compression mode, level and threshold of
   * this side). A server answer that was not offered fails the connection.
   *
   * @default {false}
   */
  compression?: boolean | (ClientDeflateOptions & PerMessageDeflateEngineOptions);
}

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();

function failed(message: string, cause?: unknown): Error {
  return protocolError(ErrorCode.HandshakeFailed, message, cause);
}

/**
 * Opens a WebSocket client connection to a `ws://` or `wss://` URL: connects
 * (TLS through `Deno.connectTls` for `wss://`), sends the opening handshake
 * with a random key, checks the `101` answer and its
 * `Sec-WebSocket-Accept`, and starts a {@linkcode WebSocketSession} in the
 * client role (masked frames) with the bytes that followed the response
 * head. The session is already running: `await ws.run()` waits for its end.
 *
 * @typeParam T The type of `ws.data`.
 * @param url The server URL (`ws:` or `wss:`, no fragment).
 * @param options Subprotocols, headers, handler, limits and timeouts.
 * @returns The open session.
 * @throws {TypeError} If the URL is not a `ws:` or `wss:` URL, or a header
 * is invalid or reserved.
 * @throws {RangeError} If `maxHeadSize` is below 256.
 * @throws {WebSocketError} With code `handshake-failed` if the connection
 * or the handshake fails or times out.
 *
 * @example Talking to an echo server
 * ```ts
 * import { connect, WebSocketServer, type WebSocketHandler, type WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Echo());
 * const serving = server.serve();
 * const ws = await connect(`ws://127.0.0.1:${server.addr.port}/echo`);
 * ws.send(new Uint8Array([1, 2, 3]));
 * const { value } = await ws[Symbol.asyncIterator]().next();
 * equal((value as Uint8Array).length, 3);
 * await ws.close();
 * await server.shutdown();
 * await serving;
 * ```
 */
export async function connect<T = unknown>(
  url: string | URL,
  options: ConnectOptions<T> = {},
): Promise<WebSocketSession<T>> {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new TypeError(`Cannot connect: URL scheme must be ws: or wss:, got ${u.protocol}`);
  }
  if (u.hash !== "") throw new TypeError("Cannot connect: a WebSocket URL has no fragment");
  const secure = u.protocol === "wss:";
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === "" ? (secure ? 443 : 80) : Number(u.port);
  const protocols = options.protocols ?? [];
  const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
  const compression = options.compression === true
    ? {}
    : options.compression === false || options.compression === undefined || !deflateAvailable()
    ? null
    : options.compression;
  const request = clientHandshakeRequest(
    u,
    key,
    protocols,
    new Headers(options.headers),
    compression === null ? "" : clientOffer(compression),
  );
  const maxHeadSize = intOption("a connection", "maxHeadSize", options.maxHeadSize, 8192, 256);
  const handshakeTimeout = intOption(
    "a connection",
    "handshakeTimeout",
    options.handshakeTimeout,
    10000,
  );

  const deadlines: Deadlines = options.deadlines ?? acquireDeadlines();
  let conn: Deno.Conn | null = null;
  let timer: HandshakeTimer | null = null;
  try {
    try {
      conn = secure
        ? await Deno.connectTls(
          options.caCerts === undefined ? { hostname, port } : {
            hostname,
            port,
            caCerts: options.caCerts,
          },
        )
        : await Deno.connect({ hostname, port });
    } catch (err) {
      throw failed(`cannot connect to ${u.host}: ${(err as Error).message}`, err);
    }
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // Not supported by this conn.
    }
    timer = new HandshakeTimer(conn);
    deadlines.arm(timer, handshakeTimeout);
    const reader = new BufReader(conn, {
      initialSize: Math.min(1024, maxHeadSize),
      maxReadSize: maxHeadSize,
    });
    let headBytes: Uint8Array | null;
    try {
      await writeAll(conn, encoder.encode(request));
      headBytes = await reader.readUntil(CRLFCRLF, maxHeadSize);
    } catch (err) {
      if (timer.expired) throw failed("handshake timed out", err);
      throw failed(`handshake I/O failed: ${(err as Error).message}`, err);
    }
    if (headBytes === null) throw failed("server closed the connection before answering");
    let head;
    try {
      head = parseResponseHead(headBytes);
    } catch (err) {
      if (err instanceof HttpError) throw failed(`malformed response head: ${err.message}`, err);
      throw err;
    }
    const answer = await checkHandshakeResponse(head, key, protocols, compression);
    deadlines.disarm(timer);
    if (timer.expired) throw failed("handshake timed out");
    const { buffered } = reader.detach();
    const sessionOptions = sessionOptionsFrom(options, "client");
    if (answer.protocol !== "") sessionOptions.protocol = answer.protocol;
    if (answer.deflate !== null) {
      sessionOptions.deflate = new PerMessageDeflate(answer.deflate, {
        ...compression,
        role: "client",
      });
      sessionOptions.extensions = answer.extensions;
    }
    const session = new WebSocketSession<T>(
      conn,
      buffered,
      options.handler ?? null,
      sessionOptions,
      options.data,
    );
    conn = null;
    session.run();
    return session;
  } finally {
    if (timer !== null) deadlines.disarm(timer);
    if (options.deadlines === undefined) releaseDeadlines();
    if (conn !== null) closeQuietly(conn);
  }
}
