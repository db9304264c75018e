/**
 * The WebSocket opening handshake (RFC 6455 section 4), in one place for the
 * standalone {@linkcode WebSocketServer}, the HTTP bridge
 * (`@coroio/http-ws`) and the client ({@linkcode connect}): validate a
 * request head, let the application decide, choose a subprotocol, write the
 * `101` or the refusal, and check a server's answer. A request gets the same
 * status whichever server it reaches.
 *
 * @module
 */
import { closeQuietly, type ErrorReporter, isClosedError, writeAll } from "@coroio/core";
import {
  encodeRefusal,
  fieldLines,
  type HeaderList,
  listHasToken,
  parseParameterizedList,
  type RequestHead,
  type ResponseHead,
  splitList,
} from "@coroio/core/http1";
import { isToken, STATUS_TEXT } from "@coroio/core/http1";
import { computeAcceptKey, isValidKey } from "./accept_key.ts";
import { acceptKeySync } from "./_accept_key_sync.ts";
import { ErrorCode, protocolError } from "./errors.ts";
import {
  type ClientDeflateOptions,
  deflateAvailable,
  DeflateNegotiationError,
  type DeflateParams,
  type ExtensionOffer,
  negotiateClient,
  negotiateServer,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
} from "./permessage_deflate.ts";
import {
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "./session.ts";

/**
 * The opening handshake request as `onUpgrade` sees it. The standalone
 * server passes an object of this shape; the HTTP bridge passes its
 * `HttpRequest`, which has these members and more (route parameters).
 */
export interface UpgradeRequest {
  /** The parsed request head. */
  readonly head: RequestHead;
  /** The path of the request target, without the query. */
  readonly path: string;
  /** The query string without `?`, or `""`. */
  readonly query: string;
  /** The request header fields. */
  readonly headers: HeaderList;
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
}

/**
 * What `onUpgrade` decides for one handshake. Returning `undefined` accepts
 * with the defaults.
 *
 * @typeParam T The type of the session's `data`.
 */
export interface UpgradeDecision<T = unknown> {
  /**
   * Refuse the upgrade with this status (400-599; anything else becomes
   * 500) instead of `101`, for authentication or origin checks. The
   * connection closes after the refusal.
   *
   * @default {undefined (accept)}
   */
  status?: number;
  /** The body of a refusal. @default {the status text} */
  body?: string;
  /**
   * The subprotocol to agree to; must be one the client offered.
   *
   * @default {the first offered protocol listed in the server's `protocols`}
   */
  protocol?: string;
  /** Extra header fields for the `101` (or the refusal), e.g. `Set-Cookie`. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The session's initial `data`, readable by the handler as `ws.data`. */
  data?: T;
}

/**
 * A {@linkcode WebSocketHandler} that may also decide each handshake: one
 * object for every session of a server or route, one method per event.
 *
 * @typeParam T The type of `ws.data`.
 * @typeParam R The request type `onUpgrade` receives.
 *
 * @example Only accepting the path "/chat", with per-connection data
 * ```ts
 * import type { UpgradeDecision, UpgradeRequest, WebSocketServerHandler } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Chat implements WebSocketServerHandler<{ room: string }> {
 *   onUpgrade(req: UpgradeRequest): UpgradeDecision<{ room: string }> {
 *     if (req.path !== "/chat") return { status: 404 };
 *     return { data: { room: req.query } };
 *   }
 *   onMessage(): void {}
 * }
 * const decision = new Chat().onUpgrade({ path: "/other" } as UpgradeRequest);
 * equal(decision.status, 404);
 * ```
 */
export interface WebSocketServerHandler<T = unknown, R extends UpgradeRequest = UpgradeRequest>
  extends WebSocketHandler<T> {
  /**
   * Called once the handshake request is valid, before the `101` is written.
   *
   * @param request The request.
   * @param protocols The subprotocols the client offered, in order.
   * @returns The decision; `undefined` accepts with the defaults.
   */
  onUpgrade?(
    request: R,
    protocols: readonly string[],
  ): UpgradeDecision<T> | undefined | Promise<UpgradeDecision<T> | undefined>;
}

/** A valid handshake request: what the server needs to answer it. */
export interface HandshakeOffer {
  /** The `Sec-WebSocket-Key`. */
  readonly key: string;
  /** The offered subprotocols, in order. */
  readonly protocols: readonly string[];
}

/** Why a handshake request is refused: the response to send. */
export interface HandshakeRefusal {
  /** The status. */
  readonly status: number;
  /** The body text. */
  readonly message: string;
  /** Header fields the status calls for (`Allow`, `Upgrade`, `Sec-WebSocket-Version`). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * Judges an opening handshake request head (RFC 6455 section 4.2.1). Both
 * servers call this with a head from the same strict HTTP/1 parser, so a
 * request gets the same answer from each:
 *
 * - a method other than GET: 405 with `Allow: GET`;
 * - no `Upgrade: websocket` with `Connection: upgrade` in an HTTP/1.1 request
 *   (HTTP/1.0 cannot upgrade; `websocket/13` is another protocol): 426 with
 *   `Upgrade: websocket`;
 * - a body (Content-Length above 0, or chunked): 400;
 * - `Sec-WebSocket-Version` other than exactly one `13`: 426 with
 *   `Sec-WebSocket-Version: 13`;
 * - `Sec-WebSocket-Key` other than exactly one base64 of 16 bytes: 400;
 * - a `Sec-WebSocket-Protocol` element that is not a token: 400.
 *
 * @param head The parsed request head.
 * @returns The offer, or the refusal to send.
 *
 * @example A version the server does not speak
 * ```ts
 * import { RequestParser } from "@coroio/core/http1";
 * import { checkHandshake } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const parser = new RequestParser();
 * parser.feed(new TextEncoder().encode(
 *   "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
 * ));
 * const answer = checkHandshake(parser.head!);
 * deepEqual("status" in answer && [answer.status, answer.headers], [
 *   426,
 *   [["Sec-WebSocket-Version", "13"]],
 * ]);
 * ```
 */
export function checkHandshake(head: RequestHead): HandshakeOffer | HandshakeRefusal {
  if (head.method !== "GET") {
    return refusal(405, "Method Not Allowed: a WebSocket handshake uses GET", [["Allow", "GET"]]);
  }
  if (head.upgrade === null || !listHasToken([head.upgrade], "websocket")) {
    return refusal(
      426,
      "Upgrade Required: send Upgrade: websocket and Connection: Upgrade over HTTP/1.1",
      [["Upgrade", "websocket"], ["Connection", "Upgrade"]],
    );
  }
  if (head.chunked || head.contentLength > 0) {
    return refusal(400, "Bad Request: a WebSocket handshake has no body");
  }
  const headers = head.headers;
  const versions = headers.getAll("sec-websocket-version");
  if (versions.length !== 1 || versions[0] !== "13") {
    return refusal(426, "Upgrade Required: only WebSocket version 13 is supported", [
      ["Sec-WebSocket-Version", "13"],
    ]);
  }
  const keys = headers.getAll("sec-websocket-key");
  if (keys.length !== 1 || !isValidKey(keys[0]!)) {
    return refusal(400, "Bad Request: Sec-WebSocket-Key must be the base64 of 16 bytes");
  }
  const protocols = splitList(headers.getAll("sec-websocket-protocol"));
  for (const p of protocols) {
    if (!isToken(p)) {
      return refusal(400, `Bad Request: subprotocol ${JSON.stringify(p)} is not a token`);
    }
  }
  return { key: keys[0]!, protocols };
}

function refusal(
  status: number,
  message: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
): HandshakeRefusal {
  return { status, message, headers };
}

/**
 * Told what {@linkcode answerHandshake} answered (the HTTP server's
 * `Takeover` is one: its access log then shows the real status of a
 * refused upgrade).
 */
export interface HandshakeAnswerListener {
  /**
   * The answer's status (`101`, or the refusal's) and body bytes.
   *
   * @param status The status sent.
   * @param bytesSent The body bytes sent.
   */
  answered?(status: number, bytesSent?: number): void;
}

/** Options of {@linkcode answerHandshake}. */
export interface AnswerHandshakeOptions {
  /**
   * Subprotocols this server speaks; the first one the client offers is
   * chosen unless `onUpgrade` picks.
   */
  readonly protocols: readonly string[];
  /** The session's options (the role must be `"server"`). */
  readonly session: WebSocketSessionOptions;
  /** Where handshake errors the server survives go (an `onUpgrade` that threw). */
  readonly reporter: ErrorReporter | null;
  /**
   * permessage-deflate (RFC 7692) settings, or `null` to negotiate no
   * extension. An offer is accepted when the client makes one this side can
   * honour; `node:zlib` is loaded only once a message is compressed.
   */
  readonly compression?: PerMessageDeflateOptions | null;
}

/**
 * The `compression` option of the servers and the bridge: `true` for the
 * defaults (shared compressor, threshold 128 bytes), an options object, or
 * `false`/unset for none. Returns what {@linkcode answerHandshake} takes.
 *
 * @param option The option as given.
 * @returns The settings, or `null` for no compression.
 *
 * @example Usage
 * ```ts
 * import { compressionSettings } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * deepEqual(compressionSettings(true), {});
 * deepEqual(compressionSettings(undefined), null);
 * deepEqual(compressionSettings({ mode: "dedicated" }), { mode: "dedicated" });
 * ```
 */
export function compressionSettings(
  option: boolean | PerMessageDeflateOptions | undefined,
): PerMessageDeflateOptions | null {
  if (option === undefined || option === false) return null;
  return option === true ? {} : option;
}

/**
 * Answers an opening handshake on a connection whose request head was
 * already read: checks it ({@linkcode checkHandshake}), asks the handler's
 * `onUpgrade`, writes the `101` (or the refusal, then closes), and creates
 * the session on the bytes that followed the head. The session is not
 * started: call `run()`.
 *
 * @typeParam T The type of the session's `data`.
 * @typeParam R The request type the handler's `onUpgrade` receives.
 * @param conn The connection, owned by the caller until a session exists.
 * @param request The request (its `head` is judged).
 * @param buffered Bytes read past the request head, in order.
 * @param handler Decides the upgrade and receives the session's events.
 * @param options Subprotocols, session options and the error reporter.
 * @param answer Told the status answered (for an access log), if given.
 * @returns The session, or `null` when the handshake was refused (the
 * connection is then closed).
 *
 * @example Answering a handshake read by hand
 * ```ts
 * import { RequestParser } from "@coroio/core/http1";
 * import { answerHandshake, type WebSocketHandler, type WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/`);
 * const conn = await listener.accept();
 * const buf = new Uint8Array(4096);
 * const parser = new RequestParser();
 * let headEnd = 0;
 * let n = 0;
 * while (parser.head === null) {
 *   const got = (await conn.read(buf.subarray(n)))!;
 *   headEnd = n + parser.feed(buf.subarray(n, n + got));
 *   n += got;
 * }
 * const head = parser.head!;
 * const request = {
 *   head, path: head.path, query: head.query, headers: head.headers, remoteAddr: conn.remoteAddr,
 * };
 * const session = await answerHandshake(conn, request, buf.subarray(headEnd, n),
 *   new Echo(), { protocols: [], session: { role: "server" }, reporter: null });
 * const done = session!.run();
 * const reply = await new Promise((resolve) => {
 *   client.onopen = () => client.send("hi");
 *   client.onmessage = (e) => resolve(e.data);
 * });
 * equal(reply, "hi");
 * const closed = new Promise((resolve) => client.onclose = resolve);
 * client.close();
 * await closed;
 * await done;
 * listener.close();
 * ```
 */
export async function answerHandshake<T, R extends UpgradeRequest>(
  conn: Deno.Conn,
  request: R,
  buffered: Uint8Array,
  handler: WebSocketServerHandler<T, R>,
  options: AnswerHandshakeOptions,
  answer?: HandshakeAnswerListener,
): Promise<WebSocketSession<T> | null> {
  try {
    const checked = checkHandshake(request.head);
    if ("status" in checked) {
      await refuse(conn, checked.status, checked.message, checked.headers, answer);
      return null;
    }
    let decision: UpgradeDecision<T> | undefined;
    try {
      decision = handler.onUpgrade === undefined
        ? undefined
        : await handler.onUpgrade(request, checked.protocols);
    } catch (err) {
      report(options.reporter, err);
      await refuse(conn, 500, "Internal Server Error", [], answer);
      return null;
    }
    if (decision?.status !== undefined) {
      const st = decision.status;
      const status = Number.isInteger(st) && st >= 400 && st <= 599 ? st : 500;
      await refuse(
        conn,
        status,
        decision.body ?? reasonOf(status),
        decision.headers ?? [],
        answer,
      );
      return null;
    }
    const protocol = decision?.protocol ??
      checked.protocols.find((p) => options.protocols.includes(p)) ?? "";
    if (protocol !== "" && !checked.protocols.includes(protocol)) {
      report(
        options.reporter,
        new TypeError(`Cannot accept the upgrade: subprotocol "${protocol}" was not offered`),
      );
      await refuse(conn, 500, "Internal Server Error", [], answer);
      return null;
    }
    let response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptKeySync(checked.key)}\r\n`;
    if (protocol !== "") response += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
    const extra = decision?.headers === undefined ? "" : fieldLines(decision.headers);
    const deflate = negotiateDeflate(request.head, options.compression ?? null);
    if (deflate !== null) response += `Sec-WebSocket-Extensions: ${deflate.response}\r\n`;
    try {
      await writeAll(conn, latin1Bytes(response + extra + "\r\n"));
      answer?.answered?.(101, 0);
    } catch (err) {
      deflate?.engine.close();
      throw err;
    }
    let session = options.session;
    if (protocol !== "" || deflate !== null) {
      session = { ...session };
      if (protocol !== "") session.protocol = protocol;
      if (deflate !== null) {
        session.deflate = deflate.engine;
        session.extensions = deflate.response;
      }
    }
    return new WebSocketSession<T>(conn, buffered, handler, session, decision?.data);
  } catch (err) {
    // The peer went away during the handshake, or the decision was invalid.
    closeQuietly(conn);
    if (!isClosedError(err)) report(options.reporter, err);
    return null;
  }
}

/**
 * Answers the client's `Sec-WebSocket-Extensions` offers: the first
 * permessage-deflate offer this side can honour, or nothing. An offer that
 * cannot be parsed, or whose parameters are unknown, repeated or out of
 * range, is declined, never a failed handshake (RFC 7692 5).
 */
function negotiateDeflate(
  head: RequestHead,
  settings: PerMessageDeflateOptions | null,
): { response: string; engine: PerMessageDeflate } | null {
  if (settings === null || !deflateAvailable()) return null;
  const offers = parseParameterizedList(head.headers.getAll("sec-websocket-extensions"));
  if (offers === null || offers.length === 0) return null;
  const result = negotiateServer(offers as unknown as ExtensionOffer[], settings);
  if (result === null) return null;
  return {
    response: result.response,
    engine: new PerMessageDeflate(result.params, { ...settings, role: "server" }),
  };
}

/** Writes a refusal and closes the connection; a peer that left is ignored. */
async function refuse(
  conn: Deno.Conn,
  status: number,
  message: string,
  headers: ReadonlyArray<readonly [string, string]>,
  answer: HandshakeAnswerListener | undefined,
): Promise<void> {
  // The refusal's body is the message and a newline (encodeRefusal).
  answer?.answered?.(status, new TextEncoder().encode(message).length + 1);
  try {
    await writeAll(conn, encodeRefusal(status, message, headers));
  } catch {
    // The peer is gone; nothing to tell it.
  } finally {
    closeQuietly(conn);
  }
}

function report(reporter: ErrorReporter | null, err: unknown): void {
  try {
    if (reporter !== null) reporter.report(err, "upgrade");
    // deno-lint-ignore no-console
    else console.error("coroio/ws: handshake failed:", err);
  } catch {
    // A reporter that throws must not break the handshake path.
  }
}

function reasonOf(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? "Internal Server Error" : "Bad Request");
}

/** One byte per character: header values are Latin-1 (obs-text). */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Request header fields a client may not set: the handshake sets them. */
const RESERVED = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-accept",
]);

/**
 * Builds a client's opening handshake request (RFC 6455 section 4.1).
 *
 * @param url The `ws:` or `wss:` URL.
 * @param key The `Sec-WebSocket-Key` (base64 of 16 random bytes).
 * @param protocols Subprotocols to offer, in order of preference.
 * @param headers Extra header fields (`Host` may be overridden).
 * @param extensions The `Sec-WebSocket-Extensions` offer, or `""` for none.
 * @returns The request head, ending with the empty line.
 * @throws {TypeError} If a subprotocol is not a token, a header is invalid,
 * or a header is one the handshake sets itself.
 *
 * @example Usage
 * ```ts
 * import { clientHandshakeRequest } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const head = clientHandshakeRequest(new URL("ws://127.0.0.1:8080/chat?x=1"),
 *   "dGhlIHNhbXBsZSBub25jZQ==", ["chat"], new Headers());
 * equal(head.split("\r\n")[0], "GET /chat?x=1 HTTP/1.1");
 * equal(head.includes("Sec-WebSocket-Protocol: chat\r\n"), true);
 * ```
 */
export function clientHandshakeRequest(
  url: URL,
  key: string,
  protocols: readonly string[],
  headers: Headers,
  extensions: string = "",
): string {
  for (const p of protocols) {
    if (!isToken(p)) {
      throw new TypeError(`Cannot connect: invalid subprotocol ${JSON.stringify(p)}`);
    }
  }
  const extra: [string, string][] = [];
  let hasHost = false;
  for (const [name, value] of headers) {
    if (RESERVED.has(name)) {
      throw new TypeError(`Cannot connect: header ${name} is set by the handshake`);
    }
    if (name === "host") hasHost = true;
    extra.push([name, value]);
  }
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
    (hasHost ? "" : `Host: ${url.host}\r\n`) +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (protocols.length > 0 ? `Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n` : "") +
    (extensions !== "" ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : "") +
    fieldLines(extra) + "\r\n";
}

/**
 * Checks a server's answer to the client's handshake (RFC 6455 section
 * 4.2.2 from the client's side): `101`, `Upgrade: websocket`,
 * `Connection: Upgrade`, the `Sec-WebSocket-Accept` of the key, no extension
 * that was not offered, and at most one subprotocol, one that was offered.
 *
 * @param head The parsed response head.
 * @param key The `Sec-WebSocket-Key` the client sent.
 * @param protocols The subprotocols it offered.
 * @param deflate The permessage-deflate options it offered with, or `null`
 * if it offered no extension.
 * @returns The subprotocol the server chose (`""` for none) and the
 * permessage-deflate parameters it accepted (`null` for none).
 * @throws {WebSocketError} With code `handshake-failed` naming the problem.
 *
 * @example A server that skipped the accept key
 * ```ts
 * import { parseResponseHead } from "@coroio/core/http1";
 * import { checkHandshakeResponse, WebSocketError } from "@coroio/ws";
 * import { rejects } from "node:assert/strict";
 *
 * const head = parseResponseHead(new TextEncoder().encode(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
 * ));
 * await rejects(checkHandshakeResponse(head, "dGhlIHNhbXBsZSBub25jZQ==", []), WebSocketError);
 * ```
 */
export async function checkHandshakeResponse(
  head: ResponseHead,
  key: string,
  protocols: readonly string[],
  deflate: ClientDeflateOptions | null = null,
): Promise<HandshakeAnswer> {
  if (head.status !== 101) {
    throw failed(`server answered ${head.status} ${head.reason}, not 101`);
  }
  const h = head.headers;
  if (!listHasToken(h.getAll("upgrade"), "websocket")) {
    throw failed("response lacks Upgrade: websocket");
  }
  if (!listHasToken(h.getAll("connection"), "upgrade")) {
    throw failed("response lacks Connection: Upgrade");
  }
  const accept = h.getAll("sec-websocket-accept");
  if (accept.length !== 1 || accept[0] !== await computeAcceptKey(key)) {
    throw failed("Sec-WebSocket-Accept does not match the key");
  }
  const chosen = splitList(h.getAll("sec-websocket-protocol"));
  if (chosen.length > 1 || (chosen.length === 1 && !protocols.includes(chosen[0]!))) {
    throw failed("server selected a subprotocol that was not offered");
  }
  const extensions = h.getAll("sec-websocket-extensions");
  let params: DeflateParams | null = null;
  if (extensions.length > 0) {
    if (deflate === null) throw failed("server selected an extension that was not offered");
    const answer = parseParameterizedList(extensions);
    if (answer === null) throw failed("malformed Sec-WebSocket-Extensions");
    try {
      params = negotiateClient(answer as unknown as ExtensionOffer[], deflate);
    } catch (err) {
      if (err instanceof DeflateNegotiationError) throw failed(err.message, err);
      throw err;
    }
  }
  return { protocol: chosen[0] ?? "", deflate: params, extensions: extensions.join(", ") };
}

/** What a server agreed to in its `101`, as {@linkcode checkHandshakeResponse} found it. */
export interface HandshakeAnswer {
  /** The subprotocol, or `""`. */
  readonly protocol: string;
  /** The permessage-deflate parameters, or `null` when none was negotiated. */
  readonly deflate: DeflateParams | null;
  /** The `Sec-WebSocket-Extensions` value of the answer, or `""`. */
  readonly extensions: string;
}

function failed(message: string, cause?: unknown): Error {
  return protocolError(ErrorCode.HandshakeFailed, message, cause);
}
