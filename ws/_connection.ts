// The state machine behind a WebSocketSession: the connection state, the
// opening (onOpen), handler dispatch, the close handshake, failure and the
// end. It is its own keepalive timers (a Keepalive subclass: one object
// per session, not two), composes the receiver, the sender and (with no
// handler) the message queue, and is the host each of them reports to
// (ReceiverHost, which takes the parser's events as a FrameSink, SenderHost,
// KeepaliveHost, MessageQueueHost). The public class in session.ts holds it
// in a private field: nothing here is part of the package's API.
import { type ConnectionEndListener, type ConnectionHandle, isClosedError } from "@coroio/core";
import { isValidCloseCode } from "./close_code.ts";
import { isValidUtf8 } from "./utf8_validator.ts";
import { decodeUtf8 } from "./_text.ts";
import { ReadyState } from "./constants.ts";
import { ErrorCode, protocolError, WebSocketError } from "./errors.ts";
import { MessageQueue, type MessageQueueHost } from "./_iterator.ts";
import { Keepalive, type KeepaliveHost } from "./_keepalive.ts";
import { Receiver, type ReceiverHost } from "./_receiver.ts";
import { Sender, type SenderHost } from "./_sender.ts";
import {
  type SessionConfig,
  sessionConfig,
  type WebSocketSessionOptions,
} from "./_session_options.ts";

/**
 * The handler as the connection calls it, `S` being the public session
 * (`WebSocketHandler<T>` in session.ts is this with the session type filled
 * in; this file does not import session.ts).
 */
export interface SessionHandler<S> {
  onOpen?(ws: S): void | Promise<void>;
  onMessage(ws: S, data: string | Uint8Array): void | Promise<void>;
  onText?(ws: S, bytes: Uint8Array): void | Promise<void>;
  onClose?(ws: S, code: number, reason: string): void;
  onPing?(ws: S, data: Uint8Array): void;
  onPong?(ws: S, data: Uint8Array): void;
  onError?(ws: S, error: WebSocketError): void;
}

// Bits of Connection.#flags.
const F_CLIENT = 1;
const F_STARTED = 2;
const F_CLOSE_RECV = 4;
const F_FAILED = 8;
const F_HALF_CLOSED = 16;
const F_TCP_CLOSED = 32;
/** Binary messages go to the handler as the parser made them (shared views). */
const F_BORROW = 64;
/** Above the high-water mark `send()` fails the connection (backpressure "close"). */
const F_CLOSE_ON_BP = 128;
/** The session ended: `done` settled and the end listener was told. */
const F_ENDED = 256;

const EMPTY = new Uint8Array(0);
const RESOLVED: Promise<void> = Promise.resolve();
const SHUTDOWN_CODE = 1001;
const SHUTDOWN_REASON = new TextEncoder().encode("server shutting down");

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === "object" &&
    typeof (v as PromiseLike<unknown>).then === "function";
}

/** What is told of a session's end: `done`'s resolve, or a listener. */
type End = (() => void) | ConnectionEndListener;

/** Several told of one end (rare: `done` asked for as well, or more listeners). */
class EndFan implements ConnectionEndListener {
  readonly #ends: End[];
  constructor(first: End, second: End) {
    this.#ends = [first, second];
  }
  add(end: End): void {
    this.#ends.push(end);
  }
  connectionEnded(handle: ConnectionHandle): void {
    // Every one is told, even when one throws (a server's listener frees
    // the connection's slot); the first error is rethrown after.
    let failed = false;
    let error: unknown;
    for (const end of this.#ends) {
      try {
        if (typeof end === "function") end();
        else end.connectionEnded(handle);
      } catch (err) {
        if (!failed) error = err;
        failed = true;
      }
    }
    if (failed) throw error;
  }
}

/** `current` and `end` both told of the end. */
function addEnd(current: End | null, end: End): End {
  if (current === null) return end;
  if (current instanceof EndFan) {
    current.add(end);
    return current;
  }
  return new EndFan(current, end);
}

/**
 * One session's state, close handshake and handler dispatch.
 *
 * What an idle session does not use is made on first use: the sender (and
 * its write buffer) with the first frame to send, the `done` promise when
 * someone asks for it (a server's accept loop is told through `onEnd()`
 * instead, and no promise is made).
 */
export class Connection<S> extends Keepalive
  implements ReceiverHost, SenderHost, KeepaliveHost, MessageQueueHost {
  readonly receiver: Receiver;
  /** The queue of a session without a handler (`for await`). */
  readonly queue: MessageQueue | null;
  state: ReadyState = ReadyState.Connecting;
  code = 1006;
  reason = "";
  #session: S;
  #handler: SessionHandler<S> | null;
  #conn: Deno.Conn;
  /** Booleans, as F_* bits. */
  #flags = 0;
  #sender: Sender | null = null;
  /** The checked options, shared with the other sessions made with the same options. */
  #config: SessionConfig;
  #done: Promise<void> | null = null;
  /** Told when the session ended: `done`'s resolve, or a listener (see `onEnd()`). */
  #onEnd: End | null = null;
  #onRejected: ((err: unknown) => void) | null = null;

  /** @throws {RangeError} If an option is out of range. */
  constructor(
    session: S,
    conn: Deno.Conn,
    buffered: Uint8Array,
    handler: SessionHandler<S> | null,
    options: WebSocketSessionOptions,
  ) {
    const config = sessionConfig(options);
    super(config.keepalive);
    this.#config = config;
    this.#session = session;
    this.#conn = conn;
    this.#handler = handler;
    if (config.client) this.#flags |= F_CLIENT;
    if (config.borrowMessages && handler !== null) this.#flags |= F_BORROW;
    if (config.closeOnBackpressure) this.#flags |= F_CLOSE_ON_BP;
    this.receiver = new Receiver(
      conn,
      buffered,
      this,
      handler === null
        ? config.queueReceiver
        : typeof handler.onText === "function"
        ? config.textReceiver
        : config.receiver,
    );
    this.queue = handler === null ? new MessageQueue(this) : null;
  }

  /** Settles once the session ended and TCP is closed; never rejects. */
  get done(): Promise<void> {
    if (this.#done === null) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#done = promise;
      this.#onEnd = addEnd(this.#onEnd, resolve);
    }
    return this.#done;
  }

  /**
   * Calls `listener.connectionEnded(session)` once the session ended (after
   * `done` settled), or at once if it has: see `ConnectionHandle.onEnd`.
   */
  onEnd(listener: ConnectionEndListener): void {
    if ((this.#flags & F_ENDED) !== 0) {
      listener.connectionEnded(this.#session as ConnectionHandle);
      return;
    }
    this.#onEnd = addEnd(this.#onEnd, listener);
  }

  /** The subprotocol agreed in the handshake, or `""`. */
  get protocol(): string {
    return this.#config.protocol;
  }

  /** The extensions agreed in the handshake, or `""`. */
  get extensions(): string {
    return this.#config.extensions;
  }

  /** The sender, made on first use (an idle session has none, nor a write buffer). */
  get sender(): Sender {
    return this.#sender ?? this.#newSender();
  }

  #newSender(): Sender {
    const f = this.#flags;
    const sender = new Sender(this.#conn, this, {
      mask: (f & F_CLIENT) !== 0,
      highWaterMark: this.#config.highWaterMark,
      closeOnBackpressure: (f & F_CLOSE_ON_BP) !== 0,
      deflate: this.#config.deflate,
    });
    if ((f & F_TCP_CLOSED) !== 0) sender.closed = true;
    this.#sender = sender;
    return sender;
  }

  /** Whether no more frames may be sent (see `Sender.closed`), without making a sender. */
  get #senderClosed(): boolean {
    const s = this.#sender;
    return s !== null ? s.closed : (this.#flags & F_TCP_CLOSED) !== 0;
  }

  /** Bytes queued and not yet handed to the kernel. */
  get buffered(): number {
    const s = this.#sender;
    return s === null ? 0 : s.buffered;
  }

  /** Whether `run()` was called. */
  get started(): boolean {
    return (this.#flags & F_STARTED) !== 0;
  }

  // ---- opening ----

  /** Starts the session (once): onOpen, then the read loop. */
  run(): void {
    if ((this.#flags & F_STARTED) !== 0) return;
    this.#flags |= F_STARTED;
    const closing = this.#senderClosed;
    this.state = closing ? ReadyState.Closing : ReadyState.Open;
    this.start(closing);
    const handler = this.#handler;
    if (handler !== null && handler.onOpen !== undefined) {
      try {
        const r = handler.onOpen(this.#session);
        if (isThenable(r)) {
          this.#opening(r);
          return;
        }
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
    this.receiver.start();
  }

  async #opening(r: PromiseLike<unknown>): Promise<void> {
    this.receiver.hold();
    try {
      await r;
    } catch (err) {
      this.#handlerFailed(err);
    }
    this.receiver.start();
  }

  // ---- the close handshake ----

  /** Sends a close frame (once) and waits for the end; see `WebSocketSession.close()`. */
  close(code: number, reason: Uint8Array): Promise<void> {
    if (!this.sender.closed) {
      this.sender.close(code, reason);
      if (this.state !== ReadyState.Closed) this.state = ReadyState.Closing;
      this.closing();
      this.sender.flush();
      this.receiver.resume();
    }
    if ((this.#flags & F_STARTED) !== 0) return this.done;
    return this.#sender === null ? RESOLVED : this.#sender.flush();
  }

  /** Graceful server shutdown: close 1001, started if it was not. Never throws. */
  shutdown(): void {
    if (this.state === ReadyState.Closed) return;
    this.close(SHUTDOWN_CODE, SHUTDOWN_REASON);
    this.run();
  }

  /** The peer's close frame (from the parser): echo it (unless one was sent) and wait for TCP to close. */
  onClose(code: number, reason: string): void {
    // After a failure the rest of the read is not looked at: a close frame
    // behind a message the session failed on (the parser hands a compressed
    // message on and goes on) must not replace the code it closed with.
    if ((this.#flags & F_FAILED) !== 0) return;
    this.#flags |= F_CLOSE_RECV;
    this.receiver.discard = true;
    this.code = code;
    this.reason = reason;
    if (this.state === ReadyState.Open) this.state = ReadyState.Closing;
    if (!this.sender.closed) this.sender.close(code, EMPTY);
    // A server closes TCP once the echo is flushed; a client waits for the
    // server to close, at most closeTimeout.
    this.closing();
  }

  /** What the read loop does next (see ReceiverHost.beforeRead). */
  beforeRead(): boolean {
    const f = this.#flags;
    if ((f & F_TCP_CLOSED) !== 0) {
      this.#end();
      return false;
    }
    if ((f & (F_CLOSE_RECV | F_FAILED)) !== 0) {
      const sender = this.#sender;
      if (sender !== null && sender.pending) {
        this.receiver.wait(sender.flush());
        return false;
      }
      if ((f & F_FAILED) !== 0) {
        if ((f & F_HALF_CLOSED) === 0) {
          this.#flags |= F_HALF_CLOSED;
          let p: Promise<void>;
          try {
            p = this.#conn.closeWrite();
          } catch {
            this.#end();
            return false;
          }
          this.receiver.wait(p);
          return false;
        }
        // Half closed: read (and drop) until the peer closes or the grace ends.
      } else if ((f & F_CLIENT) === 0) {
        this.#end(); // The server closes TCP first (RFC 6455 section 7.1.1).
        return false;
      }
    } else if (this.#sender !== null && this.#sender.full) {
      this.receiver.wait(this.#sender.flush());
      return false;
    } else if (this.queue !== null && this.queue.full) {
      this.receiver.pause();
      return false;
    }
    return true;
  }

  // ---- failure and the end ----

  /** Fails the connection: close frame with the error's code, grace, TCP close. */
  fail(err: WebSocketError): void {
    if ((this.#flags & (F_FAILED | F_TCP_CLOSED)) !== 0) return;
    this.#flags |= F_FAILED;
    this.receiver.discard = true;
    this.#emitError(err);
    if ((this.#flags & F_CLOSE_RECV) === 0) {
      this.code = err.closeCode;
      this.reason = "";
    }
    if (this.state === ReadyState.Open) this.state = ReadyState.Closing;
    if (!this.#senderClosed && isValidCloseCode(err.closeCode)) {
      this.sender.close(err.closeCode, EMPTY);
      this.sender.flush();
    }
    if ((this.#flags & F_STARTED) === 0) {
      this.#closeConn();
      return;
    }
    this.failing();
    this.receiver.resume();
  }

  invalidInput(err: unknown): void {
    this.fail(
      err instanceof WebSocketError
        ? err
        : protocolError(ErrorCode.HandlerError, (err as Error).message, err),
    );
  }

  readEnded(): void {
    this.#end();
  }

  inPass(active: boolean): void {
    if (active) this.sender.batch(true);
    else if (this.#sender !== null) this.#sender.batch(false);
  }

  /** An unexpected error in the loop (a read error, most likely): report and end. */
  readFailed(err: unknown): void {
    if ((this.#flags & F_TCP_CLOSED) === 0 && !isClosedError(err)) {
      this.#emitError(protocolError(ErrorCode.IoError, (err as Error).message, err));
    }
    this.#end();
  }

  /** A write failed: nothing more can be sent; report it unless the close caused it. */
  writeFailed(err: unknown): void {
    if ((this.#flags & F_TCP_CLOSED) !== 0) return;
    const cause = (err as Error).cause ?? err;
    if (!isClosedError(cause)) {
      this.#emitError(protocolError(ErrorCode.IoError, (cause as Error).message, cause));
    }
    this.#closeConn();
  }

  slowConsumer(queued: number): void {
    this.fail(protocolError(ErrorCode.SlowConsumer, `${queued} bytes queued`));
  }

  #end(): void {
    if (!this.receiver.stop()) return;
    this.#finish();
  }

  async #finish(): Promise<void> {
    try {
      this.state = ReadyState.Closed;
      this.stop();
      this.#closeConn();
      const flushing = this.#sender === null ? null : this.#sender.dispose();
      if (flushing !== null) await flushing;
      // Nothing is pending in zlib (its calls are synchronous): free both contexts.
      this.#config.deflate?.close();
      if (this.queue !== null) this.queue.end();
      const handler = this.#handler;
      if (handler !== null && handler.onClose !== undefined) {
        try {
          handler.onClose(this.#session, this.code, this.reason);
        } catch {
          // The connection is gone; nothing to fail.
        }
      }
    } finally {
      const end = this.#onEnd;
      this.#onEnd = null;
      this.#flags |= F_ENDED;
      if (this.#done === null) this.#done = RESOLVED;
      if (typeof end === "function") end();
      else if (end !== null) end.connectionEnded(this.#session as ConnectionHandle);
    }
  }

  #closeConn(): void {
    if ((this.#flags & F_TCP_CLOSED) !== 0) return;
    this.#flags |= F_TCP_CLOSED;
    if (this.#sender !== null) this.#sender.closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.receiver.resume();
  }

  // ---- handler dispatch ----

  /**
   * A permessage-deflate message from the parser: inflate it (bounded by
   * maxMessageSize as the output is produced: 1009 past it, 1007 for bad
   * data), check text as UTF-8 (1007), then dispatch it like any message.
   */
  onCompressedMessage(text: boolean, payload: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    const maxMessage = this.#config.maxMessage;
    const out = this.#config.deflate!.decompress(payload, maxMessage);
    if (!(out instanceof Uint8Array)) {
      this.fail(
        out.kind === "too-big"
          ? protocolError(ErrorCode.MessageTooBig, `inflated past ${maxMessage} bytes`)
          : protocolError(ErrorCode.InvalidCompressedData, out.reason),
      );
      return;
    }
    if (!text) {
      this.onMessage(out);
      return;
    }
    if (this.#handler?.onText !== undefined) {
      if (!isValidUtf8(out)) {
        this.fail(protocolError(ErrorCode.InvalidUtf8, "inflated text"));
        return;
      }
      this.onText(out);
      return;
    }
    let s: string;
    try {
      s = decodeUtf8(out, 0, out.length);
    } catch (err) {
      this.fail(protocolError(ErrorCode.InvalidUtf8, "inflated text", err));
      return;
    }
    this.onMessage(s);
  }

  /** A message from the parser: to the handler or the queue. */
  onMessage(data: string | Uint8Array): void {
    const f = this.#flags;
    if ((f & F_FAILED) !== 0) return;
    // Binary data is owned here (the parser slices it, the inflater copies
    // its output) unless the session lends messages (borrowMessages).
    const handler = this.#handler;
    if (handler === null) {
      this.queue!.push(data);
      return;
    }
    try {
      const r = handler.onMessage(this.#session, data);
      if (r !== undefined && isThenable(r)) {
        r.then(undefined, this.#onRejected ??= this.#handlerFailed.bind(this));
      }
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  /** A text message as validated bytes (the handler has onText). */
  onText(bytes: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    try {
      const r = this.#handler!.onText!(this.#session, bytes);
      if (r !== undefined && isThenable(r)) {
        r.then(undefined, this.#onRejected ??= this.#handlerFailed.bind(this));
      }
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  /** A ping: answered with a pong (unless closing), then reported. */
  onPing(payload: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    this.sender.control(0x8a, payload);
    const handler = this.#handler;
    if (handler !== null && handler.onPing !== undefined) {
      try {
        handler.onPing(this.#session, payload.slice());
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
  }

  /** A pong: reported. */
  onPong(payload: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    const handler = this.#handler;
    if (handler !== null && handler.onPong !== undefined) {
      try {
        handler.onPong(this.#session, payload.slice());
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
  }

  #emitError(err: WebSocketError): void {
    const handler = this.#handler;
    if (handler === null || handler.onError === undefined) return;
    try {
      handler.onError(this.#session, err);
    } catch {
      // An error handler that throws has nowhere to report to.
    }
  }

  #handlerFailed(err: unknown): void {
    this.fail(
      protocolError(
        ErrorCode.HandlerError,
        err instanceof Error ? err.message : String(err),
        err,
      ),
    );
  }

  // ---- keepalive and message queue hosts ----

  takeActivity(): boolean {
    const active = this.receiver.active;
    this.receiver.active = false;
    return active;
  }

  idlePing(): boolean {
    if (this.#senderClosed || (this.#flags & F_FAILED) !== 0) return false;
    this.sender.control(0x89, EMPTY);
    return true;
  }

  pongTimedOut(): void {
    this.#emitError(protocolError(ErrorCode.PongTimeout));
    this.#closeConn();
  }

  closeTimedOut(): void {
    this.#closeConn();
  }

  ended(): boolean {
    return this.state === ReadyState.Closed;
  }

  drained(): void {
    this.receiver.resume();
  }

  leave(): Promise<void> {
    return this.close(1000, EMPTY);
  }
}
