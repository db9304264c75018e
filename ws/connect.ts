import { BufReader, type Deadlines } from "@coroio/core";
import { computeAcceptKey } from "./accept_key.ts";
import { ErrorCode, protocolError } from "./errors.ts";
import {
  CloseOnExpire,
  fieldValues,
  hasToken,
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

/** Options for {@linkcode connect}. */
export interface ConnectOptions<T = unknown>
  extends Omit<WebSocketSessionOptions, "role" | "protocol"> {
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
}

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();
const RESERVED = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-accept",
]);

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
 * @throws {WebSocketError} With code `WS_HANDSHAKE_FAILED` if the connection
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
  for (const p of protocols) {
    if (!isToken(p)) {
      throw new TypeError(`Cannot connect: invalid subprotocol ${JSON.stringify(p)}`);
    }
  }
  const extra = new Headers(options.headers);
  let extraLines = "";
  let hasHost = false;
  for (const [name, value] of extra) {
    if (RESERVED.has(name)) {
      throw new TypeError(`Cannot connect: header ${name} is set by the handshake`);
    }
    if (name === "host") hasHost = true;
    extraLines += `${name}: ${value}\r\n`;
  }
  const maxHeadSize = options.maxHeadSize ?? 8192;
  if (!Number.isInteger(maxHeadSize) || maxHeadSize < 256) {
    throw new RangeError("Cannot connect: maxHeadSize must be an integer >= 256");
  }
  const keyBytes = crypto.getRandomValues(new Uint8Array(16));
  const key = keyBytes.toBase64();
  const expected = computeAcceptKey(key);

  const deadlines: Deadlines = options.deadlines ?? acquireDeadlines();
  let conn: Deno.Conn | null = null;
  let timer: CloseOnExpire | null = null;
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
    timer = new CloseOnExpire(conn);
    deadlines.arm(timer, options.handshakeTimeout ?? 10000);
    const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\n` +
      (hasHost ? "" : `Host: ${u.host}\r\n`) +
      "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocols.length > 0 ? `Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n` : "") +
      extraLines + "\r\n";
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
    const head = parseHead(headBytes);
    if (typeof head === "string") throw failed(`malformed response head: ${head}`);
    const status = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(head.line);
    if (status === null) throw failed(`malformed status line ${JSON.stringify(head.line)}`);
    if (status[1] !== "101") throw failed(`server answered ${head.line.slice(9)}, not 101`);
    if (!hasToken(fieldValues(head, "upgrade"), "websocket")) {
      throw failed("response lacks Upgrade: websocket");
    }
    if (!hasToken(fieldValues(head, "connection"), "upgrade")) {
      throw failed("response lacks Connection: Upgrade");
    }
    const accept = fieldValues(head, "sec-websocket-accept");
    if (accept.length !== 1 || accept[0] !== await expected) {
      throw failed("Sec-WebSocket-Accept does not match the key");
    }
    if (fieldValues(head, "sec-websocket-extensions").length > 0) {
      throw failed("server selected an extension that was not offered");
    }
    const chosen = tokens(fieldValues(head, "sec-websocket-protocol"));
    if (chosen.length > 1 || (chosen.length === 1 && !protocols.includes(chosen[0]!))) {
      throw failed("server selected a subprotocol that was not offered");
    }
    deadlines.disarm(timer);
    if (timer.expired) throw failed("handshake timed out");
    const { buffered } = reader.detach();
    const sessionOptions = sessionOptionsFrom(options, "client");
    if (chosen.length === 1) sessionOptions.protocol = chosen[0]!;
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
    if (conn !== null) {
      try {
        conn.close();
      } catch {
        // Already closed by the timeout.
      }
    }
    await expected.catch(() => {});
  }
}
