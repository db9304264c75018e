import { BufferLimitError, StreamClosedError, UnexpectedEofError } from "./errors.ts";
import { intOption } from "./options.ts";
import type { Reader } from "./types.ts";

/** Options for {@linkcode BufReader}. */
export interface BufReaderOptions {
  /**
   * Initial buffer capacity in bytes. The buffer starts this small so that an
   * idle connection costs little, doubles while reads keep filling it, and
   * shrinks back once it is drained.
   *
   * @default {2048}
   */
  initialSize?: number;
  /**
   * The most a single `read()` call on the underlying reader is offered. The
   * buffer can still grow past it when a caller asks for more bytes at once
   * (`readExactly(n)` with a large `n`, or a long delimiter search).
   *
   * @default {65536}
   */
  maxReadSize?: number;
  /**
   * Bytes that were read from the reader earlier (for example by an HTTP
   * server, past a request head) and must be returned before anything else.
   * They are copied.
   */
  prefix?: Uint8Array;
}

/**
 * The result of {@linkcode BufReader.prototype.detach}: the underlying reader
 * and the bytes read from it that nobody consumed.
 *
 * @example Handing a reader on
 * ```ts
 * import { BufReader, type Detached, type Reader } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("HEADrest");
 * let sent = false;
 * const source: Reader = {
 *   read(p) {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const reader = new BufReader(source);
 * await reader.fill();
 * reader.consume(4);
 * const detached: Detached<Reader> = reader.detach();
 * equal(detached.conn, source);
 * equal(new TextDecoder().decode(detached.buffered), "rest");
 * ```
 */
export interface Detached<R> {
  /** The reader (typically a `Deno.Conn`) the buffered reader wrapped. */
  conn: R;
  /** A copy of the bytes that were buffered but not yet consumed, in order. */
  buffered: Uint8Array;
}

const EMPTY = new Uint8Array(0);
/**
 * Small reads in a row after which a grown, drained buffer shrinks back:
 * alternating large and small reads (request bodies) must not thrash.
 */
const SHRINK_AFTER = 4;

/**
 * The read-buffer size policy shared by {@linkcode BufReader} and the
 * WebSocket session's receiver: a buffer doubles (up to `max`) while reads
 * fill it, and goes back to `initial` once it is drained after
 * {@linkcode SHRINK_AFTER} (4) small reads in a row (reads under half of
 * `initial`), so an idle connection costs little and alternating large and
 * small reads do not thrash.
 *
 * @param cap The buffer's size now.
 * @param initial The size it starts at and shrinks back to.
 * @param max The size it grows to at most.
 * @param filled Whether the last read filled the whole buffer.
 * @param smallReads Small reads in a row so far (0 unless the buffer is drained).
 * @returns The size the buffer should have for the next read.
 *
 * @example Growing under load, shrinking when quiet
 * ```ts
 * import { adaptBufferSize } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(adaptBufferSize(1024, 1024, 65536, true, 0), 2048);
 * equal(adaptBufferSize(65536, 1024, 65536, true, 0), 65536);
 * equal(adaptBufferSize(8192, 1024, 65536, false, 3), 8192);
 * equal(adaptBufferSize(8192, 1024, 65536, false, 4), 1024);
 * ```
 */
export function adaptBufferSize(
  cap: number,
  initial: number,
  max: number,
  filled: boolean,
  smallReads: number,
): number {
  if (filled) return cap < max ? Math.min(cap * 2, max) : cap;
  if (cap > initial && smallReads >= SHRINK_AFTER) return initial;
  return cap;
}

/**
 * Whether a read of `n` bytes counts as small for {@linkcode adaptBufferSize}.
 *
 * @param n The bytes read.
 * @param initial The buffer's initial size.
 * @returns `true` for a read under half the initial size.
 *
 * @example Usage
 * ```ts
 * import { isSmallRead } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isSmallRead(100, 1024), true);
 * equal(isSmallRead(600, 1024), false);
 * ```
 */
export function isSmallRead(n: number, initial: number): boolean {
  return n < initial >>> 1;
}
const NULL: Promise<null> = Promise.resolve(null);

/**
 * A buffered reader over a `Deno.Conn` (or any {@linkcode Reader}) for
 * protocol code: read until a delimiter with a cap, read exactly N bytes, read
 * what is there, peek, consume, and {@linkcode BufReader.prototype.detach}
 * that hands the reader and the unconsumed bytes to a new owner.
 *
 * Views returned by `peek()`, `readUntil()`, `readExactly()` and `readSome()`
 * point into the internal buffer: they stay valid until the next call that
 * reads from the underlying reader (`fill()` and the `read*()` methods). Copy
 * them if you need them longer.
 *
 * @example Reading lines and a fixed-size block
 * ```ts
 * import { BufReader } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const data = new TextEncoder().encode("hello\r\nworld!rest");
 * let sent = false;
 * const reader = {
 *   read(p: Uint8Array): Promise<number | null> {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(data);
 *     return Promise.resolve(data.length);
 *   },
 * };
 * const br = new BufReader(reader);
 * const crlf = new Uint8Array([13, 10]);
 * const line = await br.readUntil(crlf, 1024);
 * assertEquals(new TextDecoder().decode(line!), "hello\r\n");
 * const block = await br.readExactly(6);
 * assertEquals(new TextDecoder().decode(block), "world!");
 * const { buffered } = br.detach();
 * assertEquals(new TextDecoder().decode(buffered), "rest");
 * ```
 */
export class BufReader<R extends Reader = Reader> {
  #reader: R;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #detached = false;
  #initialSize: number;
  #maxReadSize: number;
  #lastRead = 0;
  /** Consecutive reads smaller than half the initial size. */
  #smallReads = 0;

  /**
   * Wraps a reader.
   *
   * @param reader The reader to buffer, typically a `Deno.Conn`.
   * @param options Buffer sizes and an optional prefix of already-read bytes.
   * @throws {RangeError} If `initialSize` is not an integer >= 16 or
   * `maxReadSize` not an integer >= `initialSize`.
   */
  constructor(reader: R, options: BufReaderOptions = {}) {
    const initialSize = intOption("BufReader", "initialSize", options.initialSize, 2048, 16);
    const maxReadSize = intOption(
      "BufReader",
      "maxReadSize",
      options.maxReadSize,
      Math.max(65536, initialSize),
      initialSize,
    );
    this.#reader = reader;
    this.#initialSize = initialSize;
    this.#maxReadSize = maxReadSize;
    const prefix = options.prefix;
    if (prefix !== undefined && prefix.byteLength > 0) {
      this.#buf = new Uint8Array(Math.max(initialSize, prefix.byteLength));
      this.#buf.set(prefix);
      this.#end = prefix.byteLength;
    } else {
      this.#buf = new Uint8Array(initialSize);
    }
  }

  /**
   * Number of bytes buffered and not yet consumed.
   *
   * @returns The count.
   */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * The internal buffer, for reading the buffered bytes without making a
   * view: they are `bytes[offset, offset + buffered)`. Valid until the next
   * fill, which may replace or shift it (see {@linkcode BufReader.offset}).
   *
   * @returns The buffer (not a copy).
   *
   * @example Feeding a parser a range instead of a view
   * ```ts
   * import { BufReader } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const data = new TextEncoder().encode("abcdef");
   * const br = new BufReader({ read: (p: Uint8Array) => (p.set(data), Promise.resolve(6)) });
   * await br.fill();
   * br.consume(2);
   * const { bytes, offset, buffered } = br;
   * equal(new TextDecoder().decode(bytes.subarray(offset, offset + buffered)), "cdef");
   * ```
   */
  get bytes(): Uint8Array {
    return this.#buf;
  }

  /**
   * Where the first unconsumed byte is in {@linkcode BufReader.bytes}.
   *
   * @returns The index.
   */
  get offset(): number {
    return this.#start;
  }

  /**
   * Whether the underlying reader reported end of stream. Buffered bytes may
   * remain.
   *
   * @returns `true` after EOF was seen.
   */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * Current capacity of the internal buffer, in bytes (for memory accounting).
   *
   * @returns The capacity.
   */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /**
   * The buffered, unconsumed bytes, without copying or consuming them.
   *
   * @param max The most bytes to view, at least 0 (all buffered bytes by default).
   * @returns A view into the internal buffer.
   *
   * @example The first bytes only
   * ```ts
   * import { BufReader } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const bytes = new TextEncoder().encode("abcdef");
   * const br = new BufReader({ read: (p: Uint8Array) => (p.set(bytes), Promise.resolve(6)) });
   * await br.fill();
   * equal(new TextDecoder().decode(br.peek(2)), "ab");
   * equal(br.peek(100).length, 6);
   * equal(br.buffered, 6); // nothing consumed
   * ```
   */
  peek(max?: number): Uint8Array {
    const end = max === undefined || max >= this.#end - this.#start ? this.#end : this.#start + max;
    return this.#buf.subarray(this.#start, end);
  }

  /**
   * Marks `n` buffered bytes as consumed.
   *
   * @param n How many bytes to consume.
   * @throws {RangeError} If `n` is negative or more than is buffered.
   */
  consume(n: number): void {
    if (n < 0 || n > this.#end - this.#start) {
      throw new RangeError(
        `Cannot consume ${n} bytes: only ${this.#end - this.#start} are buffered`,
      );
    }
    this.#start += n;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  /**
   * Reads once from the underlying reader, appending to the buffer. Makes
   * room first by compacting, growing (while reads keep filling the buffer) or
   * shrinking (when the buffer is empty and oversized).
   *
   * @param minFree Make at least this much room before reading.
   * @returns The number of bytes added, or `null` at end of stream.
   * @throws {StreamClosedError} If the reader was detached.
   */
  fill(minFree = 1): Promise<number | null> {
    if (this.#detached) {
      return Promise.reject(new StreamClosedError("Cannot read: BufReader is detached"));
    }
    if (this.#eof) return NULL;
    this.#makeRoom(minFree);
    // Not an async function: an idle connection then holds only the pending
    // read, not a suspended frame as well.
    return this.#reader.read(this.#free()).then(this.#onRead);
  }

  /**
   * {@linkcode BufReader.prototype.fill} in two halves, for a hot read loop
   * that awaits the read itself: `beginFill()` makes room and starts the read
   * (the underlying reader's own promise, with no reaction of the
   * `BufReader` on it: one promise hop less per read), and the loop hands
   * what it resolved to to {@linkcode BufReader.prototype.endFill} before it
   * uses the reader again. Until then the bytes read are not buffered.
   *
   * @example A read loop
   * ```ts
   * import { BufReader } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const parts = ["ab", "c"].map((s) => new TextEncoder().encode(s));
   * const reader = {
   *   read(p: Uint8Array): Promise<number | null> {
   *     const part = parts.shift();
   *     if (part === undefined) return Promise.resolve(null);
   *     p.set(part);
   *     return Promise.resolve(part.length);
   *   },
   * };
   * const br = new BufReader(reader);
   * let total = 0;
   * for (let n; (n = br.endFill(await br.beginFill())) !== null;) total += n;
   * equal(total, 3);
   * equal(new TextDecoder().decode(br.peek()), "abc");
   * equal(br.eof, true);
   * ```
   *
   * @param minFree Make at least this much room before reading.
   * @returns What the underlying read resolves to: pass it to `endFill()`.
   * @throws {StreamClosedError} If the reader was detached.
   */
  beginFill(minFree = 1): Promise<number | null> {
    if (this.#detached) {
      return Promise.reject(new StreamClosedError("Cannot read: BufReader is detached"));
    }
    if (this.#eof) return NULL;
    this.#makeRoom(minFree);
    return this.#reader.read(this.#free());
  }

  /**
   * Accounts for a read started by {@linkcode BufReader.prototype.beginFill}.
   *
   * @param n What that read resolved to.
   * @returns The number of bytes added, or `null` at end of stream.
   */
  endFill(n: number | null): number | null {
    return this.#onRead(n);
  }

  /**
   * Swaps the drained internal buffer for a new one of the initial size, so
   * that views of the old one handed out before (`peek()`, `read()`) stay
   * intact while the next read fills the new buffer.
   *
   * @example Views survive the next read
   * ```ts
   * import { BufReader } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const parts = ["ab", "cd"].map((s) => new TextEncoder().encode(s));
   * const reader = {
   *   read(p: Uint8Array): Promise<number | null> {
   *     const part = parts.shift();
   *     if (part === undefined) return Promise.resolve(null);
   *     p.set(part);
   *     return Promise.resolve(part.length);
   *   },
   * };
   * const br = new BufReader(reader);
   * await br.fill();
   * const first = br.peek();
   * br.consume(2);
   * br.renewBuffer();
   * await br.fill();
   * equal(new TextDecoder().decode(first), "ab");
   * equal(new TextDecoder().decode(br.peek()), "cd");
   * ```
   *
   * @throws {RangeError} If bytes are still buffered.
   */
  renewBuffer(): void {
    if (this.#end !== this.#start) {
      throw new RangeError(
        `Cannot renew the buffer: ${this.#end - this.#start} bytes are still buffered`,
      );
    }
    this.#buf = new Uint8Array(this.#initialSize);
    this.#start = 0;
    this.#end = 0;
  }

  /** The free space after the buffered bytes (the whole buffer when drained: no view made). */
  #free(): Uint8Array {
    return this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
  }

  #onRead = (n: number | null): number | null => {
    if (n === null) {
      this.#eof = true;
      return null;
    }
    this.#end += n;
    this.#lastRead = n;
    this.#smallReads = isSmallRead(n, this.#initialSize) ? this.#smallReads + 1 : 0;
    return n;
  };

  #makeRoom(minFree: number): void {
    const len = this.#end - this.#start;
    let cap = this.#buf.byteLength;
    if (len === 0) {
      this.#start = 0;
      this.#end = 0;
      // Grow while reads fill the buffer; give back a buffer that grew for
      // a burst once reads are small again.
      const next = adaptBufferSize(
        cap,
        this.#initialSize,
        this.#maxReadSize,
        this.#lastRead === cap,
        this.#smallReads,
      );
      if (next !== cap) {
        cap = Math.max(next, minFree);
        this.#buf = new Uint8Array(cap);
      }
      if (cap >= minFree) return;
    }
    const free = cap - this.#end;
    if (
      free >= minFree &&
      (free >= cap >>> 2 || (this.#start === 0 && cap >= this.#maxReadSize))
    ) return;
    if (cap - len >= minFree && (len <= cap >>> 1 || cap >= this.#maxReadSize)) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = len;
      return;
    }
    let next = cap * 2;
    while (next - len < minFree) next *= 2;
    const buf = new Uint8Array(next);
    buf.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = buf;
    this.#start = 0;
    this.#end = len;
  }

  /**
   * Reads until `delim` and consumes through it.
   *
   * @param delim The delimiter (at least one byte).
   * @param maxBytes The most bytes, delimiter included, to buffer while
   * looking for it.
   * @returns A view of the bytes up to and including the delimiter, or `null`
   * if the stream ended with nothing buffered.
   * @throws {BufferLimitError} If the delimiter is not within `maxBytes`.
   * @throws {UnexpectedEofError} If the stream ends after some bytes but
   * before the delimiter.
   */
  async readUntil(delim: Uint8Array, maxBytes: number): Promise<Uint8Array | null> {
    if (delim.length === 0) throw new RangeError("Cannot search for an empty delimiter");
    let searched = 0;
    for (;;) {
      const view = this.peek();
      const at = indexOf(view, delim, searched);
      if (at >= 0) {
        const n = at + delim.length;
        if (n > maxBytes) throw new BufferLimitError(maxBytes);
        const start = this.#start;
        this.consume(n);
        // consume() may reset offsets to 0 when drained; the bytes stay put.
        return this.#buf.subarray(start, start + n);
      }
      if (view.length >= maxBytes) throw new BufferLimitError(maxBytes);
      searched = Math.max(0, view.length - delim.length + 1);
      const n = await this.fill();
      if (n === null) {
        if (this.buffered === 0) return null;
        throw new UnexpectedEofError(this.buffered + 1, this.buffered);
      }
    }
  }

  /**
   * Reads exactly `n` bytes and consumes them.
   *
   * @param n How many bytes.
   * @returns A view of the `n` bytes.
   * @throws {UnexpectedEofError} If the stream ends first.
   */
  async readExactly(n: number): Promise<Uint8Array> {
    while (this.buffered < n) {
      const got = await this.fill(n - this.buffered);
      if (got === null) throw new UnexpectedEofError(n, this.buffered);
    }
    const start = this.#start;
    this.consume(n);
    return this.#buf.subarray(start, start + n);
  }

  /**
   * Returns what is buffered (up to `max` bytes), reading once first if
   * nothing is, and consumes it.
   *
   * @param max The most bytes to return.
   * @returns A view of the bytes, or `null` at end of stream.
   */
  async readSome(max: number = Infinity): Promise<Uint8Array | null> {
    if (this.buffered === 0) {
      const got = await this.fill();
      if (got === null) return null;
    }
    const n = Math.min(max, this.buffered);
    const start = this.#start;
    this.consume(n);
    return this.#buf.subarray(start, start + n);
  }

  /**
   * Stops using the reader and hands it back with a copy of the unconsumed
   * bytes. Later reads through this `BufReader` throw.
   *
   * @returns The reader and the bytes read from it but not consumed.
   * @throws {StreamClosedError} If already detached.
   */
  detach(): Detached<R> {
    if (this.#detached) throw new StreamClosedError("Cannot detach: BufReader is detached");
    this.#detached = true;
    const buffered = this.buffered === 0 ? EMPTY : this.peek().slice();
    this.#buf = EMPTY;
    this.#start = 0;
    this.#end = 0;
    return { conn: this.#reader, buffered };
  }
}

/**
 * Finds `needle` in `hay` starting at `from`.
 *
 * @param hay Where to look.
 * @param needle What to find.
 * @param from The first index to consider.
 * @returns The index, or -1.
 *
 * @example Finding the end of a head
 * ```ts
 * import { indexOf } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\nbody");
 * const crlf2 = new TextEncoder().encode("\r\n\r\n");
 * equal(indexOf(bytes, crlf2), 14);
 * equal(indexOf(bytes, crlf2, 15), -1);
 * ```
 */
export function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const nl = needle.length;
  const last = hay.length - nl;
  let i = from;
  while (i <= last) {
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let j = 1;
    while (j < nl && hay[i + j] === needle[j]) j++;
    if (j === nl) return i;
    i++;
  }
  return -1;
}
