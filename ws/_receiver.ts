// The receiving half of a session: the read loop, the read buffer (256
// bytes until reads fill it, then doubling), reads straight into the
// message buffer for large payloads (or, for lent messages, a read buffer
// that holds such frames whole), and the FrameParser (fragments, UTF-8,
// limits), which reports messages and control frames straight to the host
// (a FrameSink). It decides nothing about the connection: before each read
// it asks ReceiverHost.beforeRead(), which may make it wait, pause or stop.
//
// The loop is not an async function: an idle session holds only its pending
// read and the continuation bound once per receiver, not a suspended frame.
// Rare waits (onOpen, flushes while closing or above the high-water mark,
// closeWrite) go through wait().
//
// permessage-deflate (RFC 7692) belongs where the parser is created: when
// the extension was negotiated, an inflating FrameSink goes between the
// parser and the host (a message whose first frame had RSV1 set is inflated
// there, with its own size limit); without it nothing is in the way.
import { adaptBufferSize, isSmallRead } from "@coroio/core";
import { FrameParser, type FrameSink } from "./frame_parser.ts";

/**
 * What a {@linkcode Receiver} tells the session it belongs to, and asks it.
 * The parser's events (messages, pings, pongs, the close frame) go to the
 * host directly, as a {@linkcode FrameSink}.
 */
export interface ReceiverHost extends FrameSink {
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
  /**
   * A pass over newly read bytes begins (`true`) or ends (`false`): replies
   * sent by handlers during one pass leave in one write when it ends.
   */
  inPass(active: boolean): void;
}

/** Options of a {@linkcode Receiver}, validated by the session. */
export interface ReceiverOptions {
  role: "server" | "client";
  maxMessageSize?: number;
  maxFrameSize?: number;
  maxFragments?: number;
  /** permessage-deflate was negotiated: RSV1 may start a data message. */
  compressed: boolean;
  /**
   * Binary messages are lent (borrowMessages): the parser reuses its message
   * buffer, and the read buffer may grow to hold large frames whole (see
   * LARGE_READ).
   */
  reuseBuffer: boolean;
  /** The read buffer size the buffer returns to after a burst. */
  readBufferSize: number;
  /** Text messages go to the host's onText as validated bytes (the handler has onText). */
  textBytes?: boolean;
}

const MAX_READ = 65536;
/** The read buffer of a new session, until reads fill it. */
const FIRST_READ = 256;
/**
 * The fewest payload bytes still to come that are read straight into the
 * message rather than through the read buffer. Below it the read buffer
 * grows instead, so that messages of a few KiB sent back to back arrive
 * several per read: with the read buffer's size as the bound, a 1 KiB
 * message took two reads (256 bytes, then the rest straight into the
 * message), however many were waiting.
 */
const DIRECT_MIN = 16384;
/**
 * The largest read buffer that holds large frames whole (a 256 KiB payload
 * and its header, in ROOM_STEPs). A large frame read straight into its
 * message takes two reads: the read buffer's worth, then the rest (a 64 KiB
 * echo read 256 bytes, then 65,294). When the message is lent anyway
 * (borrowMessages), the read buffer grows to the frame's size instead, and
 * the next such frame takes one read and is lent from it; the parser's
 * kept message buffer goes, so the connection keeps one buffer that size,
 * as before. Owned messages keep the direct read: each needs a buffer of
 * its own, which the direct read fills without a copy.
 */
const LARGE_READ = 260 * 1024;
/** The read buffer grows to frames in steps of this. */
const ROOM_STEP = 4096;

// Bits of Receiver.#flags.
/** The last read filled the read buffer (with whole frames). */
const F_FILLED = 1;
/** The pending read goes straight into the parser's message buffer. */
const F_DIRECT = 2;
/** The read buffer was grown to hold large frames whole (see LARGE_READ). */
const F_WHOLE = 4;
/**
 * Frames came back to back into a buffer of one frame's size, which split
 * them: large frames go straight into their messages, for good.
 */
const F_NO_WHOLE = 8;

// What the loop is doing.
const S_IDLE = 0;
const S_READ = 1;
const S_WAIT = 2;
const S_PAUSED = 3;
const S_DONE = 4;

const RESOLVED: Promise<void> = Promise.resolve();

/** Reads frames from a connection into the parser, whose events go to the host. */
export class Receiver {
  /** Bytes arrived since the keepalive last cleared this. */
  active = false;
  /** Drop what arrives (the session failed or received a close frame). */
  discard = false;
  #conn: Deno.Conn;
  #host: ReceiverHost;
  /** Made when the first bytes arrive (an idle session has none). */
  #parser: FrameParser | null = null;
  /** Not copied: sessions made with the same options share it. */
  #options: ReceiverOptions;
  #flags = 0;
  #step = S_IDLE;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #init: number;
  /** Small reads in a row (core's buffer policy shrinks after a few). */
  #smallReads = 0;
  /** The size the read buffer grows to at the next #room() (see LARGE_READ), or 0. */
  #want = 0;
  #onSettle: (v: number | null | Error) => void;

  /**
   * @param buffered Bytes already read from `conn` past the handshake:
   * copied, and parsed before anything is read.
   * @param options Checked by the caller (the parser's limits too: the
   * parser is made with the first bytes).
   */
  constructor(conn: Deno.Conn, buffered: Uint8Array, host: ReceiverHost, options: ReceiverOptions) {
    this.#conn = conn;
    this.#host = host;
    this.#options = options;
    this.#init = options.readBufferSize;
    this.#buf = new Uint8Array(Math.max(Math.min(this.#init, FIRST_READ), buffered.length));
    if (buffered.length > 0) {
      this.#buf.set(buffered);
      this.#end = buffered.length;
    }
    this.#onSettle = this.#settle.bind(this);
  }

  /** The parser, made on first use (ReceiverOptions has the parser's option names). */
  #newParser(): FrameParser {
    return this.#parser = new FrameParser(this.#host, this.#options);
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
   * payload is large (at least DIRECT_MIN and the read buffer's size, then
   * to the payload's end), straight into the message buffer (no copy). Such
   * a frame, when lent, asks for a read buffer that holds the next one whole
   * (see LARGE_READ).
   */
  #read(): void {
    let view: Uint8Array | null = null;
    const parser = this.#parser;
    if (parser !== null && this.#start === this.#end) {
      // A payload being read straight into its message stays so to its end.
      view = parser.payloadTarget((this.#flags & F_DIRECT) !== 0 ? 1 : this.#directMin());
    }
    if (view !== null) {
      // The first direct read of a lent frame: room for the next one whole.
      if ((this.#flags & (F_DIRECT | F_NO_WHOLE)) === 0 && this.#options.reuseBuffer) {
        this.#wantRoom(parser!.wholeFrameSize);
      }
      this.#flags |= F_DIRECT;
    } else {
      this.#flags &= ~F_DIRECT;
      view = this.#room();
    }
    this.#step = S_READ;
    this.#conn.read(view).then(this.#onSettle, this.#onSettle);
  }

  /** Asks for a read buffer of `size` bytes (a frame's), rounded up, if within LARGE_READ. */
  #wantRoom(size: number): void {
    const room = (size + ROOM_STEP - 1) & -ROOM_STEP;
    if (size > 0 && room <= LARGE_READ) this.#want = room;
  }

  /**
   * A read filled the read buffer grown for whole frames and ended inside a
   * frame. If that frame would have fit had it started the read, frames come
   * back to back and a buffer of one frame's size splits them (each partly
   * copied into the message buffer): large frames go straight into their
   * messages again, for good, with the rest of this one first. A larger
   * frame than the buffer gets room for the next one.
   */
  #splitFrame(parser: FrameParser): void {
    const size = parser.wholeFrameSize;
    if (size === 0) return;
    if (size > this.#buf.length) {
      this.#wantRoom(size);
      return;
    }
    // Everything read was consumed (the parser is inside a payload).
    this.#flags = (this.#flags | F_NO_WHOLE | F_DIRECT) & ~(F_WHOLE | F_FILLED);
    this.#buf = new Uint8Array(this.#init);
    this.#start = this.#end = 0;
  }

  /** The fewest remaining payload bytes read straight into the message (see DIRECT_MIN). */
  #directMin(): number {
    const cap = this.#buf.length;
    return cap > DIRECT_MIN ? cap : DIRECT_MIN;
  }

  /**
   * Makes room in the read buffer and returns the view to read into. The
   * buffer doubles (up to 64 KiB) after a read of whole frames that filled
   * it, grows to hold a large lent frame whole when asked (#want, up to
   * LARGE_READ), and goes back to its initial size when drained after small
   * reads. What is left unconsumed is at most a partial frame header or
   * control frame.
   */
  #room(): Uint8Array {
    let buf = this.#buf;
    const cap = buf.length;
    const start = this.#start;
    const len = this.#end - start;
    // core's policy: double while reads fill the buffer, shrink once drained
    // after small reads.
    let next = adaptBufferSize(
      cap,
      this.#init,
      Math.max(MAX_READ, this.#init),
      (this.#flags & F_FILLED) !== 0,
      len === 0 ? this.#smallReads : 0,
    );
    if (this.#want > next) {
      next = this.#want;
      this.#flags |= F_WHOLE;
    } else if (next !== cap) {
      this.#flags &= ~F_WHOLE;
    }
    this.#want = 0;
    // With a read buffer that holds large frames whole, a message buffer the
    // parser made since (a larger frame, a fragmented message) goes once the
    // message is over: one large buffer per connection, not two. (A no-op
    // inside a message.)
    if ((this.#flags & F_WHOLE) !== 0) this.#parser?.releaseBuffer();
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
        this.#smallReads = isSmallRead(v, this.#init) ? this.#smallReads + 1 : 0;
        if (drop) this.#start = this.#end = 0;
        else this.#process();
        // A full read asks for a larger buffer, unless it was full of one
        // large payload whose rest is read straight into the message.
        const parser = this.#parser;
        if (filled && (parser === null || parser.payloadTarget(this.#directMin()) === null)) {
          this.#flags |= F_FILLED;
        } else {
          this.#flags &= ~F_FILLED;
        }
        if (filled && (this.#flags & F_WHOLE) !== 0 && !drop && parser !== null) {
          this.#splitFrame(parser);
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
    // One frame alone (one message in flight) has nothing to batch its reply with.
    const batch = !oneFrame(this.#buf, start, end);
    if (batch) this.#host.inPass(true);
    try {
      used = (this.#parser ?? this.#newParser()).feed(this.#buf, start, end);
    } catch (err) {
      used = end - start;
      this.#host.invalidInput(err);
    } finally {
      if (batch) this.#host.inPass(false);
    }
    if (start + used === end) this.#start = this.#end = 0;
    else this.#start = start + used;
  }

  /** `n` payload bytes were read straight into the parser's message buffer. */
  #written(n: number): void {
    this.#host.inPass(true);
    try {
      this.#parser!.payloadWritten(n);
    } catch (err) {
      this.#host.invalidInput(err);
    } finally {
      this.#host.inPass(false);
    }
  }
}

/** Whether `buf[start..end)` is exactly one frame with a payload under 64 KiB. */
function oneFrame(buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (n < 2) return false;
  const b1 = buf[start + 1]!;
  let len = b1 & 0x7f;
  let head = (b1 & 0x80) !== 0 ? 6 : 2;
  if (len === 126) {
    if (n < 4) return false;
    len = (buf[start + 2]! << 8) | buf[start + 3]!;
    head += 2;
  } else if (len === 127) {
    return false;
  }
  return n === head + len;
}
