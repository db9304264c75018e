import type { ConnectionHandle, ErrorReporter } from "@coroio/core";
import type { Takeover, UpgradeTarget } from "@coroio/http";
import {
  answerHandshake,
  compressionSettings,
  type PerMessageDeflateOptions,
  type UpgradeDecision,
  type UpgradeRequest,
  type WebSocketError,
  type WebSocketServerHandler,
  type WebSocketSession,
  type WebSocketSessionOptions,
} from "@coroio/ws";
import { LazyRequest } from "./request.ts";

/**
 * Options for {@linkcode upgradeWebSocket}: `Deno.upgradeWebSocket`'s, plus
 * headers for the 101 response and the session's limits.
 */
export interface UpgradeWebSocketOptions
  extends
    Omit<WebSocketSessionOptions, "role" | "protocol" | "idleTimeout" | "deflate" | "extensions"> {
  /** The subprotocol to agree to; it must be one the client offered. */
  protocol?: string;
  /**
   * Seconds without incoming bytes before a ping is sent, as
   * `Deno.upgradeWebSocket` counts them; 0 disables. @default {120}
   */
  idleTimeout?: number;
  /** Extra header fields for the 101 response (`Deno.upgradeWebSocket` has none). */
  headers?: HeadersInit;
  /** Receives errors the handshake survives. */
  errorReporter?: ErrorReporter;
  /**
   * Negotiate permessage-deflate (RFC 7692) when the client offers it
   * (`Deno.upgradeWebSocket` cannot): `true` for the defaults (a shared
   * compressor), or the options.
   *
   * @default {false}
   */
  compression?: boolean | PerMessageDeflateOptions;
}

/** What {@linkcode upgradeWebSocket} returns, as `Deno.upgradeWebSocket` does. */
export interface WebSocketUpgrade {
  /** The response the fetch handler must return (status 101). */
  response: Response;
  /** The server side of the WebSocket, opening once the handshake is done. */
  socket: ServerWebSocket;
}

// The response of an upgrade, mapped to the target that takes the connection.
const targets = new WeakMap<Response, SocketTarget>();

/**
 * The target an upgrade response stands for, if it is one.
 *
 * @param res A response returned by a fetch handler.
 * @returns The target, or `undefined`.
 */
export function upgradeTargetOf(res: Response): UpgradeTarget | undefined {
  return targets.get(res);
}

/**
 * Upgrades a request served by {@linkcode serve} to a WebSocket, with the
 * contract of `Deno.upgradeWebSocket`: return `response` from the handler;
 * `socket` opens once the handshake is answered (through `@coroio/ws`'s
 * `answerHandshake`, the path of the `@coroio/http-ws` bridge, so a bad
 * handshake gets the same status). Unlike Deno's, `options.headers` are
 * added to the 101.
 *
 * @example An echo server
 * ```ts
 * import { serve, upgradeWebSocket } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const server = serve({ port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = upgradeWebSocket(req, { headers: { "x-hello": "1" } });
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * const { promise, resolve } = Promise.withResolvers<string>();
 * ws.onopen = () => ws.send("hi");
 * ws.onmessage = (e) => resolve(e.data);
 * equal(await promise, "hi");
 * const closed = new Promise((r) => ws.onclose = r);
 * ws.close();
 * await closed;
 * await server.shutdown();
 * ```
 *
 * @param req The request, as the handler received it.
 * @param options Subprotocol, idle timeout, 101 headers, session limits.
 * @returns The socket and the response to return.
 * @throws {TypeError} If the request does not ask for a WebSocket or was not
 * received by {@linkcode serve}.
 */
export function upgradeWebSocket(
  req: Request,
  options: UpgradeWebSocketOptions = {},
): WebSocketUpgrade {
  if (!(req instanceof LazyRequest)) {
    throw new TypeError(
      "Cannot upgrade: the request was not received by @coroio/serve's serve()",
    );
  }
  const upgrade = req.raw.headers.get("upgrade");
  if (upgrade === null || !/(^|[\s,])websocket($|[\s,])/i.test(upgrade)) {
    throw new TypeError("Invalid Header: 'upgrade' header must contain 'websocket'");
  }
  const socket = new ServerWebSocket(req.url, options);
  const response = new Response(null, { status: 200 });
  // A Response cannot be built with status 101; Deno's has it, so does ours.
  Object.defineProperty(response, "status", { value: 101 });
  Object.defineProperty(response, "statusText", { value: "Switching Protocols" });
  Object.defineProperty(response, "ok", { value: false });
  targets.set(response, new SocketTarget(socket, options));
  return { response, socket };
}

class SocketTarget implements UpgradeTarget {
  readonly protocol = "websocket";
  #socket: ServerWebSocket;
  #session: WebSocketSessionOptions;
  #reporter: ErrorReporter | null;
  #compression: PerMessageDeflateOptions | null;

  constructor(socket: ServerWebSocket, options: UpgradeWebSocketOptions) {
    this.#socket = socket;
    const { protocol: _p, headers: _h, errorReporter, idleTimeout, compression, ...session } =
      options;
    this.#compression = compressionSettings(compression);
    this.#session = {
      ...session,
      role: "server",
      idleTimeout: idleTimeout === undefined ? 120_000 : idleTimeout * 1000,
    };
    this.#reporter = errorReporter ?? null;
  }

  async upgrade(takeover: Takeover): Promise<ConnectionHandle | null> {
    const driver = driverOf(this.#socket);
    const session = await answerHandshake(
      takeover.conn,
      takeover.request,
      takeover.buffered,
      driver,
      {
        protocols: [],
        session: this.#session,
        reporter: this.#reporter,
        compression: this.#compression,
      },
      takeover,
    );
    if (session === null) {
      driver.refused();
      return null;
    }
    return new SessionHandle(session);
  }
}

class SessionHandle implements ConnectionHandle {
  readonly done: Promise<void>;
  #session: WebSocketSession;
  constructor(session: WebSocketSession) {
    this.#session = session;
    this.done = session.run();
  }
  shutdown(): void {
    this.#session.close(1001, "server shutting down").catch(ignore);
  }
}

function ignore(): void {}

const encoder = new TextEncoder();

// Reads a socket's driver (set once by the class's static block).
let driverOf: (s: ServerWebSocket) => SocketDriver;

/**
 * The server side of a WebSocket made by {@linkcode upgradeWebSocket},
 * behaving like the WHATWG `WebSocket` on a `@coroio/ws` session: event
 * handler properties and `addEventListener`, `send`, `close`, `readyState`,
 * `binaryType` (starting as `"arraybuffer"`, as in Deno), `bufferedAmount`,
 * `protocol`, `extensions`.
 *
 * @example Its initial state
 * ```ts
 * import { ServerWebSocket } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const ws = new ServerWebSocket("ws://a/", {});
 * equal(ws.readyState, ServerWebSocket.CONNECTING);
 * equal(ws.binaryType, "arraybuffer");
 * ```
 */
export class ServerWebSocket extends EventTarget {
  /** The connecting state. */
  static readonly CONNECTING = 0;
  /** The open state. */
  static readonly OPEN = 1;
  /** The closing state. */
  static readonly CLOSING = 2;
  /** The closed state. */
  static readonly CLOSED = 3;
  /** The connecting state. */
  readonly CONNECTING = 0;
  /** The open state. */
  readonly OPEN = 1;
  /** The closing state. */
  readonly CLOSING = 2;
  /** The closed state. */
  readonly CLOSED = 3;

  /** Called when the socket opens. */
  onopen: ((this: ServerWebSocket, ev: Event) => unknown) | null = null;
  /** Called for each message. */
  onmessage: ((this: ServerWebSocket, ev: MessageEvent) => unknown) | null = null;
  /** Called once the connection is closed. */
  onclose: ((this: ServerWebSocket, ev: CloseEvent) => unknown) | null = null;
  /** Called when the connection fails. */
  onerror: ((this: ServerWebSocket, ev: Event | ErrorEvent) => unknown) | null = null;
  /** How binary messages are delivered. @default {"arraybuffer"} */
  binaryType: BinaryType = "arraybuffer";
  /** The request URL with a `ws:` or `wss:` scheme. */
  readonly url: string;

  #driver: SocketDriver;

  static {
    driverOf = (s) => s.#driver;
  }

  /**
   * Creates the socket; {@linkcode upgradeWebSocket} does this.
   *
   * @param url The request URL.
   * @param options The upgrade options.
   */
  constructor(url: string, options: UpgradeWebSocketOptions) {
    super();
    this.url = url.replace(/^http/, "ws");
    this.#driver = new SocketDriver(this, options);
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    const d = this.#driver;
    return d.session === null ? d.state : d.session.readyState;
  }

  /** Bytes queued by `send()` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#driver.session?.bufferedAmount ?? 0;
  }

  /** The agreed subprotocol, or `""`. */
  get protocol(): string {
    return this.#driver.session?.protocol ?? "";
  }

  /** The negotiated extensions (`permessage-deflate; ...` with compression), or `""`. */
  get extensions(): string {
    return this.#driver.session?.extensions ?? "";
  }

  /**
   * Sends a message.
   *
   * @param data Text, or bytes as an `ArrayBuffer`, a view or a `Blob`.
   * @throws {DOMException} `InvalidStateError` before the socket opened.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    const s = this.#driver.session;
    if (s === null) throw new DOMException("readyState not OPEN", "InvalidStateError");
    if (typeof data === "string" || data instanceof Uint8Array) {
      s.send(data).catch(ignore);
    } else if (ArrayBuffer.isView(data)) {
      s.send(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).catch(ignore);
    } else if (data instanceof Blob) {
      data.bytes().then(s.send.bind(s)).catch(ignore);
    } else if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) {
      s.send(new Uint8Array(data)).catch(ignore);
    } else {
      s.send(encoder.encode(String(data))).catch(ignore);
    }
  }

  /**
   * Starts the closing handshake.
   *
   * @param code 1000 or 3000-4999.
   * @param reason At most 123 UTF-8 bytes.
   * @throws {DOMException} `InvalidAccessError` for another code,
   * `SyntaxError` for a long reason.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException(
        `The close code must be either 1000 or in the range of 3000 to 4999.`,
        "InvalidAccessError",
      );
    }
    if (reason !== undefined && encoder.encode(reason).length > 123) {
      throw new DOMException("The close reason may not be longer than 123 bytes.", "SyntaxError");
    }
    const d = this.#driver;
    if (d.session === null) {
      d.state = 3;
      return;
    }
    d.session.close(code ?? 1000, reason ?? "").catch(ignore);
  }
}

/** The session's handler behind a socket: turns session calls into events. */
class SocketDriver implements WebSocketServerHandler {
  session: WebSocketSession | null = null;
  state = 0;
  #socket: ServerWebSocket;
  #protocol: string;
  #headers: ReadonlyArray<readonly [string, string]> | undefined;

  constructor(socket: ServerWebSocket, options: UpgradeWebSocketOptions) {
    this.#socket = socket;
    this.#protocol = options.protocol ?? "";
    if (options.headers !== undefined) this.#headers = [...new Headers(options.headers)];
  }

  onUpgrade(_req: UpgradeRequest, _protocols: readonly string[]): UpgradeDecision {
    const d: UpgradeDecision = {};
    if (this.#protocol !== "") d.protocol = this.#protocol;
    if (this.#headers !== undefined) d.headers = this.#headers;
    return d;
  }

  onOpen(ws: WebSocketSession): void {
    this.session = ws;
    this.state = 1;
    const s = this.#socket;
    fire(s, new Event("open"), s.onopen);
  }

  onMessage(_ws: WebSocketSession, data: string | Uint8Array): void {
    const s = this.#socket;
    let payload: string | ArrayBuffer | Blob;
    if (typeof data === "string") payload = data;
    else if (s.binaryType === "blob") payload = new Blob([data as Uint8Array<ArrayBuffer>]);
    else {
      payload = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        ? data.buffer as ArrayBuffer
        : data.slice().buffer;
    }
    fire(s, new MessageEvent("message", { data: payload }), s.onmessage);
  }

  onError(_ws: WebSocketSession, error: WebSocketError): void {
    const s = this.#socket;
    fire(s, new ErrorEvent("error", { error, message: error.message }), s.onerror);
  }

  onClose(_ws: WebSocketSession, code: number, reason: string): void {
    this.state = 3;
    const s = this.#socket;
    fire(s, new CloseEvent("close", { code, reason, wasClean: code !== 1006 }), s.onclose);
  }

  /** The handshake was refused (a malformed request): the socket never opens. */
  refused(): void {
    this.state = 3;
    const s = this.#socket;
    fire(s, new ErrorEvent("error", { message: "WebSocket handshake refused" }), s.onerror);
    fire(s, new CloseEvent("close", { code: 1006, wasClean: false }), s.onclose);
  }
}

function fire<E extends Event>(
  socket: ServerWebSocket,
  ev: E,
  attr: ((this: ServerWebSocket, ev: E) => unknown) | null,
): void {
  if (attr !== null) {
    try {
      attr.call(socket, ev);
    } catch (err) {
      reportError(err);
    }
  }
  socket.dispatchEvent(ev);
}
