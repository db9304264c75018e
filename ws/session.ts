import { BufWriter, type Deadlines, type Expirable, isClosedError } from "@coroio/core";
import { isValidCloseCode } from "./close_code.ts";
import { ReadyState } from "./constants.ts";
import { ErrorCode, protocolError, WebSocketError } from "./errors.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import { headerLength, writeHeader } from "./_frame.ts";
import { randomKey, xorRange } from "./_mask.ts";
import { acquireDeadlines, releaseDeadlines } from "./_shared_deadlines.ts";

export { WebSocketError } from "./errors.ts";

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
 * @example An echo handler
 * ```ts
 * import type { WebSocketHandler, WebSocketSession } from "@coroio/ws";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * console.log(typeof new Echo().onMessage); // "function"
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
   * @param data A string for a text message, a `Uint8Array` (owned by the
   * handler) for a binary one.
   */
  onMessage(ws: WebSocketSession<T>, data: string | Uint8Array): void | Promise<void>;
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

/** Options for {@linkcode WebSocketSession}. */
export interface WebSocketSessionOptions {
  /**
   * Which side of the connection this is. A server expects masked frames and
   * closes TCP first; a client masks its frames.
   *
   * @default {"server"}
   */
  role?: "server" | "client";
  /**
   * Largest message, in bytes, summed over its fragments. Larger: close 1009.
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Largest frame payload, in bytes. Larger: close 1009.
   *
   * @default {maxMessageSize}
   */
  maxFrameSize?: number;
  /**
   * Most frames in one message. More: close 1009.
   *
   * @default {65536}
   */
  maxFragments?: number;
  /**
   * After this many milliseconds without incoming bytes a ping is sent; 0
   * disables. Checked coarsely: a silent peer is pinged between one and two
   * idle periods after its last bytes.
   *
   * @default {60000}
   */
  idleTimeout?: number;
  /**
   * How long, in milliseconds, to wait for any bytes (a pong or anything
   * else) after an idle ping before closing the connection as dead.
   *
   * @default {30000}
   */
  pongTimeout?: number;
  /**
   * How long, in milliseconds, to wait for the peer's close frame after
   * sending one (and, as a client, for the server to close TCP) before
   * closing TCP anyway. After a protocol error the grace period is the
   * smaller of this and one second.
   *
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * Bytes of queued output (not yet handed to the kernel) above which
   * `backpressure` applies. Reading also pauses while the queue is above it.
   *
   * @default {1048576}
   */
  highWaterMark?: number;
  /**
   * What `send()` does when the queue is above `highWaterMark`: `"wait"`
   * until it drains before queuing, or `"close"` the connection with 1008
   * (a slow consumer).
   *
   * @default {"wait"}
   */
  backpressure?: "wait" | "close";
  /**
   * The subprotocol agreed in the handshake, reported by `protocol`.
   *
   * @default {""}
   */
  protocol?: string;
  /**
   * The deadline set for idle, pong and close timeouts.
   *
   * @default {a process-wide set with a 250 ms resolution}
   */
  deadlines?: Deadlines;
  /**
   * Read buffer size in bytes. A new session starts with at most 256 bytes
   * (a connection that never sends costs little) and doubles the buffer
   * while reads fill it, up to 64 KiB or this size if larger; once drained
   * after a small read it goes back to this size. Payloads too large for it
   * are read straight into the message buffer instead.
   *
   * @default {1024}
   */
  readBufferSize?: number;
}

const T_NONE = 0;
const T_IDLE = 1;
const T_PONG = 2;
const T_CLOSE = 3;
const T_FAIL = 4;

/** Messages queued for the async iterator before reading pauses. */
const QUEUE_MAX = 64;
const FAIL_GRACE_MAX = 1000;
const MAX_READ = 65536;
/** The read buffer of a new session, until reads fill it. */
const FIRST_READ = 256;

// Bits of WebSocketSession.#flags.
const F_CLIENT = 1;
const F_CLOSE_ON_BP = 2;
const F_CLOSE_SENT = 4;
const F_CLOSE_RECV = 8;
const F_FAILED = 16;
const F_HALF_CLOSED = 32;
const F_TCP_CLOSED = 64;
/** Bytes arrived since the idle timer last looked. */
const F_ACTIVE = 128;
/** The last read filled the read buffer (with whole frames). */
const F_R_FILLED = 256;
/** The pending read goes straight into the parser's message buffer. */
const F_DIRECT = 512;

// What the read loop waits for.
const P_IDLE = 0;
const P_READ = 1;
const P_WAIT = 2;
const P_PAUSED = 3;
const P_DONE = 4;

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const SCRATCH = new Uint8Array(65536);
const SCRATCH_CHARS = SCRATCH.length / 3;
const SHORT_TEXT = 64;
const SHORT_BYTES = new Uint8Array(SHORT_TEXT);
const DONE: IteratorResult<string | Uint8Array> = { value: undefined, done: true };

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0 && v !== Infinity)) {
    throw new RangeError(`Cannot create WebSocketSession: ${name} must be a finite number >= 0`);
  }
  return v;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === "object" &&
    typeof (v as PromiseLike<unknown>).then === "function";
}

/**
 * The parser sink, deadline target and message iterator of one session: a
 * separate object (so that these methods are not part of the session's
 * public API) created by the session's class body, which lets it reach the
 * session's private members.
 */
type Hooks = FrameSink & Expirable & AsyncIterableIterator<string | Uint8Array> & {
  rejected(err: unknown): void;
};
// deno-lint-ignore no-explicit-any
let makeHooks: (s: WebSocketSession<any>) => Hooks;

/** Messages waiting for `for await` (sessions without a handler). */
class IterState {
  queue: (string | Uint8Array)[] = [];
  head = 0;
  waiter: PromiseWithResolvers<IteratorResult<string | Uint8Array>> | null = null;
}

/**
 * One WebSocket connection after the opening handshake: reads frames from a
 * `Deno.Conn` (starting with bytes already read past the HTTP head), answers
 * pings, enforces RFC 6455 and the limits, and delivers messages to a
 * {@linkcode WebSocketHandler} (or, with no handler, to an async iterator).
 *
 * Outgoing frames are written into a {@linkcode BufWriter}: frames sent
 * while a write is in flight leave together in the next syscall. `send()`
 * resolves once its bytes were handed to the kernel; above
 * `highWaterMark` of queued output it waits or closes (1008) as
 * `backpressure` says. Incoming payloads too large for the read buffer are
 * read straight into the message buffer. A connection whose peer has sent
 * nothing yet holds a 256-byte read buffer, an idle one no write buffer,
 * and no session holds a suspended async function between reads.
 *
 * The TCP connection is always closed when `run()` resolves, and the
 * handler's `onClose` has then been called.
 *
 * @typeParam T The type of {@linkcode WebSocketSession.prototype.data}.
 *
 * @example Serving one upgraded connection (the HTTP bridge does this)
 * ```ts ignore
 * import { WebSocketSession, type WebSocketHandler } from "@coroio/ws";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * declare const conn: Deno.Conn; // after "101 Switching Protocols" was written
 * declare const leftover: Uint8Array; // bytes read past the request head
 * await new WebSocketSession(conn, leftover, new Echo(), { role: "server" }).run();
 * ```
 */
export class WebSocketSession<T = unknown> {
  /** Per-connection application data, set at construction. */
  data: T;
  #conn: Deno.Conn;
  /** Booleans of the session, as F_* bits. */
  #flags = 0;
  #rbuf: Uint8Array;
  #rs = 0;
  #re = 0;
  #rInit: number;
  #rLast = 0;
  #step = P_IDLE;
  #onSettle: (v: number | null | Error) => void;
  #onFlushFailed: ((err: unknown) => void) | null = null;
  #resolveRun: (() => void) | null = null;
  #writer: BufWriter<Deno.Conn>;
  #parser: FrameParser;
  #hooks: Hooks;
  #handler: WebSocketHandler<T> | null;
  #protocol: string;
  #idle: number;
  #pongTimeout: number;
  #closeTimeout: number;
  #hwm: number;
  #deadlines: Deadlines | null;
  #ownDeadlines: Deadlines | undefined;
  #state: ReadyState = ReadyState.Connecting;
  #code = 1006;
  #reason = "";
  #timer = T_NONE;
  #running: Promise<void> | null = null;
  #flushing: Promise<void> | null = null;
  /** The message queue of a session without a handler (`for await`). */
  #iter: IterState | null;
  #onRejected: ((err: unknown) => void) | null = null;

  static {
    makeHooks = (s) => new SessionHooks(s);
    // deno-lint-ignore no-explicit-any
    class SessionHooks implements FrameSink, Expirable, AsyncIterableIterator<any> {
      // deno-lint-ignore no-explicit-any
      s: WebSocketSession<any>;
      // deno-lint-ignore no-explicit-any
      constructor(s: WebSocketSession<any>) {
        this.s = s;
      }
      onMessage(data: string | Uint8Array): void {
        this.s.#onMessage(data);
      }
      onPing(payload: Uint8Array): void {
        this.s.#onPing(payload);
      }
      onPong(payload: Uint8Array): void {
        this.s.#onPong(payload);
      }
      onClose(code: number, reason: string): void {
        this.s.#onClose(code, reason);
      }
      expire(now: number): void {
        this.s.#expire(now);
      }
      rejected(err: unknown): void {
        this.s.#handlerFailed(err);
      }
      next(): Promise<IteratorResult<string | Uint8Array>> {
        return this.s.#next();
      }
      async return(): Promise<IteratorResult<string | Uint8Array>> {
        await this.s.close(1000);
        return DONE;
      }
      [Symbol.asyncIterator](): this {
        return this;
      }
    }
  }

  /**
   * Wraps an upgraded connection. Nothing is read until
   * {@linkcode WebSocketSession.prototype.run}.
   *
   * @param conn The connection, after the opening handshake.
   * @param prefix Bytes already read from `conn` past the handshake; they
   * are processed first (copied).
   * @param handler Receives the events; `null` to read messages with
   * `for await` instead.
   * @param options Role, limits, timeouts and backpressure.
   * @param data The initial value of `data`.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(
    conn: Deno.Conn,
    prefix: Uint8Array,
    handler: WebSocketHandler<T> | null,
    options: WebSocketSessionOptions = {},
    data?: T,
  ) {
    this.data = data as T;
    this.#conn = conn;
    this.#handler = handler;
    if ((options.role ?? "server") === "client") this.#flags |= F_CLIENT;
    this.#protocol = options.protocol ?? "";
    this.#idle = nonNegative("idleTimeout", options.idleTimeout, 60000);
    this.#pongTimeout = nonNegative("pongTimeout", options.pongTimeout, 30000);
    this.#closeTimeout = nonNegative("closeTimeout", options.closeTimeout, 5000);
    this.#hwm = nonNegative("highWaterMark", options.highWaterMark, 1048576);
    if (options.backpressure === "close") this.#flags |= F_CLOSE_ON_BP;
    this.#ownDeadlines = options.deadlines;
    this.#deadlines = null;
    const rInit = options.readBufferSize ?? 1024;
    if (!Number.isInteger(rInit) || rInit < 16) {
      throw new RangeError(
        "Cannot create WebSocketSession: readBufferSize must be an integer >= 16",
      );
    }
    this.#rInit = rInit;
    this.#rbuf = new Uint8Array(Math.max(Math.min(rInit, FIRST_READ), prefix.length));
    if (prefix.length > 0) {
      this.#rbuf.set(prefix);
      this.#re = prefix.length;
    }
    this.#onSettle = this.#settle.bind(this);
    this.#writer = new BufWriter(conn);
    this.#hooks = makeHooks(this);
    const parserOptions: {
      role: "server" | "client";
      maxMessageSize?: number;
      maxFrameSize?: number;
      maxFragments?: number;
    } = { role: (this.#flags & F_CLIENT) !== 0 ? "client" : "server" };
    if (options.maxMessageSize !== undefined) parserOptions.maxMessageSize = options.maxMessageSize;
    if (options.maxFrameSize !== undefined) parserOptions.maxFrameSize = options.maxFrameSize;
    if (options.maxFragments !== undefined) parserOptions.maxFragments = options.maxFragments;
    this.#parser = new FrameParser(this.#hooks, parserOptions);
    this.#iter = handler === null ? new IterState() : null;
  }

  /**
   * The connection state: 0 connecting (before `run()`), 1 open, 2 closing,
   * 3 closed (see {@linkcode ReadyState}).
   *
   * @returns The state.
   */
  get readyState(): ReadyState {
    return this.#state;
  }

  /**
   * Bytes queued by `send()` and not yet handed to the kernel.
   *
   * @returns The count.
   */
  get bufferedAmount(): number {
    return this.#writer.buffered;
  }

  /**
   * The subprotocol agreed in the handshake, or `""`.
   *
   * @returns The protocol.
   */
  get protocol(): string {
    return this.#protocol;
  }

  /**
   * The close code, as `onClose` reports it (1006 until a close frame
   * arrived or was sent for a failure).
   *
   * @returns The code.
   */
  get closeCode(): number {
    return this.#code;
  }

  /**
   * The close reason, as `onClose` reports it.
   *
   * @returns The reason, possibly empty.
   */
  get closeReason(): string {
    return this.#reason;
  }

  /**
   * Runs the session: processes the prefix, then reads the socket until the
   * connection ends. Calling it again returns the same promise.
   *
   * @returns A promise that resolves (never rejects) once the TCP connection
   * is closed and `onClose` was called.
   */
  run(): Promise<void> {
    if (this.#running === null) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#running = promise;
      this.#resolveRun = resolve;
      this.#start();
    }
    return this.#running;
  }

  /**
   * Sends a message: a string as text, bytes as binary. Nothing is sent once
   * the close handshake started (the call resolves and the data is dropped).
   *
   * @param data The message. Bytes are copied; the caller may reuse them.
   * @returns A promise that resolves once the frame was handed to the kernel
   * (or dropped because the connection closed); it never rejects.
   * @throws {TypeError} If `data` is neither a string nor a `Uint8Array`.
   */
  send(data: string | Uint8Array): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError("Cannot send: data must be a string or a Uint8Array");
    }
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) !== 0) return RESOLVED;
    if (this.#writer.buffered > this.#hwm) {
      if ((this.#flags & F_CLOSE_ON_BP) !== 0) {
        this.#fail(
          protocolError(ErrorCode.SlowConsumer, `${this.#writer.buffered} bytes queued`),
        );
        return RESOLVED;
      }
      return this.#sendLater(data);
    }
    this.#stage(data);
    return this.#flush();
  }

  async #sendLater(data: string | Uint8Array): Promise<void> {
    while (
      this.#writer.buffered > this.#hwm && (this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) === 0
    ) {
      await this.#flush();
    }
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) !== 0) return;
    this.#stage(data);
    await this.#flush();
  }

  #stage(data: string | Uint8Array): void {
    if (typeof data === "string") {
      if (data.length <= SHORT_TEXT && this.#shortAscii(data)) return;
      if (data.length <= SCRATCH_CHARS) {
        const n = encoder.encodeInto(data, SCRATCH).written;
        this.#frame(0x81, SCRATCH.subarray(0, n));
      } else {
        this.#frame(0x81, encoder.encode(data));
      }
    } else {
      this.#frame(0x82, data);
    }
  }

  /** Frames a short all-ASCII string straight into the write buffer. */
  #shortAscii(s: string): boolean {
    // One pass over the string (charCodeAt is the slow part): check and
    // collect the bytes, then copy them into the frame.
    const n = s.length;
    const bytes = SHORT_BYTES;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      bytes[i] = c;
    }
    const masked = (this.#flags & F_CLIENT) !== 0;
    const key = masked ? randomKey() : 0;
    const h = headerLength(n, masked);
    const dst = this.#writer.reserve(h + n);
    writeHeader(dst, 0, 0x81, n, masked, key);
    for (let i = 0; i < n; i++) dst[h + i] = bytes[i]!;
    if (masked) xorRange(dst, h, h + n, key, 0);
    return true;
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
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) !== 0) return RESOLVED;
    this.#frame(0x89, bytes);
    return this.#flush();
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
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) === 0) {
      this.#sendClose(code, bytes);
      if (this.#state !== ReadyState.Closed) this.#state = ReadyState.Closing;
      this.#arm(T_CLOSE, this.#closeTimeout);
      this.#flush();
      this.#unpause();
    }
    return this.#running ?? this.#flush();
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
    if (this.#handler !== null) {
      throw new TypeError("Cannot iterate: this session delivers messages to a handler");
    }
    return this.#hooks;
  }

  // ---- frames out ----

  #frame(b0: number, payload: Uint8Array): void {
    const len = payload.length;
    const masked = (this.#flags & F_CLIENT) !== 0;
    const key = masked ? randomKey() : 0;
    const h = headerLength(len, masked);
    const dst = this.#writer.reserve(h + len);
    writeHeader(dst, 0, b0, len, masked, key);
    dst.set(payload, h);
    if (masked) xorRange(dst, h, h + len, key, 0);
  }

  #sendClose(code: number, reason: Uint8Array): void {
    this.#flags |= F_CLOSE_SENT;
    if (code === 1005) {
      this.#frame(0x88, EMPTY);
      return;
    }
    const p = new Uint8Array(2 + reason.length);
    p[0] = code >>> 8;
    p[1] = code & 0xff;
    p.set(reason, 2);
    this.#frame(0x88, p);
  }

  #flush(): Promise<void> {
    if (this.#flushing !== null && this.#writer.flushing) return this.#flushing;
    if (this.#writer.buffered === 0) return this.#flushing ?? RESOLVED;
    return this.#flushing = this.#writer.flush().then(
      undefined,
      this.#onFlushFailed ??= this.#flushFailed.bind(this),
    );
  }

  /** A write failed: nothing more can be sent; report it unless the close caused it. */
  #flushFailed(err: unknown): void {
    this.#flags |= F_CLOSE_SENT;
    if ((this.#flags & F_TCP_CLOSED) === 0) {
      const cause = (err as Error).cause ?? err;
      if (!isClosedError(cause)) {
        this.#emitError(protocolError(ErrorCode.IoError, (cause as Error).message, cause));
      }
      this.#closeConn();
    }
  }

  // ---- the read loop ----
  //
  // Not an async function: an idle session holds only its pending read (and
  // the continuation bound once per session), not a suspended frame. Rare
  // waits (onOpen, flushes while closing or above highWaterMark,
  // closeWrite) go through #wait().

  #start(): void {
    this.#deadlines = this.#ownDeadlines ?? acquireDeadlines();
    this.#state = ReadyState.Open;
    this.#arm(T_IDLE, this.#idle);
    const handler = this.#handler;
    if (handler !== null && handler.onOpen !== undefined) {
      try {
        const r = handler.onOpen(this);
        if (isThenable(r)) {
          this.#opening(r);
          return;
        }
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
    this.#opened();
  }

  async #opening(r: PromiseLike<unknown>): Promise<void> {
    this.#step = P_WAIT;
    try {
      await r;
    } catch (err) {
      this.#handlerFailed(err);
    }
    this.#step = P_IDLE;
    this.#opened();
  }

  /** After onOpen: the prefix, then the socket. */
  #opened(): void {
    try {
      if (this.#re > this.#rs && (this.#flags & F_FAILED) === 0) this.#process();
    } catch (err) {
      this.#crash(err);
      return;
    }
    this.#pump();
  }

  /** Decides what the loop does next: read, wait, pause or end. */
  #pump(): void {
    try {
      if ((this.#flags & F_TCP_CLOSED) !== 0) {
        this.#end();
        return;
      }
      if ((this.#flags & (F_CLOSE_RECV | F_FAILED)) !== 0) {
        if (this.#writer.buffered > 0 || this.#writer.flushing) {
          this.#wait(this.#flush());
          return;
        }
        if ((this.#flags & F_FAILED) !== 0) {
          if ((this.#flags & F_HALF_CLOSED) === 0) {
            this.#flags |= F_HALF_CLOSED;
            let p: Promise<void>;
            try {
              p = this.#conn.closeWrite();
            } catch {
              this.#end();
              return;
            }
            this.#wait(p);
            return;
          }
          // Half closed: read (and drop) until the peer closes or T_FAIL.
        } else if ((this.#flags & F_CLIENT) === 0) {
          this.#end(); // The server closes TCP first (RFC 6455 section 7.1.1).
          return;
        }
      } else if (this.#writer.buffered > this.#hwm) {
        this.#wait(this.#flush());
        return;
      } else if (this.#iter !== null && this.#iter.queue.length - this.#iter.head >= QUEUE_MAX) {
        this.#step = P_PAUSED;
        return;
      }
      this.#read();
    } catch (err) {
      this.#crash(err);
    }
  }

  /** Waits for `p` off the hot path, then goes on; a rejection (only closeWrite) ends. */
  async #wait(p: Promise<void>): Promise<void> {
    this.#step = P_WAIT;
    try {
      await p;
    } catch {
      this.#step = P_IDLE;
      this.#end();
      return;
    }
    this.#step = P_IDLE;
    this.#pump();
  }

  /** Resumes a loop paused by a full iterator queue (or to see a close). */
  #unpause(): void {
    if (this.#step === P_PAUSED) this.#wait(RESOLVED);
  }

  /**
   * Starts a read: into the read buffer, or, when the rest of a data frame's
   * payload would fill the read buffer anyway, straight into the message
   * buffer (no copy, and no read buffer growth for large messages).
   */
  #read(): void {
    let view: Uint8Array | null = null;
    if (this.#rs === this.#re) view = this.#parser.payloadTarget(this.#rbuf.length);
    if (view !== null) {
      this.#flags |= F_DIRECT;
    } else {
      this.#flags &= ~F_DIRECT;
      view = this.#room();
    }
    this.#step = P_READ;
    this.#conn.read(view).then(this.#onSettle, this.#onSettle);
  }

  /**
   * Makes room in the read buffer and returns the view to read into. The
   * buffer doubles (up to 64 KiB) after a read of whole frames that filled
   * it, and goes back to its initial size when drained after a small read.
   * What is left unconsumed is at most a partial frame header or control
   * frame.
   */
  #room(): Uint8Array {
    let buf = this.#rbuf;
    const cap = buf.length;
    const rs = this.#rs;
    const len = this.#re - rs;
    let next = cap;
    if ((this.#flags & F_R_FILLED) !== 0) {
      if (cap < MAX_READ || cap < this.#rInit) next = cap * 2;
    } else if (len === 0 && cap > this.#rInit && this.#rLast <= this.#rInit >>> 1) {
      next = this.#rInit;
    }
    if (next !== cap) {
      const grown = new Uint8Array(next);
      if (len > 0) grown.set(buf.subarray(rs, rs + len));
      this.#rbuf = buf = grown;
    } else if (rs > 0 && len > 0) {
      buf.copyWithin(0, rs, rs + len);
    }
    this.#rs = 0;
    this.#re = len;
    return len === 0 ? buf : buf.subarray(len);
  }

  /** A read settled: bytes, end of stream (`null`) or an error. */
  #settle(v: number | null | Error): void {
    this.#step = P_IDLE;
    if (typeof v !== "number") {
      if (v === null) this.#end();
      else this.#crash(v);
      return;
    }
    try {
      this.#flags |= F_ACTIVE;
      const drop = (this.#flags & (F_CLOSE_RECV | F_FAILED)) !== 0;
      if ((this.#flags & F_DIRECT) !== 0) {
        if (!drop) this.#written(v);
      } else {
        // #room() offered everything from #re to the end of the buffer.
        const filled = v === this.#rbuf.length - this.#re;
        this.#re += v;
        this.#rLast = v;
        if (drop) this.#rs = this.#re = 0;
        else this.#process();
        // A full read asks for a larger buffer, unless it was full of one
        // large payload whose rest is read straight into the message.
        if (filled && this.#parser.payloadTarget(this.#rbuf.length) === null) {
          this.#flags |= F_R_FILLED;
        } else {
          this.#flags &= ~F_R_FILLED;
        }
      }
    } catch (err) {
      this.#crash(err);
      return;
    }
    this.#pump();
  }

  #process(): void {
    const rs = this.#rs;
    const re = this.#re;
    let used: number;
    try {
      used = this.#parser.feed(this.#rbuf, rs, re);
    } catch (err) {
      used = re - rs;
      this.#parseFailed(err);
    }
    if (rs + used === re) this.#rs = this.#re = 0;
    else this.#rs = rs + used;
  }

  /** `n` payload bytes were read straight into the parser's message buffer. */
  #written(n: number): void {
    try {
      this.#parser.payloadWritten(n);
    } catch (err) {
      this.#parseFailed(err);
    }
  }

  #parseFailed(err: unknown): void {
    this.#fail(
      err instanceof WebSocketError
        ? err
        : protocolError(ErrorCode.HandlerError, (err as Error).message, err),
    );
  }

  /** An unexpected error in the loop (a read error, most likely): report and end. */
  #crash(err: unknown): void {
    if ((this.#flags & F_TCP_CLOSED) === 0 && !isClosedError(err)) {
      this.#emitError(protocolError(ErrorCode.IoError, (err as Error).message, err));
    }
    this.#end();
  }

  #end(): void {
    if (this.#step === P_DONE) return;
    this.#step = P_DONE;
    this.#finish();
  }

  async #finish(): Promise<void> {
    try {
      this.#state = ReadyState.Closed;
      this.#timer = T_NONE;
      if (this.#deadlines !== null) {
        this.#deadlines.disarm(this.#hooks);
        if (this.#ownDeadlines === undefined) releaseDeadlines();
        this.#deadlines = null;
      }
      this.#closeConn();
      this.#writer.close();
      if (this.#flushing !== null) await this.#flushing;
      const iter = this.#iter;
      if (iter !== null && iter.waiter !== null) {
        const waiter = iter.waiter;
        iter.waiter = null;
        waiter.resolve(DONE);
      }
      const handler = this.#handler;
      if (handler !== null && handler.onClose !== undefined) {
        try {
          handler.onClose(this, this.#code, this.#reason);
        } catch {
          // The connection is gone; nothing to fail.
        }
      }
    } finally {
      const resolve = this.#resolveRun;
      this.#resolveRun = null;
      if (resolve !== null) resolve();
    }
  }

  #closeConn(): void {
    if ((this.#flags & F_TCP_CLOSED) !== 0) return;
    this.#flags |= F_TCP_CLOSED | F_CLOSE_SENT;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#unpause();
  }

  /** Fails the connection: close frame with the error's code, grace, TCP close. */
  #fail(err: WebSocketError): void {
    if ((this.#flags & (F_FAILED | F_TCP_CLOSED)) !== 0) return;
    this.#flags |= F_FAILED;
    this.#emitError(err);
    if ((this.#flags & F_CLOSE_RECV) === 0) {
      this.#code = err.closeCode;
      this.#reason = "";
    }
    if (this.#state === ReadyState.Open) this.#state = ReadyState.Closing;
    if ((this.#flags & F_CLOSE_SENT) === 0 && isValidCloseCode(err.closeCode)) {
      this.#sendClose(err.closeCode, EMPTY);
      this.#flush();
    }
    if (this.#running === null) {
      this.#closeConn();
      return;
    }
    this.#arm(T_FAIL, Math.min(this.#closeTimeout, FAIL_GRACE_MAX));
    this.#unpause();
  }

  #emitError(err: WebSocketError): void {
    const handler = this.#handler;
    if (handler === null || handler.onError === undefined) return;
    try {
      handler.onError(this, err);
    } catch {
      // An error handler that throws has nowhere to report to.
    }
  }

  #handlerFailed(err: unknown): void {
    this.#fail(
      protocolError(
        ErrorCode.HandlerError,
        err instanceof Error ? err.message : String(err),
        err,
      ),
    );
  }

  // ---- events from the parser ----

  #onMessage(data: string | Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    const handler = this.#handler;
    if (handler === null) {
      const iter = this.#iter!;
      const waiter = iter.waiter;
      if (waiter !== null) {
        iter.waiter = null;
        waiter.resolve({ value: data, done: false });
      } else {
        iter.queue.push(data);
      }
      return;
    }
    try {
      const r = handler.onMessage(this, data);
      if (r !== undefined && isThenable(r)) {
        (r as Promise<void>).then(
          undefined,
          this.#onRejected ??= this.#hooks.rejected.bind(this.#hooks),
        );
      }
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  #onPing(payload: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) === 0) {
      this.#frame(0x8a, payload);
      this.#flush();
    }
    const handler = this.#handler;
    if (handler !== null && handler.onPing !== undefined) {
      try {
        handler.onPing(this, payload.slice());
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
  }

  #onPong(payload: Uint8Array): void {
    if ((this.#flags & F_FAILED) !== 0) return;
    const handler = this.#handler;
    if (handler !== null && handler.onPong !== undefined) {
      try {
        handler.onPong(this, payload.slice());
      } catch (err) {
        this.#handlerFailed(err);
      }
    }
  }

  #onClose(code: number, reason: string): void {
    this.#flags |= F_CLOSE_RECV;
    this.#code = code;
    this.#reason = reason;
    if (this.#state === ReadyState.Open) this.#state = ReadyState.Closing;
    if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) === 0) this.#sendClose(code, EMPTY);
    // A server closes TCP once the echo is flushed; a client waits for the
    // server to close, at most closeTimeout.
    this.#arm(T_CLOSE, this.#closeTimeout);
  }

  // ---- timeouts ----

  #arm(kind: number, ms: number): void {
    const d = this.#deadlines;
    if (d === null) return;
    if (kind === T_IDLE && ((this.#flags & (F_CLOSE_SENT | F_FAILED)) !== 0)) return;
    if (ms > 0) {
      this.#timer = kind;
      d.arm(this.#hooks, ms);
    } else if (kind === T_CLOSE || kind === T_FAIL) {
      this.#timer = kind;
      d.arm(this.#hooks, 1);
    } else {
      this.#timer = T_NONE;
      d.disarm(this.#hooks);
    }
  }

  #expire(_now: number): void {
    switch (this.#timer) {
      case T_IDLE:
        if ((this.#flags & F_ACTIVE) !== 0) {
          this.#flags &= ~F_ACTIVE;
          this.#arm(T_IDLE, this.#idle);
        } else if ((this.#flags & (F_CLOSE_SENT | F_TCP_CLOSED)) === 0) {
          this.#frame(0x89, EMPTY);
          this.#flush();
          this.#arm(T_PONG, this.#pongTimeout || this.#idle);
        }
        break;
      case T_PONG:
        if ((this.#flags & F_ACTIVE) !== 0) {
          this.#flags &= ~F_ACTIVE;
          this.#arm(T_IDLE, this.#idle);
        } else {
          this.#emitError(protocolError(ErrorCode.PongTimeout));
          this.#closeConn();
        }
        break;
      case T_CLOSE:
      case T_FAIL:
        this.#closeConn();
        break;
    }
  }

  // ---- the message iterator ----

  #next(): Promise<IteratorResult<string | Uint8Array>> {
    const iter = this.#iter!;
    const queue = iter.queue;
    const head = iter.head;
    if (head < queue.length) {
      const value = queue[head]!;
      if (head + 1 === queue.length) {
        queue.length = 0;
        iter.head = 0;
      } else {
        queue[head] = "";
        iter.head = head + 1;
      }
      if (queue.length - iter.head < QUEUE_MAX / 2) this.#unpause();
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === ReadyState.Closed) return Promise.resolve(DONE);
    iter.waiter = Promise.withResolvers();
    return iter.waiter.promise;
  }
}
