// The receiving half of a session: the read loop, the read buffer (256
// bytes until reads fill it, then doubling), reads straight into the
// message buffer for large payloads, and the FrameParser (fragments, UTF-8,
// limits) whose events it hands on. It decides nothing about the connection:
// before each read it asks ReceiverHost.beforeRead(), which may make it
// wait, pause or stop.
//
// The loop is not an async function: an idle session holds only its pending
// read and the continuation bound once per receiver, not a suspended frame.
// Rare waits (onOpen, flushes while closing or above the high-water mark,
// closeWrite) go through wait().
//
// permessage-deflate (RFC 7692) belongs in `onMessage()`: a message whose
// first frame had RSV1 set is inflated there (with its own size limit)
// before it goes to the host.
import { FrameParser, type FrameSink } from "./frame_parser.ts";

/** What a {@linkcode Receiver} tells the session it belongs to, and asks it. */
export interface ReceiverHost {
  /** A complete message: a string for text, bytes for binary. */
  message(data: string | Uint8Array): void;
  /** A ping (its payload is a view valid during the call). */
  ping(payload: Uint8Array): void;
  /** A pong (its payload is a view valid during the call). */
  pong(payload: Uint8Array): void;
  /** A valid close frame; the parser ignores everything after it. */
  closeFrame(code: number, reason: string): void;
  /** The peer broke the protocol or a limit (a WebSocketError), or a host method threw. */
  invalidInput(err: unknown): void;
  /**
   * Called before every read: `true` to read now; `false` once the host has
   * called `wait()`, `pause()` or `stop()` (or ended the session).
   */
  beforeRead(): boolean;
  /** The peer closed its side (end of stream). */
  readEnded(): void;
  /** A read (or the loop) failed. */
  readFailed(err: unknown): void;
}

/** Options of a {@linkcode Receiver}, validated by the session. */
export interface ReceiverOptions {
  role: "server" | "client";
  maxMessageSize?: number;
  maxFrameSize?: number;
  maxFragments?: number;
  /** The read buffer size the buffer returns to after a burst. */
  readBufferSize: number;
  /** Deliver small binary messages as shared views (valid during the call). */
  borrow: boolean;
}

const MAX_READ = 65536;
/** The read buffer of a new session, until reads fill it. */
const FIRST_READ = 256;

// Bits of Receiver.#flags.
/** The last read filled the read buffer (with whole frames). */
const F_FILLED = 1;
/** The pending read goes straight into the parser's message buffer. */
const F_DIRECT = 2;
/** Binary messages go out as the parser made them (shared views). */
const F_BORROW = 4;

// What the loop is doing.
const S_IDLE = 0;
const S_READ = 1;
const S_WAIT = 2;
const S_PAUSED = 3;
const S_DONE = 4;

const RESOLVED: Promise<void> = Promise.resolve();

/** Reads frames from a connection and hands the parser's events to its host. */
export class Receiver implements FrameSink {
  /** Bytes arrived since the keepalive last cleared this. */
  active = false;
  /** Drop what arrives (the session failed or received a close frame). */
  discard = false;
  #conn: Deno.Conn;
  #host: ReceiverHost;
  #parser: FrameParser;
  #flags = 0;
  #step = S_IDLE;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #init: number;
  #last = 0;
  #onSettle: (v: number | null | Error) => void;

  /**
   * @param buffered Bytes already read from `conn` past the handshake:
   * copied, and parsed before anything is read.
   * @throws {RangeError} If a parser limit is out of range.
   */
  constructor(conn: Deno.Conn, buffered: Uint8Array, host: ReceiverHost, options: ReceiverOptions) {
    this.#conn = conn;
    this.#host = host;
    this.#init = options.readBufferSize;
    if (options.borrow) this.#flags |= F_BORROW;
    this.#buf = new Uint8Array(Math.max(Math.min(this.#init, FIRST_READ), buffered.length));
    if (buffered.length > 0) {
      this.#buf.set(buffered);
      this.#end = buffered.length;
    }
    const parserOptions: {
      role: "server" | "client";
      maxMessageSize?: number;
      maxFrameSize?: number;
      maxFragments?: number;
    } = { role: options.role };
    if (options.maxMessageSize !== undefined) parserOptions.maxMessageSize = options.maxMessageSize;
    if (options.maxFrameSize !== undefined) parserOptions.maxFrameSize = options.maxFrameSize;
    if (options.maxFragments !== undefined) parserOptions.maxFragments = options.maxFragments;
    this.#parser = new FrameParser(this, parserOptions);
    this.#onSettle = this.#settle.bind(this);
  }

  // ---- parser events (FrameSink) ----

  /** A message from the parser; binary ones become owned arrays unless borrowed. */
  onMessage(data: string | Uint8Array): void {
    if (
      typeof data !== "string" && (this.#flags & F_BORROW) === 0 &&
      (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength)
    ) {
      // A view into the parser's shared slab: copy it so that the receiver
      // owns its whole buffer (new + set is a little cheaper than slice()).
      const copy = new Uint8Array(data.length);
      copy.set(data);
      data = copy;
    }
    this.#host.message(data);
  }

  onPing(payload: Uint8Array): void {
    this.#host.ping(payload);
  }

  onPong(payload: Uint8Array): void {
    this.#host.pong(payload);
  }

  onClose(code: number, reason: string): void {
    this.#host.closeFrame(code, reason);
  }

  // ---- the loop ----

  /** Starts (or, after `hold()`, continues) the loop: the buffered bytes first, then the socket. */
  start(): void {
    this.#step = S_IDLE;
    try {
      if (this.#end > this.#start && !this.discard) this.#process();
    } catch (err) {
      this.#host.readFailed(err);
      return;
    }
    this.pump();
  }

  /** Marks the loop as waiting on something the host awaits (onOpen). */
  hold(): void {
    this.#step = S_WAIT;
  }

  /** Decides what the loop does next: the host says whether to read. */
  pump(): void {
    try {
      if (this.#host.beforeRead()) this.#read();
    } catch (err) {
      this.#host.readFailed(err);
    }
  }

  /** Waits for `p` off the hot path, then goes on; a rejection (only closeWrite) ends. */
  async wait(p: Promise<void>): Promise<void> {
    this.#step = S_WAIT;
    try {
      await p;
    } catch {
      this.#step = S_IDLE;
      this.#host.readEnded();
      return;
    }
    this.#step = S_IDLE;
    this.pump();
  }

  /** Stops reading until `resume()` (a full message queue). */
  pause(): void {
    this.#step = S_PAUSED;
  }

  /** Resumes a paused loop (more room in the queue, or a close to see). */
  resume(): void {
    if (this.#step === S_PAUSED) this.wait(RESOLVED);
  }

  /** Ends the loop for good; `false` if it had already ended. */
  stop(): boolean {
    if (this.#step === S_DONE) return false;
    this.#step = S_DONE;
    return true;
  }

  /**
   * Starts a read: into the read buffer, or, when the rest of a data frame's
   * payload would fill the read buffer anyway, straight into the message
   * buffer (no copy, and no read buffer growth for large messages).
   */
  #read(): void {
    let view: Uint8Array | null = null;
    if (this.#start === this.#end) view = this.#parser.payloadTarget(this.#buf.length);
    if (view !== null) {
      this.#flags |= F_DIRECT;
    } else {
      this.#flags &= ~F_DIRECT;
      view = this.#room();
    }
    this.#step = S_READ;
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
    let buf = this.#buf;
    const cap = buf.length;
    const start = this.#start;
    const len = this.#end - start;
    let next = cap;
    if ((this.#flags & F_FILLED) !== 0) {
      if (cap < MAX_READ || cap < this.#init) next = cap * 2;
    } else if (len === 0 && cap > this.#init && this.#last <= this.#init >>> 1) {
      next = this.#init;
    }
    if (next !== cap) {
      const grown = new Uint8Array(next);
      if (len > 0) grown.set(buf.subarray(start, start + len));
      this.#buf = buf = grown;
    } else if (start > 0 && len > 0) {
      buf.copyWithin(0, start, start + len);
    }
    this.#start = 0;
    this.#end = len;
    return len === 0 ? buf : buf.subarray(len);
  }

  /** A read settled: bytes, end of stream (`null`) or an error. */
  #settle(v: number | null | Error): void {
    this.#step = S_IDLE;
    if (typeof v !== "number") {
      if (v === null) this.#host.readEnded();
      else this.#host.readFailed(v);
      return;
    }
    try {
      this.active = true;
      const drop = this.discard;
      if ((this.#flags & F_DIRECT) !== 0) {
        if (!drop) this.#written(v);
      } else {
        // #room() offered everything from #end to the end of the buffer.
        const filled = v === this.#buf.length - this.#end;
        this.#end += v;
        this.#last = v;
        if (drop) this.#start = this.#end = 0;
        else this.#process();
        // A full read asks for a larger buffer, unless it was full of one
        // large payload whose rest is read straight into the message.
        if (filled && this.#parser.payloadTarget(this.#buf.length) === null) {
          this.#flags |= F_FILLED;
        } else {
          this.#flags &= ~F_FILLED;
        }
      }
    } catch (err) {
      this.#host.readFailed(err);
      return;
    }
    this.pump();
  }

  #process(): void {
    const start = this.#start;
    const end = this.#end;
    let used: number;
    try {
      used = this.#parser.feed(this.#buf, start, end);
    } catch (err) {
      used = end - start;
      this.#host.invalidInput(err);
    }
    if (start + used === end) this.#start = this.#end = 0;
    else this.#start = start + used;
  }

  /** `n` payload bytes were read straight into the parser's message buffer. */
  #written(n: number): void {
    try {
      this.#parser.payloadWritten(n);
    } catch (err) {
      this.#host.invalidInput(err);
    }
  }
}
