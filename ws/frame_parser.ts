import { decodeLatin1, intOption } from "@coroio/core";
import { isValidCloseCode } from "./close_code.ts";
import { ErrorCode, protocolError, type WebSocketError } from "./errors.ts";
import { keyWord, unmaskText, xorMask, xorRange } from "./_mask.ts";
import { isValidUtf8, Utf8Validator } from "./utf8_validator.ts";
import { decodeUtf8, decodeUtf8Fatal } from "./_text.ts";
import * as lending from "./_last_text.ts";

/**
 * What a {@linkcode FrameParser} reports: one object, one method per event.
 * Methods must not throw (a throw leaves the parser failed).
 *
 * @example Collecting messages
 * ```ts
 * import { buildFrame, FrameParser, type FrameSink, Opcode } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * class Collect implements FrameSink {
 *   messages: (string | Uint8Array)[] = [];
 *   onMessage(data: string | Uint8Array): void {
 *     this.messages.push(data);
 *   }
 *   onPing(_payload: Uint8Array): void {}
 *   onPong(_payload: Uint8Array): void {}
 *   onClose(_code: number, _reason: string): void {}
 * }
 * const sink = new Collect();
 * const parser = new FrameParser(sink, { role: "client" });
 * parser.feed(buildFrame(Opcode.Text, new TextEncoder().encode("hi")));
 * deepEqual(sink.messages, ["hi"]);
 * ```
 */
export interface FrameSink {
  /**
   * A complete text or binary message arrived.
   *
   * @param data A string for text, a `Uint8Array` the receiver owns for
   * binary; with the parser's `reuseBuffer` option, a view valid only during
   * the call (copy it to keep it).
   */
  onMessage(data: string | Uint8Array): void;
  /**
   * A complete text message arrived, with the parser's `textBytes` option
   * (required then): its UTF-8, already validated, instead of a string to
   * `onMessage`.
   *
   * @param bytes The message: a view valid only during the call.
   */
  onText?(bytes: Uint8Array): void;
  /**
   * A ping arrived.
   *
   * @param payload Its payload (0-125 bytes): a view valid only during the
   * call; copy it to keep it.
   */
  onPing(payload: Uint8Array): void;
  /**
   * A pong arrived.
   *
   * @param payload Its payload: a view valid only during the call.
   */
  onPong(payload: Uint8Array): void;
  /**
   * A valid close frame arrived. The parser ignores all input after it.
   *
   * @param code The close code, or 1005 if the frame had none.
   * @param reason The reason (valid UTF-8, possibly empty).
   */
  onClose(code: number, reason: string): void;
  /**
   * A whole message compressed with permessage-deflate (RSV1 on its first
   * frame; only when the parser's `compressed` option allows it): the
   * unmasked compressed payload of all its frames, not yet inflated nor
   * checked as UTF-8. Required when `compressed` is on.
   *
   * @param text Whether it is a text message.
   * @param payload The compressed bytes: a view valid only during the call.
   */
  onCompressedMessage?(text: boolean, payload: Uint8Array): void;
}

/** Options for {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /**
   * Which side parses: a `"server"` requires masked frames, a `"client"`
   * requires unmasked ones (RFC 6455 section 5.1).
   *
   * @default {"server"}
   */
  role?: "server" | "client";
  /**
   * Largest message, in bytes, summed over its fragments. Larger: 1009.
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Largest data frame payload, in bytes. Larger: 1009, as soon as the
   * header arrives.
   *
   * @default {maxMessageSize}
   */
  maxFrameSize?: number;
  /**
   * Most frames in one message. More: 1009 (this bounds the work spent on
   * floods of empty continuation frames). The default lets a 16 MiB message
   * through in 16-byte frames, and the Autobahn suite's 4 MiB in 64-byte
   * frames (cases 9.3.1 and 9.4.1: 65,537 frames).
   *
   * @default {1048576}
   */
  maxFragments?: number;
  /**
   * Whether permessage-deflate (RFC 7692) was negotiated: RSV1 is then
   * allowed on the first frame of a data message, which goes to
   * {@linkcode FrameSink.onCompressedMessage}. RSV1 on a control or
   * continuation frame, or without this option, is a protocol error (1002).
   *
   * @default {false}
   */
  compressed?: boolean;
  /**
   * Lend binary messages instead of giving them away: each is a view, valid
   * only during `onMessage`, of the fed buffer or of a message buffer the
   * parser keeps (up to 1 MiB) for messages that span reads: no allocation,
   * copy or zero-fill per message.
   *
   * @default {false}
   */
  reuseBuffer?: boolean;
  /**
   * Deliver text messages to {@linkcode FrameSink.onText} as validated UTF-8
   * bytes (views valid only during the call) instead of strings to
   * `onMessage`: no string is made (for a handler that relays the bytes).
   *
   * @default {false}
   */
  textBytes?: boolean;
}

/** Largest message buffer kept for reuse. */
const REUSE_MAX = 1 << 20;

const TEXT = 1;
const PING = 9;
const PONG = 10;

/**
 * An incremental RFC 6455 frame parser: bytes in, messages and control
 * frames out through a {@linkcode FrameSink}, and the count of bytes
 * consumed back. It never awaits and never touches a socket.
 *
 * `feed(buf)` consumes every byte it can use; what it leaves (at most one
 * incomplete frame header, or one incomplete control frame of at most 139
 * bytes) must be fed again with the bytes that follow appended. Payloads are
 * unmasked in place in `buf`, only in the consumed part: pass a buffer you
 * own (a read buffer).
 *
 * Every receiving-side MUST of RFC 6455 is checked: masking by role, RSV
 * bits, reserved opcodes, control frames fragmented or over 125 bytes,
 * continuation without a start, a new data frame inside a fragmented message
 * (all 1002), close payloads (1002/1007), UTF-8 of text checked as it arrives
 * so that a message fails at its first invalid byte (1007), and size limits
 * (1009). A violation throws a {@linkcode WebSocketError} carrying the close
 * code to send; the parser then ignores all further input.
 *
 * @example Parsing a masked message that arrives in two pieces
 * ```ts
 * import { buildFrame, FrameParser, type FrameSink, Opcode } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * const got: (string | Uint8Array)[] = [];
 * const sink: FrameSink = {
 *   onMessage: (d) => void got.push(d),
 *   onPing() {},
 *   onPong() {},
 *   onClose() {},
 * };
 * const parser = new FrameParser(sink, { role: "server" });
 * const frame = buildFrame(Opcode.Text, new TextEncoder().encode("hello"), { mask: true });
 * equal(parser.feed(frame.slice(0, 1)), 0); // too short for a header: wait
 * const rest = frame.slice(0);
 * equal(parser.feed(rest), frame.length);
 * deepEqual(got, ["hello"]);
 * ```
 */
export class FrameParser {
  #sink: FrameSink;
  #expectMask: boolean;
  #maxFrame: number;
  #maxMessage: number;
  #maxFragments: number;
  // Current data frame.
  #inPayload = false;
  #fin = false;
  #masked = false;
  #key = 0;
  #remaining = 0;
  /** The payload length of the current data frame. */
  #frameLen = 0;
  #offset = 0;
  // Current message.
  #msgOp = 0;
  #fragments = 0;
  #acc: Uint8Array | null = null;
  #accLen = 0;
  #utf8: Utf8Validator | null = null;
  /** RSV1 may start a data message (permessage-deflate negotiated). */
  #rsv1: boolean;
  /** The current message is compressed. */
  #msgCompressed = false;
  /** Keep `#acc` between messages (binary messages are views of it). */
  #reuse: boolean;
  /** Text goes to sink.onText as bytes. */
  #textBytes: boolean;
  #done = false;
  /** The buffer `#view` looks at (the read buffer, replaced only when it grows or shrinks). */
  #viewOf: Uint8Array = EMPTY;
  #view: DataView = EMPTY_VIEW;

  /**
   * Creates a parser.
   *
   * @param sink Receives messages and control frames.
   * @param options Role and limits.
   * @throws {RangeError} If a limit is not a non-negative integer.
   */
  constructor(sink: FrameSink, options: FrameParserOptions = {}) {
    this.#sink = sink;
    this.#expectMask = (options.role ?? "server") === "server";
    this.#maxMessage = intOption(
      "FrameParser",
      "maxMessageSize",
      options.maxMessageSize,
      16 * 1024 * 1024,
      0,
    );
    this.#maxFrame = intOption(
      "FrameParser",
      "maxFrameSize",
      options.maxFrameSize,
      this.#maxMessage,
      0,
    );
    this.#maxFragments = intOption("FrameParser", "maxFragments", options.maxFragments, 1 << 20, 0);
    this.#rsv1 = options.compressed === true;
    this.#reuse = options.reuseBuffer === true;
    this.#textBytes = options.textBytes === true;
    if (this.#rsv1 && sink.onCompressedMessage === undefined) {
      throw new TypeError("Cannot create FrameParser: compressed needs sink.onCompressedMessage");
    }
    if (this.#textBytes && sink.onText === undefined) {
      throw new TypeError("Cannot create FrameParser: textBytes needs sink.onText");
    }
  }

  /**
   * Whether the parser stopped: a close frame arrived or a violation was
   * found. It then consumes and ignores everything.
   *
   * @returns `true` once stopped.
   */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Parses as much of `buf[start..end)` as possible.
   *
   * @param buf The bytes not consumed by the previous call, followed by new
   * ones. Consumed payload bytes are unmasked in place.
   * @param start Where the bytes start in `buf` (so that a read buffer can be
   * passed without making a view).
   * @param end One past the last byte.
   * @returns How many bytes (from `start`) were consumed.
   * @throws {WebSocketError} On a protocol violation or a limit; its
   * `closeCode` is the code to close with.
   */
  feed(buf: Uint8Array, start = 0, end: number = buf.length): number {
    const used = this.#feed(buf, start, end);
    // A view of a read buffer larger than a session's default one (a burst)
    // is not kept: the receiver shrinks such a buffer back when reads get
    // small, and an idle session must not hold on to the large one.
    if (this.#viewOf.length > VIEW_KEEP) {
      this.#viewOf = EMPTY;
      this.#view = EMPTY_VIEW;
    }
    return used;
  }

  #feed(buf: Uint8Array, start: number, end: number): number {
    const n = end;
    if (this.#done) return n - start;
    let pos = start;
    while (pos < n) {
      if (!this.#inPayload) {
        if (n - pos < 2) break;
        const b0 = buf[pos]!;
        const b1 = buf[pos + 1]!;
        const op = b0 & 0x0f;
        const fin = (b0 & 0x80) !== 0;
        const masked = (b1 & 0x80) !== 0;
        let len = b1 & 0x7f;
        const rsv = b0 & 0x70;
        // RSV1 marks a compressed message (RFC 7692 6): its first frame only.
        if (rsv !== 0 && (rsv !== 0x40 || !this.#rsv1 || op === 0 || op > 2)) {
          throw this.#fail(ErrorCode.ReservedBits, `RSV ${rsv >> 4}`);
        }
        if (op >= 8) {
          if (op > PONG) throw this.#fail(ErrorCode.ReservedOpcode, `opcode ${op}`);
          if (!fin) throw this.#fail(ErrorCode.FragmentedControl);
          if (len > 125) throw this.#fail(ErrorCode.ControlTooLong);
        } else if (op === 0) {
          if (this.#msgOp === 0) throw this.#fail(ErrorCode.UnexpectedContinuation);
        } else if (op <= 2) {
          if (this.#msgOp !== 0) throw this.#fail(ErrorCode.ExpectedContinuation);
        } else {
          throw this.#fail(ErrorCode.ReservedOpcode, `opcode ${op}`);
        }
        if (masked !== this.#expectMask) {
          throw this.#fail(masked ? ErrorCode.UnexpectedMask : ErrorCode.MaskRequired);
        }
        let at = pos + 2;
        const need = 2 + (masked ? 4 : 0) + (len === 126 ? 2 : len === 127 ? 8 : 0);
        if (n - pos < need) break;
        if (len === 126) {
          len = (buf[at]! << 8) | buf[at + 1]!;
          at += 2;
        } else if (len === 127) {
          const hi =
            ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>>
            0;
          const lo = ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) |
            buf[at + 7]!) >>> 0;
          if (hi >= 0x80000000) throw this.#fail(ErrorCode.InvalidLength);
          if (hi > 0x1fffff) throw this.#fail(ErrorCode.FrameTooBig, `length 2^${63} range`);
          len = hi * 0x100000000 + lo;
          at += 8;
        }
        const key = masked ? keyWord(buf, at) : 0;
        if (masked) at += 4;
        if (op >= 8) {
          // Control frames are small: wait until the whole frame is here.
          if (n - at < len) break;
          const payload = buf.subarray(at, at + len);
          if (masked) xorMask(payload, key, 0);
          pos = at + len;
          this.#control(op, payload);
          if (this.#done) return n - start;
          continue;
        }
        if (len > this.#maxFrame) {
          throw this.#fail(ErrorCode.FrameTooBig, `${len} > ${this.#maxFrame} bytes`);
        }
        if (this.#accLen + len > this.#maxMessage) {
          throw this.#fail(
            ErrorCode.MessageTooBig,
            `${this.#accLen + len} > ${this.#maxMessage} bytes`,
          );
        }
        if (op !== 0) {
          this.#msgOp = op;
          this.#msgCompressed = rsv !== 0;
        }
        if (++this.#fragments > this.#maxFragments) {
          throw this.#fail(ErrorCode.TooManyFragments, `more than ${this.#maxFragments}`);
        }
        pos = at;
        if (fin && op !== 0 && n - pos >= len) {
          // Fast path: a whole single-frame message is here.
          const from = pos;
          pos += len;
          this.#msgOp = 0;
          this.#fragments = 0;
          if (rsv !== 0) {
            if (masked) xorRange(buf, from, pos, key, 0);
            this.#sink.onCompressedMessage!(op === TEXT, buf.subarray(from, pos));
          } else if (op === TEXT) {
            if (this.#textBytes) this.#deliverTextBytes(buf, from, pos, masked ? key : 0);
            else this.#deliverText(buf, from, pos, masked ? key : 0);
          } else if (this.#reuse) {
            // Lent: a view of the caller's buffer, unmasked in place.
            if (masked) xorRange(buf, from, pos, key, 0);
            this.#sink.onMessage(buf.subarray(from, pos));
          } else {
            const out = buf.slice(from, pos);
            if (masked) xorMask(out, key, 0);
            this.#sink.onMessage(out);
          }
          continue;
        }
        if (op === TEXT && !this.#msgCompressed) (this.#utf8 ??= new Utf8Validator()).reset();
        this.#inPayload = true;
        this.#fin = fin;
        this.#masked = masked;
        this.#key = key;
        this.#remaining = len;
        this.#frameLen = len;
        this.#offset = 0;
        this.#grow(this.#accLen + len);
        if (len === 0) {
          this.#endFrame();
          if (this.#done) return n - start;
        }
        continue;
      }
      const avail = Math.min(this.#remaining, n - pos);
      const at = this.#accLen;
      this.#acc!.set(buf.subarray(pos, pos + avail), at);
      pos += avail;
      this.#payload(at, avail);
      if (this.#done) return n - start;
    }
    return pos - start;
  }

  /**
   * Where the next bytes of the current data frame's payload go, for a
   * caller that reads from the socket straight into the message buffer (no
   * copy through a read buffer): a view of at most the rest of the frame's
   * payload, or `null` when the parser is not inside a payload (or less than
   * `min` bytes of it remain, or it stopped). After writing `n` bytes at the
   * start of the view, call {@linkcode FrameParser.prototype.payloadWritten}
   * before anything else.
   *
   * @param min The fewest remaining payload bytes worth a direct read.
   * @returns The view, or `null`.
   */
  payloadTarget(min = 1): Uint8Array | null {
    if (!this.#inPayload || this.#done || this.#remaining < min) return null;
    const at = this.#accLen;
    return this.#acc!.subarray(at, at + this.#remaining);
  }

  /**
   * Lets go of the message buffer kept between messages for `reuseBuffer`:
   * the next message that arrives in pieces makes a new one. A caller whose
   * read buffer now holds whole frames calls it, so that a connection does
   * not keep both. Does nothing inside a message.
   */
  releaseBuffer(): void {
    if (!this.#inPayload && this.#msgOp === 0) this.#acc = null;
  }

  /**
   * The bytes a buffer needs to hold the data frame being read whole (its
   * payload and the longest header, 14 bytes), when that frame, had it
   * arrived whole in one `feed()`, would have been taken from the buffer
   * without a copy of its payload: a single-frame text or compressed
   * message, or a binary one with `reuseBuffer`. 0 otherwise: between frames,
   * for a fragment of a longer message or a binary message of the caller's
   * own, and after the parser stopped. A caller that reads large payloads
   * straight into {@linkcode FrameParser.prototype.payloadTarget} can ask it
   * how large a read buffer would take such frames whole instead.
   *
   * @returns The size, or 0.
   */
  get wholeFrameSize(): number {
    return this.#inPayload && !this.#done && this.#fin && this.#fragments === 1 &&
        (this.#reuse || this.#msgOp === TEXT || this.#msgCompressed)
      ? this.#frameLen + 14
      : 0;
  }

  /**
   * Accepts `n` payload bytes written at the start of the view that
   * {@linkcode FrameParser.prototype.payloadTarget} returned: unmasks and
   * checks them as `feed()` would, and delivers the message once complete.
   *
   * @param n How many bytes were written (at most the view's length).
   * @throws {RangeError} If no payload is expected or `n` is out of range.
   * @throws {WebSocketError} On invalid UTF-8 in a text message.
   */
  payloadWritten(n: number): void {
    if (!this.#inPayload || this.#done || !(n >= 0 && n <= this.#remaining)) {
      throw new RangeError(`Cannot accept ${n} payload bytes: ${this.#remaining} are expected`);
    }
    if (n > 0) this.#payload(this.#accLen, n);
  }

  /** Takes `n` payload bytes already copied to `acc[at..at+n)`. */
  #payload(at: number, n: number): void {
    const acc = this.#acc!;
    if (this.#masked) xorRange(acc, at, at + n, this.#key, this.#offset);
    if (this.#msgOp === TEXT && !this.#msgCompressed && !this.#utf8!.feed(acc, at, at + n)) {
      throw this.#fail(ErrorCode.InvalidUtf8);
    }
    this.#accLen = at + n;
    this.#offset += n;
    this.#remaining -= n;
    if (this.#remaining === 0) this.#endFrame();
  }

  #grow(need: number): void {
    const acc = this.#acc;
    if (acc !== null && acc.length >= need) return;
    if (acc !== null && this.#accLen === 0) {
      // A reused buffer too small for this message: replace it, no copy.
      this.#acc = new Uint8Array(need);
      return;
    }
    if (acc === null) {
      if (need > 0) this.#acc = new Uint8Array(need);
      return;
    }
    const next = new Uint8Array(Math.max(need, Math.min(acc.length * 2, this.#maxMessage)));
    next.set(acc.subarray(0, this.#accLen));
    this.#acc = next;
  }

  #endFrame(): void {
    this.#inPayload = false;
    if (!this.#fin) return;
    const op = this.#msgOp;
    const acc = this.#acc;
    const len = this.#accLen;
    // With reuse, the buffer stays for the next message (it is only lent to
    // onMessage); otherwise the message owns it.
    if (!this.#reuse || acc === null || acc.length > REUSE_MAX) this.#acc = null;
    this.#accLen = 0;
    this.#msgOp = 0;
    this.#fragments = 0;
    if (this.#msgCompressed) {
      this.#sink.onCompressedMessage!(op === TEXT, acc === null ? EMPTY : acc.subarray(0, len));
    } else if (op === TEXT) {
      if (!this.#utf8!.complete) throw this.#fail(ErrorCode.InvalidUtf8, "truncated sequence");
      if (this.#textBytes) {
        this.#lend(acc === null ? new Uint8Array(0) : acc.subarray(0, len));
      } else {
        this.#sink.onMessage(acc === null ? "" : this.#decode(acc, 0, len));
      }
    } else if (acc === null) {
      this.#sink.onMessage(new Uint8Array(0));
    } else if (this.#reuse) {
      this.#sink.onMessage(acc.subarray(0, len));
    } else {
      this.#sink.onMessage(acc.length === len ? acc : acc.slice(0, len));
    }
  }

  /** `decodeUtf8`, failing the parser with 1007 on invalid UTF-8. */
  #decode(bytes: Uint8Array, start: number, end: number): string {
    try {
      return decodeUtf8(bytes, start, end);
    } catch (err) {
      throw this.#fail(ErrorCode.InvalidUtf8, undefined, err);
    }
  }

  /** Text already found not to be all ASCII: the fatal decoder, 1007 on invalid UTF-8. */
  #decodeNonAscii(bytes: Uint8Array, start: number, end: number): string {
    try {
      return decodeUtf8Fatal(bytes, start, end);
    } catch (err) {
      throw this.#fail(ErrorCode.InvalidUtf8, undefined, err);
    }
  }

  /**
   * Unmasks (with `key`, 0 for none) and decodes the single-frame text
   * message `buf[start..end)`, and delivers it. While `onMessage` runs,
   * `lastText` names the string and its bytes, so that an echo of it copies
   * them instead of encoding the string again.
   */
  #deliverText(buf: Uint8Array, start: number, end: number, key: number): void {
    const s = this.#text(buf, start, end, key);
    const slot = lastText;
    slot.text = s;
    slot.buf = buf;
    slot.view = this.#viewOf === buf ? this.#view : null;
    slot.start = start;
    slot.end = end;
    try {
      this.#sink.onMessage(s);
    } finally {
      slot.text = null;
      slot.buf = EMPTY;
      slot.view = null;
    }
  }

  /**
   * Unmasks (with `key`, 0 for none) and validates the single-frame text
   * message `buf[start..end)`, and delivers its bytes to `sink.onText`.
   * Short text is unmasked straight into the shared lending buffer (a
   * reused view of its length, no view of `buf` per message), long text in
   * place, and either is checked for ASCII in the same pass; text that is
   * not all ASCII is validated as UTF-8 (1007 if it is not). A nested
   * delivery (a handler feeding another parser) falls back to a view of
   * `buf`, unmasked in place.
   */
  #deliverTextBytes(buf: Uint8Array, start: number, end: number, key: number): void {
    const n = end - start;
    if (n <= SHORT_TEXT) {
      // In place when the lending buffer is taken (a nested delivery), on a
      // big-endian machine, or if a handler detached it (`transfer()` of a
      // lent view's buffer: its views would be empty from then on).
      if (lastText.bytes !== null || !LEND_LE || LEND_BUF.length !== SHORT_TEXT) {
        this.#deliverTextInPlace(buf, start, end, key);
        return;
      }
      // Words read through a DataView (unaligned, little-endian: key byte 0
      // is the low byte), stored as aligned words of the lending buffer: a
      // quarter of the loads and stores of a byte loop.
      const dv = buf === this.#viewOf ? this.#view : this.#newView(buf);
      const out = LEND_WORDS;
      let or = 0;
      let i = start;
      let j = 0;
      for (const e4 = end - (n & 3); i < e4; i += 4) {
        const w = dv.getInt32(i, true) ^ key;
        out[j++] = w;
        or |= w;
      }
      for (; i < end; i++) {
        const c = buf[i]! ^ ((key >>> (((i - start) & 3) << 3)) & 0xff);
        LEND_BUF[i - start] = c;
        or |= c;
      }
      const bytes = LEND_BYTES[n]!;
      if ((or & 0x80808080) !== 0 && !isValidUtf8(bytes)) throw this.#fail(ErrorCode.InvalidUtf8);
      this.#lend(bytes, LEND_VIEW);
      return;
    }
    // ASCII (found while unmasking) is valid as it is.
    const or = unmaskText(buf, start, end, key);
    const bytes = buf.subarray(start, end);
    if ((or & 0x80) !== 0 && !isValidUtf8(bytes)) throw this.#fail(ErrorCode.InvalidUtf8);
    this.#lend(bytes);
  }

  /**
   * #deliverTextBytes for short text when the lending buffer is taken (a
   * nested delivery: a handler feeding another parser): unmasked in place
   * and lent as a view of `buf`.
   */
  #deliverTextInPlace(buf: Uint8Array, start: number, end: number, key: number): void {
    const or = this.#unmaskShort(buf, start, end, key);
    const bytes = buf.subarray(start, end);
    if ((or & 0x80808080) !== 0 && !isValidUtf8(bytes)) throw this.#fail(ErrorCode.InvalidUtf8);
    // #unmaskShort left the view of `buf` in #view.
    this.#lend(bytes, this.#view);
  }

  /**
   * Unmasks the short text `buf[start..end)` in place with `key` (0: not
   * masked), words through the buffer's DataView (unaligned, little-endian:
   * key byte 0 is the low byte), and returns the OR of its words and bytes:
   * a 0x80808080 bit is set when the text is not all ASCII.
   */
  #unmaskShort(buf: Uint8Array, start: number, end: number, key: number): number {
    const n = end - start;
    const dv = buf === this.#viewOf ? this.#view : this.#newView(buf);
    let or = 0;
    let i = start;
    for (const e4 = end - (n & 3); i < e4; i += 4) {
      const w = dv.getInt32(i, true) ^ key;
      dv.setInt32(i, w, true);
      or |= w;
    }
    for (; i < end; i++) {
      const c = buf[i]! ^ ((key >>> (((i - start) & 3) << 3)) & 0xff);
      buf[i] = c;
      or |= c;
    }
    return or;
  }

  /** A DataView of `buf`, kept until another buffer is fed. */
  #newView(buf: Uint8Array): DataView {
    this.#viewOf = buf;
    return this.#view = new DataView(buf.buffer, buf.byteOffset);
  }

  /**
   * Gives validated text `bytes` to `sink.onText`, naming them (and `view`,
   * a DataView of their buffer, or `null`) in `lastText` meanwhile (what
   * it named before is restored after).
   */
  #lend(bytes: Uint8Array, view: DataView | null = null): void {
    // Restored after, not cleared: an outer lend (a handler that fed
    // another parser) must still be named, or a second nested one would
    // reuse the shared lending buffer under it.
    const slot = lastText;
    const outerBytes = slot.bytes;
    const outerView = slot.bytesView;
    slot.bytes = bytes;
    slot.bytesView = view;
    try {
      this.#sink.onText!(bytes);
    } finally {
      slot.bytes = outerBytes;
      slot.bytesView = outerView;
    }
  }

  /**
   * Unmasks `buf[start..end)` in place with `key` (0: not masked) and
   * decodes it. ASCII, found while unmasking (words through a DataView for
   * short text, `unmaskText` for long), becomes its string by a native
   * Latin-1 copy (`decodeLatin1`, about 40 ns short); anything else goes to
   * the fatal TextDecoder, which validates as it decodes (about 250 ns
   * short, 630 ns for 1 KiB).
   */
  #text(buf: Uint8Array, start: number, end: number, key: number): string {
    if (end - start > SHORT_TEXT) {
      if ((unmaskText(buf, start, end, key) & 0x80) === 0) return decodeLatin1(buf, start, end);
      return this.#decodeNonAscii(buf, start, end);
    }
    const or = this.#unmaskShort(buf, start, end, key);
    if ((or & 0x80808080) === 0) return decodeLatin1(buf, start, end);
    return this.#decodeNonAscii(buf, start, end);
  }

  #control(op: number, payload: Uint8Array): void {
    if (op === PING) {
      this.#sink.onPing(payload);
    } else if (op === PONG) {
      this.#sink.onPong(payload);
    } else {
      const len = payload.length;
      let code = 1005;
      let reason = "";
      if (len === 1) throw this.#fail(ErrorCode.InvalidClosePayload);
      if (len >= 2) {
        code = (payload[0]! << 8) | payload[1]!;
        if (!isValidCloseCode(code)) throw this.#fail(ErrorCode.InvalidCloseCode, `${code}`);
        if (len > 2) {
          const r = payload.subarray(2);
          if (!isValidUtf8(r)) throw this.#fail(ErrorCode.InvalidUtf8, "close reason");
          reason = decodeUtf8(r, 0, r.length);
        }
      }
      this.#done = true;
      this.#acc = null;
      this.#sink.onClose(code, reason);
    }
  }

  #fail(code: ErrorCode, detail?: string, cause?: unknown): WebSocketError {
    this.#done = true;
    this.#acc = null;
    return protocolError(code, detail, cause);
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
/**
 * The largest buffer whose DataView the parser keeps between feeds: a
 * session's default read buffer size (a burst's larger buffer gets a view
 * per feed that has short text).
 */
const VIEW_KEEP = 1024;

/** Text up to this many bytes is tried as ASCII in JS before TextDecoder. */
const SHORT_TEXT = lending.LEND_MAX;
// Module-local copies: an imported binding is read through its module cell
// (with a hole check) on every use; a local const is a constant.
const lastText = lending.lastText;
const LEND_BUF = lending.LEND_BUF;
const LEND_WORDS = lending.LEND_WORDS;
const LEND_VIEW = lending.LEND_VIEW;
const LEND_BYTES = lending.LEND_BYTES;
const LEND_LE = lending.LEND_LE;
