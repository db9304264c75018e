import type { ConnectionEndListener, ConnectionHandle } from "@coroio/core";
import type { ReadyState } from "./constants.ts";
import { isValidCloseCode } from "./close_code.ts";
import type { WebSocketError } from "./errors.ts";
import { Connection } from "./_connection.ts";
import type { WebSocketSessionOptions } from "./_session_options.ts";
import { sessionAccess } from "./_session_access.ts";

export { WebSocketError } from "./errors.ts";
export type { WebSocketSessionOptions } from "./_session_options.ts";

/**
 * What a {@linkcode WebSocketSession} calls for each event of a connection:
 * one object for any number of sessions, one method per event (single
 * dispatch, no closures per connection). Per-connection state goes in
 * `ws.data`.
 *
 * Returned promises are not awaited between messages (so that replies to a
 * burst of messages leave in one write); a rejection, like a throw, fails
 * the connection with 1011 and is reported to `onError`.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example An upper-casing echo handler
 * ```ts
 * import { connect, type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Upper implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(typeof data === "string" ? data.toUpperCase() : data);
 *   }
 * }
 * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Upper());
 * const serving = server.serve();
 * const ws = await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * await ws.send("hello");
 * for await (const message of ws) {
 *   equal(message, "HELLO");
 *   break; // leaving the loop closes the connection
 * }
 * await server.shutdown();
 * await serving;
 * ```
 */
export interface WebSocketHandler<T = unknown> {
  /**
   * The session started (the handshake is done). Messages wait until a
   * returned promise settles.
   *
   * @param ws The session.
   */
  onOpen?(ws: WebSocketSession<T>): void | Promise<void>;
  /**
   * A complete message arrived.
   *
   * @param ws The session.
   * @param data A string for a text message, a `Uint8Array` for a binary
   * one: owned by the handler (its `.buffer` holds only this message), or,
   * with the `borrowMessages` option, a view valid only during the call.
   */
  onMessage(ws: WebSocketSession<T>, data: string | Uint8Array): void | Promise<void>;
  /**
   * Optional: when defined, text messages arrive here as their UTF-8 bytes
   * (already validated) instead of as strings to `onMessage`, and no string
   * is made. For handlers that relay text without reading it; pass the bytes
   * to {@linkcode WebSocketSession.prototype.sendText}.
   *
   * @param ws The session.
   * @param bytes The message: a view valid only during the call (copy it to
   * keep it).
   */
  onText?(ws: WebSocketSession<T>, bytes: Uint8Array): void | Promise<void>;
  /**
   * The TCP connection closed; called once, last.
   *
   * @param ws The session.
   * @param code The peer's close code, 1005 if its close frame had none, the
   * code this side sent if it failed the connection, or 1006 if the
   * connection ended without a close frame.
   * @param reason The close reason, possibly empty.
   */
  onClose?(ws: WebSocketSession<T>, code: number, reason: string): void;
  /**
   * A ping arrived; the pong was already queued.
   *
   * @param ws The session.
   * @param data The ping payload (a copy).
   */
  onPing?(ws: WebSocketSession<T>, data: Uint8Array): void;
  /**
   * A pong arrived.
   *
   * @param ws The session.
   * @param data The pong payload (a copy).
   */
  onPong?(ws: WebSocketSession<T>, data: Uint8Array): void;
  /**
   * The connection failed: a protocol violation by the peer, a limit, a
   * timeout, a handler error or an I/O error. `onClose` follows.
   *
   * @param ws The session.
   * @param error What happened; `error.code` is stable.
   */
  onError?(ws: WebSocketSession<T>, error: WebSocketError): void;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** Options of {@linkcode WebSocketSession.prototype.send}. */
export interface SendOptions {
  /**
   * With permessage-deflate negotiated: `true` compresses the message
   * whatever its size, `false` sends it uncompressed.
   *
   * @default {the context's threshold decides}
   */
  compress?: boolean;
}

/**
 * One WebSocket connection after the opening handshake: reads frames from a
 * `Deno.Conn` (starting with the bytes already read past the HTTP head),
 * answers pings, enforces RFC 6455 and the limits, and delivers messages to
 * a {@linkcode WebSocketHandler} (or, with no handler, to an async
 * iterator). It is also the handle its server holds: `done` settles when it
 * has ended, `shutdown()` closes it gracefully.
 *
 * Outgoing frames are written into a buffer: frames sent while a write is
 * in flight leave together in the next syscall. `send()` resolves once its
 * bytes were handed to the kernel; above `highWaterMark` of queued output it
 * waits or closes (1008) as `backpressure` says. Incoming payloads too large
 * for the read buffer are read straight into the message buffer. A
 * connection whose peer has sent nothing yet holds a 256-byte read buffer,
 * an idle one no write buffer, and no session holds a suspended async
 * function between reads.
 *
 * Binary messages are delivered as arrays the handler owns; the
 * `borrowMessages` option trades that for views valid only during the call.
 *
 * @typeParam T The type of {@linkcode WebSocketSession.prototype.data}.
 *
 * @example Serving one upgraded connection (a server does this after the 101)
 * ```ts
 * import { buildFrame, Opcode, type WebSocketHandler, WebSocketSession } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * listener.close();
 * // The bytes the server read past the request head: here, a whole frame.
 * const buffered = buildFrame(Opcode.Text, new TextEncoder().encode("hi"), { mask: true });
 * const session = new WebSocketSession(conn, buffered, new Echo(), { role: "server" });
 * session.run();
 *
 * const echo = new Uint8Array(4);
 * for (let n = 0; n < 4;) n += (await client.read(echo.subarray(n)))!;
 * deepEqual([...echo], [0x81, 2, 0x68, 0x69]); // "hi" in an unmasked text frame
 * await client.write(buildFrame(Opcode.Close, new Uint8Array([0x03, 0xe8]), { mask: true }));
 * await session.done; // the close was echoed and TCP closed
 * equal(session.closeCode, 1000);
 * client.close();
 * ```
 */
export class WebSocketSession<T = unknown> implements ConnectionHandle {
  /** Per-connection application data, set at construction. */
  data: T;
  #c: Connection<WebSocketSession<T>>;

  // The topics hub (topics.ts) frames a publish once and stages the same bytes in each
  // subscriber's sender.
  static {
    sessionAccess.senderOf = (s) => (s as WebSocketSession).#c.sender;
  }

  /**
   * Wraps an upgraded connection. Nothing is read until
   * {@linkcode WebSocketSession.prototype.run}.
   *
   * @param conn The connection, after the opening handshake.
   * @param buffered Bytes already read from `conn` past the handshake head;
   * they are processed first (copied).
   * @param handler Receives the events; `null` to read messages with
   * `for await` instead.
   * @param options Role, limits, timeouts and backpressure.
   * @param data The initial value of `data`.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(
    conn: Deno.Conn,
    buffered: Uint8Array,
    handler: WebSocketHandler<T> | null,
    options: WebSocketSessionOptions = {},
    data?: T,
  ) {
    this.data = data as T;
    this.#c = new Connection<WebSocketSession<T>>(this, conn, buffered, handler, options);
  }

  /**
   * Settles (never rejects) once the session has ended: its TCP connection
   * is closed and the handler's `onClose` was called. The same promise as
   * {@linkcode WebSocketSession.prototype.run} returns.
   *
   * @returns The promise.
   */
  get done(): Promise<void> {
    return this.#c.done;
  }

  /**
   * Asks the session to call `listener.connectionEnded(session)` once it has
   * ended (right after `done` settles), in place of a reaction on `done`: an
   * accept loop holding many idle sessions then holds no promise per
   * session. Each listener is told once, and listeners added by the server
   * that made the session and by the application are all kept; one added
   * after the end is told at once. `done` keeps working.
   *
   * @example Learning of the end without a promise
   * ```ts
   * import { type WebSocketHandler, WebSocketSession } from "@coroio/ws";
   * import type { ConnectionHandle } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class Quiet implements WebSocketHandler {
   *   onMessage(): void {}
   * }
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const conn = await listener.accept();
   * listener.close();
   * const session = new WebSocketSession(conn, new Uint8Array(0), new Quiet());
   * const ended: ConnectionHandle[] = [];
   * session.onEnd({ connectionEnded: (handle) => ended.push(handle) });
   * session.run();
   * client.close(); // the peer goes away without a close frame
   * await session.done;
   * equal(ended[0], session);
   * equal(session.closeCode, 1006);
   * ```
   *
   * @param listener Told when the session has ended.
   */
  onEnd(listener: ConnectionEndListener): void {
    this.#c.onEnd(listener);
  }

  /**
   * The connection state: 0 connecting (before `run()`), 1 open, 2 closing,
   * 3 closed (see {@linkcode ReadyState}).
   *
   * @returns The state.
   */
  get readyState(): ReadyState {
    return this.#c.state;
  }

  /**
   * Bytes queued by `send()` and not yet handed to the kernel.
   *
   * @returns The count.
   */
  get bufferedAmount(): number {
    return this.#c.buffered;
  }

  /**
   * The subprotocol agreed in the handshake, or `""`.
   *
   * @returns The protocol.
   */
  get protocol(): string {
    return this.#c.protocol;
  }

  /**
   * The extensions agreed in the handshake (`Sec-WebSocket-Extensions`), for
   * example `"permessage-deflate; server_no_context_takeover"`, or `""`.
   *
   * @returns The extensions.
   */
  get extensions(): string {
    return this.#c.extensions;
  }

  /**
   * The close code, as `onClose` reports it (1006 until a close frame
   * arrived or was sent for a failure).
   *
   * @returns The code.
   */
  get closeCode(): number {
    return this.#c.code;
  }

  /**
   * The close reason, as `onClose` reports it.
   *
   * @returns The reason, possibly empty.
   */
  get closeReason(): string {
    return this.#c.reason;
  }

  /**
   * Runs the session: processes the buffered bytes, then reads the socket
   * until the connection ends. Calling it again returns the same promise.
   *
   * @returns {@linkcode WebSocketSession.prototype.done}: it resolves (never
   * rejects) once the TCP connection is closed and `onClose` was called.
   */
  run(): Promise<void> {
    this.#c.run();
    return this.done;
  }

  /**
   * Sends a message: a string as text, bytes as binary. Nothing is sent once
   * the close handshake started (the call resolves and the data is dropped).
   *
   * @param data The message. Bytes are copied; the caller may reuse them.
   * @param options `compress`: with permessage-deflate negotiated, `true`
   * compresses this message whatever its size, `false` sends it
   * uncompressed; unset, the context's threshold decides. Without
   * compression negotiated it has no effect.
   * @returns A promise that resolves once the frame was handed to the kernel
   * (or dropped because the connection closed); it never rejects.
   * @throws {TypeError} If `data` is neither a string nor a `Uint8Array`.
   */
  send(data: string | Uint8Array, options?: SendOptions): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError("Cannot send: data must be a string or a Uint8Array");
    }
    return this.#c.sender.send(data, options?.compress);
  }

  /**
   * Sends UTF-8 bytes as a text message, without making a string: for
   * example the bytes a handler's `onText` received. Otherwise as
   * {@linkcode WebSocketSession.prototype.send}.
   *
   * @example Relaying text as bytes
   * ```ts
   * import { connect, type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class TextEcho implements WebSocketHandler {
   *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
   *     ws.send(data); // binary messages
   *   }
   *   onText(ws: WebSocketSession, bytes: Uint8Array): void {
   *     ws.sendText(bytes); // text messages, as validated bytes
   *   }
   * }
   * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new TextEcho());
   * const serving = server.serve();
   * const ws = await connect(`ws://127.0.0.1:${server.addr.port}/`);
   * await ws.send("h\u00e9llo");
   * for await (const message of ws) {
   *   equal(message, "h\u00e9llo"); // still text for the client
   *   break;
   * }
   * await server.shutdown();
   * await serving;
   * ```
   *
   * @param bytes The message. Copied; the caller may reuse them.
   * @param options As for `send()`.
   * @returns A promise that resolves once the frame was handed to the kernel
   * (or dropped because the connection closed); it never rejects.
   * @throws {TypeError} If `bytes` is not a `Uint8Array` of valid UTF-8.
   */
  sendText(bytes: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError("Cannot send text: data must be a Uint8Array");
    }
    return this.#c.sender.sendText(bytes, options?.compress);
  }

  /**
   * Sends a ping. Pongs (and any other bytes) count as activity for the idle
   * timeout.
   *
   * @param data The payload, at most 125 bytes.
   * @returns A promise that resolves once the frame was handed to the kernel;
   * it never rejects.
   * @throws {RangeError} If the payload is longer than 125 bytes.
   */
  ping(data: string | Uint8Array = EMPTY): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > 125) {
      throw new RangeError(`Cannot ping: payload is ${bytes.length} bytes, the limit is 125`);
    }
    return this.#c.sender.control(0x89, bytes);
  }

  /**
   * Starts the closing handshake: sends a close frame, then waits for the
   * peer's (at most `closeTimeout`) and closes TCP. Calling it again, or
   * after the peer started closing, only waits.
   *
   * @param code The close code: 1000, 1001-1003, 1007-1014 or 3000-4999.
   * @param reason A reason of at most 123 UTF-8 bytes.
   * @returns A promise that resolves once the session ended (or, before
   * `run()`, once the close frame was written); it never rejects.
   * @throws {RangeError} If the code may not be sent or the reason is too
   * long.
   */
  close(code: number = 1000, reason: string = ""): Promise<void> {
    if (!isValidCloseCode(code)) {
      throw new RangeError(`Cannot close: code ${code} may not be sent in a close frame`);
    }
    const bytes = reason === "" ? EMPTY : encoder.encode(reason);
    if (bytes.length > 123) {
      throw new RangeError(`Cannot close: reason is ${bytes.length} bytes, the limit is 123`);
    }
    return this.#c.close(code, bytes);
  }

  /**
   * Graceful server shutdown: starts the closing handshake with 1001
   * "server shutting down" (unless a close frame was already sent) and
   * starts the session if `run()` was not called, so that `done` settles
   * once the peer answered or `closeTimeout` passed. Idempotent; never
   * throws, and returns nothing to await or to reject: wait for `done`.
   *
   * @example Shutting a session down
   * ```ts
   * import { buildFrame, Opcode, type WebSocketHandler, WebSocketSession } from "@coroio/ws";
   * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
   *
   * class Quiet implements WebSocketHandler {
   *   onMessage(): void {}
   * }
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const conn = await listener.accept();
   * listener.close();
   * const session = new WebSocketSession(conn, new Uint8Array(0), new Quiet());
   * session.run();
   * session.shutdown();
   * session.shutdown(); // again: nothing more happens
   *
   * const close = new Uint8Array(24); // 2-byte header, code 1001, 20-byte reason
   * for (let n = 0; n < close.length;) n += (await client.read(close.subarray(n)))!;
   * deepEqual([close[0], close[1], close[2], close[3]], [0x88, 22, 0x03, 0xe9]);
   * equal(new TextDecoder().decode(close.subarray(4)), "server shutting down");
   * await client.write(buildFrame(Opcode.Close, close.subarray(2), { mask: true }));
   * await session.done;
   * equal(session.closeCode, 1001);
   * client.close();
   * ```
   */
  shutdown(): void {
    try {
      this.#c.shutdown();
    } catch {
      // Nothing to report to: the session fails and ends on its own.
    }
  }

  /**
   * Iterates over incoming messages, for sessions created without a
   * handler. The iteration ends when the connection closes; leaving the loop
   * early closes the connection (1000).
   *
   * @returns The iterator.
   * @throws {TypeError} If the session has a handler.
   */
  [Symbol.asyncIterator](): AsyncIterator<string | Uint8Array> {
    const queue = this.#c.queue;
    if (queue === null) {
      throw new TypeError("Cannot iterate: this session delivers messages to a handler");
    }
    return queue;
  }
}
