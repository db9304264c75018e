// The sending half of a session: frames staged straight into a FrameWriter
// (frames sent while a write is in flight leave together in the next
// syscall), the short-ASCII fast path, the echo of the text being delivered
// (its bytes, from ws/_last_text.ts), the high-water mark and its policy,
// and flushing. It never reads and knows no session state beyond "no more
// frames" (`closed`); what it must report goes through SenderHost.
//
// permessage-deflate (RFC 7692) happens in `#data()`: the payload is
// compressed there and RSV1 (0x40) set in the first byte; control frames are
// never compressed.
import type { PerMessageDeflate } from "./permessage_deflate.ts";
import { headerLength, writeHeader } from "./_frame.ts";
import { randomKey, xorRange } from "./_mask.ts";
import * as lending from "./_last_text.ts";
import { isValidUtf8 } from "./utf8_validator.ts";
import { FrameWriter } from "./_frame_writer.ts";

/** What a {@linkcode Sender} tells the session it belongs to. */
export interface SenderHost {
  /**
   * A write failed (the sender is now `closed`). Called with the error as
   * the writer reported it.
   */
  writeFailed(err: unknown): void;
  /** `send()` found the queue above the high-water mark with policy "close". */
  slowConsumer(queued: number): void;
}

/** Options of a {@linkcode Sender}, validated by the session. */
export interface SenderOptions {
  /** Mask every frame (the client side). */
  mask: boolean;
  /** Queued bytes above which backpressure applies. */
  highWaterMark: number;
  /** Above the mark: fail the connection instead of waiting. */
  closeOnBackpressure: boolean;
  /** The negotiated permessage-deflate context, or `null`. */
  deflate: PerMessageDeflate | null;
}

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const SCRATCH = new Uint8Array(65536);
const SCRATCH_CHARS = SCRATCH.length / 3;
const SHORT_TEXT = 64;
const SHORT_BYTES = new Uint8Array(SHORT_TEXT);
// Module-local copies: an imported binding is read through its module cell
// (with a hole check) on every use; a local const is a constant.
const lastText = lending.lastText;
const LEND_VIEW = lending.LEND_VIEW;
const LEND_WORDS = lending.LEND_WORDS;

/** Frames messages and control frames into the connection's write buffer. */
export class Sender {
  /** No more frames may be sent: a close frame was staged, a write failed or TCP closed. */
  closed = false;
  #writer: FrameWriter;
  #host: SenderHost;
  #mask: boolean;
  #hwm: number;
  #closeOnBp: boolean;
  #deflate: PerMessageDeflate | null;
  /** Inside a read pass: data frames are staged, flushed once when it ends. */
  #batching = false;

  constructor(conn: Deno.Conn, host: SenderHost, options: SenderOptions) {
    this.#writer = new FrameWriter(conn, this.#failed.bind(this));
    this.#host = host;
    this.#mask = options.mask;
    this.#hwm = options.highWaterMark;
    this.#closeOnBp = options.closeOnBackpressure;
    this.#deflate = options.deflate;
  }

  /** Bytes staged and not yet handed to the kernel. */
  get buffered(): number {
    return this.#writer.buffered;
  }

  /** Whether bytes are staged or a write is in flight. */
  get pending(): boolean {
    return this.#writer.buffered > 0;
  }

  /** Whether the queue is above the high-water mark. */
  get full(): boolean {
    return this.#writer.buffered > this.#hwm;
  }

  /**
   * Sends a message (text for a string), applying backpressure; resolves
   * once its bytes were handed to the kernel or dropped. Never rejects.
   */
  send(data: string | Uint8Array, compress?: boolean, asText = false): Promise<void> {
    if (this.closed) return RESOLVED;
    if (this.#writer.buffered > this.#hwm) {
      if (this.#closeOnBp) {
        this.#host.slowConsumer(this.#writer.buffered);
        return RESOLVED;
      }
      return this.#sendLater(data, compress, asText);
    }
    this.#data(data, compress, asText);
    // Inside a read pass the write starts when the pass ends.
    if (this.#batching) return this.#writer.done();
    return this.#writer.flush();
  }

  /**
   * Sends UTF-8 bytes as a text message, as `send()` does.
   *
   * @throws {TypeError} If the bytes are not valid UTF-8 (the view the
   * parser lent to `onText` included: a handler may have changed it).
   */
  sendText(bytes: Uint8Array, compress?: boolean): Promise<void> {
    // Always checked, the lent view of onText included: a handler may have
    // changed it, and a text frame must carry valid UTF-8.
    const slot = lastText;
    if (
      bytes === slot.bytes && this.#deflate === null && !this.closed &&
      this.#writer.buffered <= this.#hwm &&
      (slot.bytesView === LEND_VIEW && !this.#mask
        ? this.#stageLent(bytes)
        : this.#stageLentAscii(bytes))
    ) {
      return this.#batching ? this.#writer.done() : this.#writer.flush();
    }
    if (!isValidUtf8(bytes)) {
      throw new TypeError("Cannot send text: the bytes are not valid UTF-8");
    }
    return this.send(bytes, compress, true);
  }

  /**
   * Stages the short view lent to onText from the lending buffer (see
   * `lastText`) as an unmasked text frame if it is all ASCII: checked and
   * copied in one pass, a word at a time (aligned loads from the lending
   * buffer's words, aligned stores into the write buffer's). Otherwise
   * stages nothing and returns `false` (the caller validates). Kept apart
   * from #stageLentAscii so that each stays under V8's inlining limit
   * (460 bytes of bytecode; this one is about 340).
   */
  #stageLent(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (n > SHORT_TEXT) return false;
    const w = this.#writer;
    const at = w.reserve(2 + n);
    const out = w.buf;
    out[at] = 0x81;
    out[at + 1] = n;
    const h = at + 2;
    // Aligned 32-bit stores through the buffer's words. Staging buffers are
    // a multiple of 4 bytes long, so the word holding the frame's last byte
    // is inside the buffer.
    const words = LEND_WORDS;
    const dst = w.words;
    const e4 = n >> 2;
    const r = h & 3;
    let k = h >> 2;
    let or = 0;
    if (r === 0) {
      for (let j = 0; j < e4; j++) {
        const x = words[j]!;
        or |= x;
        dst[k++] = x;
      }
    } else {
      // Unaligned by r bytes: each aligned word of the frame is the end of
      // one source word and the start of the next (little-endian: the low
      // bytes come first); the bytes before the payload are kept. The word
      // after the last one gets the carried bytes; the rest of it is the
      // tail, written below, or unstaged room.
      const s = r << 3;
      let carry = dst[k]! & ((1 << s) - 1);
      for (let j = 0; j < e4; j++) {
        const x = words[j]!;
        or |= x;
        dst[k++] = carry | (x << s);
        carry = x >>> (32 - s);
      }
      dst[k] = carry;
    }
    for (let i = e4 << 2; i < n; i++) {
      const c = bytes[i]!;
      or |= c;
      out[h + i] = c;
    }
    if ((or & 0x80808080) !== 0) {
      w.length = at; // not staged after all
      return false;
    }
    return true;
  }

  /**
   * Stages a short view lent to onText as a text frame if it is all ASCII,
   * as #stageLent does, for what it does not take: a view lent in place
   * (of the parser's buffer, read through the DataView `lastText` names) or
   * a masked frame (a client).
   */
  #stageLentAscii(bytes: Uint8Array): boolean {
    const src = lastText.bytesView;
    const n = bytes.length;
    if (src === null || n > SHORT_TEXT) return false;
    const masked = this.#mask;
    const key = masked ? randomKey() : 0;
    const w = this.#writer;
    const at = w.reserve(headerLength(n, masked) + n);
    const h = writeHeader(w.buf, at, 0x81, n, masked, key);
    const dst = w.view;
    const out = w.buf;
    const start = bytes.byteOffset - src.byteOffset;
    const end = start + n;
    const shift = h - start;
    let or = 0;
    let i = start;
    for (const e4 = end - (n & 3); i < e4; i += 4) {
      const word = src.getInt32(i, true);
      or |= word;
      dst.setInt32(i + shift, word, true);
    }
    for (; i < end; i++) {
      const c = bytes[i - start]!;
      or |= c;
      out[i + shift] = c;
    }
    if ((or & 0x80808080) !== 0) {
      w.length = at; // not staged after all
      return false;
    }
    if (masked) xorRange(out, h, h + n, key, 0);
    return true;
  }

  /**
   * Starts (`true`) or ends (`false`) a read pass. Replies that handlers
   * send while the session parses one read go out in one write when the
   * pass ends instead of the first reply starting a write alone (half the
   * write calls at 16 messages per read).
   */
  batch(active: boolean): void {
    this.#batching = active;
    if (!active) this.#writer.kick();
  }

  async #sendLater(
    data: string | Uint8Array,
    compress: boolean | undefined,
    asText: boolean,
  ): Promise<void> {
    // Lent bytes are only valid now: keep a copy.
    if (typeof data !== "string") data = data.slice();
    while (this.#writer.buffered > this.#hwm && !this.closed) await this.flush();
    if (this.closed) return;
    this.#data(data, compress, asText);
    await this.flush();
  }

  /**
   * Stages one data frame: text for a string or `asText` bytes, binary for
   * other bytes; compressed when permessage-deflate was negotiated and
   * `compress` (or, when it is undefined, the size rule of the context)
   * says so.
   */
  #data(data: string | Uint8Array, compress: boolean | undefined, asText: boolean): void {
    const pmd = this.#deflate;
    const isString = typeof data === "string";
    if (pmd !== null && compress !== false) {
      // The decision comes before the deflater is touched: with context
      // takeover, compressed output must always be sent.
      const text = isString || asText;
      // A string's UTF-8 length is between its length and three times it.
      if (
        compress === true || !isString ||
        pmd.shouldCompress(data.length) || pmd.shouldCompress(data.length * 3)
      ) {
        const bytes = isString ? encoder.encode(data) : data;
        if (compress === true || pmd.shouldCompress(bytes.length)) {
          this.frame(text ? 0xc1 : 0xc2, pmd.compress(bytes));
          return;
        }
        this.frame(text ? 0x81 : 0x82, bytes);
        return;
      }
    }
    if (isString) {
      const slot = lastText;
      if (data === slot.text) {
        // The message being delivered, echoed: its bytes are at hand.
        this.#copy(0x81, slot.buf, slot.view, slot.start, slot.end);
        return;
      }
      if (data.length <= SHORT_TEXT && this.#shortAscii(data)) return;
      if (data.length <= SCRATCH_CHARS) {
        const n = encoder.encodeInto(data, SCRATCH).written;
        this.frame(0x81, SCRATCH.subarray(0, n));
      } else {
        this.frame(0x81, encoder.encode(data));
      }
    } else {
      // One set() of the view: cheaper than a byte loop (32 B: about 15 against 30 ns).
      this.frame(asText ? 0x81 : 0x82, data);
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
    const masked = this.#mask;
    const key = masked ? randomKey() : 0;
    const w = this.#writer;
    const at = w.reserve(headerLength(n, masked) + n);
    const dst = w.buf;
    const h = writeHeader(dst, at, 0x81, n, masked, key);
    for (let i = 0; i < n; i++) dst[h + i] = bytes[i]!;
    if (masked) xorRange(dst, h, h + n, key, 0);
    return true;
  }

  /**
   * Stages one frame with first byte `b0` and payload `src[start..end)`
   * (copied; a word at a time when `view`, a DataView of `src`, is given).
   */
  #copy(b0: number, src: Uint8Array, view: DataView | null, start: number, end: number): void {
    const n = end - start;
    const masked = this.#mask;
    const key = masked ? randomKey() : 0;
    const w = this.#writer;
    const at = w.reserve(headerLength(n, masked) + n);
    const dst = w.buf;
    const h = writeHeader(dst, at, b0, n, masked, key);
    if (n > SHORT_TEXT) {
      dst.set(src.subarray(start, end), h);
    } else if (view !== null) {
      const out = w.view;
      let i = 0;
      for (const e4 = n & ~3; i < e4; i += 4) {
        out.setInt32(h + i, view.getInt32(start + i, true), true);
      }
      for (; i < n; i++) dst[h + i] = src[start + i]!;
    } else {
      for (let i = 0; i < n; i++) dst[h + i] = src[start + i]!;
    }
    if (masked) xorRange(dst, h, h + n, key, 0);
  }

  /** Stages one frame with first byte `b0` (FIN, RSV, opcode); the payload is copied. */
  frame(b0: number, payload: Uint8Array): void {
    const len = payload.length;
    const masked = this.#mask;
    const key = masked ? randomKey() : 0;
    const w = this.#writer;
    const at = w.reserve(headerLength(len, masked) + len);
    const dst = w.buf;
    const h = writeHeader(dst, at, b0, len, masked, key);
    dst.set(payload, h);
    if (masked) xorRange(dst, h, h + len, key, 0);
  }

  /** Stages a control frame and flushes, unless closed. */
  control(b0: number, payload: Uint8Array): Promise<void> {
    if (this.closed) return RESOLVED;
    this.frame(b0, payload);
    return this.flush();
  }

  /** Stages a close frame (no payload for 1005); nothing may be sent after it. */
  close(code: number, reason: Uint8Array): void {
    this.closed = true;
    if (code === 1005) {
      this.frame(0x88, EMPTY);
      return;
    }
    const p = new Uint8Array(2 + reason.length);
    p[0] = code >>> 8;
    p[1] = code & 0xff;
    p.set(reason, 2);
    this.frame(0x88, p);
  }

  /**
   * Hands what is staged to the kernel. Resolves when the write finishes;
   * never rejects (a failure goes to `SenderHost.writeFailed`).
   */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  #failed(err: unknown): void {
    this.closed = true;
    this.#host.writeFailed(err);
  }

  /**
   * Drops what is staged and releases the write buffer; returns the write in
   * flight, if any, to wait for.
   */
  dispose(): Promise<void> | null {
    this.closed = true;
    this.#writer.close();
    return this.#writer.pending();
  }

  // ---- the topics hub (topics.ts): one frame, staged as is in every subscriber's buffer ----

  /** Whether frames are masked (a client session: the hub's unmasked frames do not fit). */
  get masked(): boolean {
    return this.#mask;
  }

  /** The queued-bytes limit of this session (its `highWaterMark`). */
  get highWaterMark(): number {
    return this.#hwm;
  }

  /** The negotiated permessage-deflate context, or `null`. */
  get deflate(): PerMessageDeflate | null {
    return this.#deflate;
  }

  /**
   * Compresses a message with this session's own context (dedicated mode:
   * its window depends on what this connection sent before) and stages it,
   * under the same limit rule as {@linkcode stageFrame}. The decision to
   * compress was made by the caller; once taken, the output is always staged
   * or the session fails (windows must not drift apart).
   *
   * @returns 0 staged, 1 over the limit (not staged), 2 closed (not staged).
   */
  stageCompressed(payload: Uint8Array, text: boolean, limit: number): number {
    if (this.closed) return 2;
    const queued = this.#writer.buffered;
    // Judged on the uncompressed size: the limit is checked before zlib runs.
    if (queued > 0 && queued + payload.length > limit) return 1;
    this.frame(text ? 0xc1 : 0xc2, this.#deflate!.compress(payload));
    return 0;
  }

  /**
   * Stages a complete frame built elsewhere (a publish: the same unmasked
   * bytes for every subscriber), without flushing. Over `limit` queued bytes
   * nothing is staged, unless the queue is empty (a message always fits an
   * empty queue, so the limit holds at message granularity).
   *
   * @returns 0 staged, 1 over the limit (not staged), 2 closed (not staged).
   */
  stageFrame(frame: Uint8Array, limit: number): number {
    if (this.closed) return 2;
    const queued = this.#writer.buffered;
    if (queued > 0 && queued + frame.length > limit) return 1;
    this.#writer.write(frame);
    return 0;
  }

  /** Fails the session as a slow consumer (1008), as `send()` does with policy "close". */
  slowConsumer(): void {
    this.#host.slowConsumer(this.#writer.buffered);
  }
}
