import { StreamClosedError } from "./errors.ts";
import { intOption } from "./options.ts";
import type { Writer } from "./types.ts";

/**
 * Told when a flush started with {@linkcode BufWriter.prototype.startFlush}
 * is over.
 *
 * @example A listener
 * ```ts
 * import { BufWriter, type FlushListener } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Count implements FlushListener {
 *   n = 0;
 *   flushed(): void {
 *     this.n++;
 *   }
 * }
 * const count = new Count();
 * const w = new BufWriter({ write: (p: Uint8Array) => Promise.resolve(p.length) });
 * w.write(new Uint8Array(1));
 * w.startFlush(count);
 * await w.flush();
 * equal(count.n, 1);
 * ```
 */
export interface FlushListener {
  /** Everything staged was written, or a write failed (the writer is closed then). */
  flushed(): void;
}

/** Options for {@linkcode BufWriter}. */
export interface BufWriterOptions {
  /**
   * Size of the pooled staging buffers. Writes accumulate in one until
   * `flush()`; a larger burst gets a larger, unpooled buffer.
   *
   * @default {16384}
   */
  bufferSize?: number;
}

/**
 * Base-size staging buffers kept for reuse: 16 MiB of them at the default
 * size. A fan-out to a thousand subscribers has a thousand writes in flight
 * at once; a pool of 256 made it allocate (and zero) the other 744 buffers
 * every turn.
 */
const POOL_BYTES = 16 << 20;
/**
 * Grown staging buffers (the base size doubled until a large write fits) are
 * pooled too, up to this capacity, keeping at most `GROWN_POOL_BYTES` of
 * each capacity: a stream of 64 KiB messages then reuses a few buffers
 * instead of allocating (and zeroing) one per message.
 */
const GROWN_MAX = 1 << 20;
const GROWN_POOL_BYTES = 1 << 20;
const pools = new Map<number, Uint8Array[]>();
/** The pool used last and its capacity (most writers use one size: no map lookup then). */
let lastPool: Uint8Array[] = [];
let lastCap = -1;

/** The pool of buffers of `cap` bytes (made on first use). */
function poolOf(cap: number): Uint8Array[] {
  if (cap === lastCap) return lastPool;
  let pool = pools.get(cap);
  if (pool === undefined) {
    pool = [];
    pools.set(cap, pool);
  }
  lastCap = cap;
  return lastPool = pool;
}

function take(size: number, want: number): Uint8Array {
  let cap = size;
  while (cap < want) cap *= 2;
  if (cap === size || cap <= GROWN_MAX) {
    const buf = poolOf(cap).pop();
    if (buf !== undefined) return buf;
  }
  return new Uint8Array(cap);
}

/** Gives `buf` back to its pool; returns whether the pool kept it. */
function give(size: number, buf: Uint8Array): boolean {
  const cap = buf.byteLength;
  let max: number;
  if (cap === size) max = Math.max(1, Math.floor(POOL_BYTES / cap));
  else if (cap > size && cap <= GROWN_MAX) max = Math.max(1, Math.floor(GROWN_POOL_BYTES / cap));
  else return false;
  const pool = poolOf(cap);
  if (pool.length >= max) return false;
  pool.push(buf);
  return true;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * The UTF-8 length of a string, without encoding it. Lone surrogates count
 * as U+FFFD (3 bytes), as `TextEncoder` writes them.
 *
 * @param s The string.
 * @returns Its length in bytes as UTF-8.
 *
 * @example Usage
 * ```ts
 * import { utf8Length } from "@coroio/core";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(utf8Length("h\u00e9llo \u2603 \u{1F600}"), 15);
 * ```
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 2; // 4 bytes for 2 code units
        i++;
      } else len += 2;
    } else len += 2;
  }
  return len;
}

/**
 * A write buffer over a `Deno.Conn` (or any {@linkcode Writer}) that coalesces
 * small writes into one syscall and accounts the bytes not yet handed to the
 * kernel.
 *
 * `write()` copies the bytes into a staging buffer and returns at once;
 * `flush()` writes everything staged. Writes made while a flush is in flight
 * are staged in a second buffer and go out together in the next syscall, so a
 * burst of small messages costs few syscalls. Staging buffers come from a
 * shared pool and go back to it once written: an idle writer holds no buffer.
 *
 * @example Coalescing three writes into one syscall
 * ```ts
 * import { BufWriter } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const syscalls: number[] = [];
 * const sink = {
 *   write(p: Uint8Array): Promise<number> {
 *     syscalls.push(p.length);
 *     return Promise.resolve(p.length);
 *   },
 * };
 * const w = new BufWriter(sink);
 * w.write(new Uint8Array(3));
 * w.write(new Uint8Array(4));
 * w.write(new Uint8Array(5));
 * assertEquals(w.buffered, 12);
 * await w.flush();
 * assertEquals(syscalls, [12]);
 * assertEquals(w.buffered, 0);
 * ```
 */
export class BufWriter<W extends Writer = Writer> {
  #writer: W;
  #size: number;
  #staged: Uint8Array = EMPTY;
  #stagedLen = 0;
  #inflight = 0;
  #flushing: Promise<void> | null = null;
  #error: unknown = null;
  #closed = false;

  /**
   * Wraps a writer.
   *
   * @param writer The writer, typically a `Deno.Conn`.
   * @param options Staging buffer size.
   * @throws {RangeError} If `bufferSize` is not an integer >= 64.
   */
  constructor(writer: W, options: BufWriterOptions = {}) {
    const size = intOption("BufWriter", "bufferSize", options.bufferSize, 16384, 64);
    this.#writer = writer;
    this.#size = size;
  }

  /**
   * Bytes accepted by `write()` and not yet handed to the kernel, including
   * those of a write in flight. This is the figure backpressure policies use.
   *
   * @returns The count.
   */
  get buffered(): number {
    return this.#stagedLen + this.#inflight;
  }

  /**
   * Whether a flush is in progress.
   *
   * @returns `true` while bytes are being written.
   */
  get flushing(): boolean {
    return this.#flushing !== null;
  }

  /**
   * The writer this buffers.
   *
   * @returns The wrapped writer.
   */
  get writer(): W {
    return this.#writer;
  }

  /**
   * Stages a copy of `chunk`. Nothing is written until {@linkcode flush}.
   *
   * @param chunk The bytes; the caller may reuse the array at once.
   * @throws {StreamClosedError} If the writer was closed or an earlier write
   * failed.
   */
  write(chunk: Uint8Array): void {
    if (this.#closed) this.#throwClosed();
    const n = chunk.byteLength;
    if (n === 0) return;
    this.#reserve(n).set(chunk, this.#stagedLen - n);
  }

  /**
   * Stages `n` bytes and returns the view to fill in, so that a caller can
   * encode straight into the write buffer without an intermediate copy.
   *
   * @param n How many bytes to reserve.
   * @returns A view of exactly `n` staged bytes, valid until the next call on
   * this writer.
   * @throws {StreamClosedError} If the writer was closed or failed.
   */
  reserve(n: number): Uint8Array {
    if (this.#closed) this.#throwClosed();
    const buf = this.#reserve(n);
    return buf.subarray(this.#stagedLen - n, this.#stagedLen);
  }

  /**
   * Stages a string as Latin-1 (one byte per UTF-16 code unit, as HTTP heads
   * are written). Code units above 0xFF are replaced by `?`.
   *
   * @param s The string.
   * @throws {StreamClosedError} If the writer was closed or failed.
   */
  writeLatin1(s: string): void {
    if (this.#closed) this.#throwClosed();
    const n = s.length;
    const buf = this.#reserve(n);
    let at = this.#stagedLen - n;
    if (n >= 64) {
      // ASCII is the common case and encodes natively (faster than the loop
      // from about 64 characters): UTF-8 of an ASCII string is its Latin-1.
      // Any other character makes it stop short.
      if (encoder.encodeInto(s, buf.subarray(at, at + n)).read === n) return;
    }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      buf[at++] = c > 0xff ? 0x3f : c;
    }
  }

  /**
   * Stages a string as UTF-8 whose encoded length the caller already knows
   * (see `utf8Length`), encoding it straight into the write buffer.
   *
   * @param s The string.
   * @param byteLength Its UTF-8 length in bytes.
   * @throws {StreamClosedError} If the writer was closed or failed.
   * @throws {RangeError} If `byteLength` is not the string's UTF-8 length.
   */
  writeUtf8(s: string, byteLength: number): void {
    if (this.#closed) this.#throwClosed();
    if (byteLength === s.length && byteLength < 64) {
      // Short ASCII: a loop beats the native call.
      const buf = this.#reserve(byteLength);
      const at = this.#stagedLen - byteLength;
      for (let i = 0; i < byteLength; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          this.#stagedLen = at;
          throw new RangeError(`Cannot write string: its UTF-8 length is not ${byteLength}`);
        }
        buf[at + i] = c;
      }
      return;
    }
    const buf = this.#reserve(byteLength);
    const at = this.#stagedLen - byteLength;
    const r = encoder.encodeInto(s, buf.subarray(at, at + byteLength));
    if (r.read !== s.length || r.written !== byteLength) {
      this.#stagedLen = at;
      throw new RangeError(`Cannot write string: its UTF-8 length is not ${byteLength}`);
    }
  }

  #reserve(n: number): Uint8Array {
    let buf = this.#staged;
    const need = this.#stagedLen + n;
    if (need > buf.byteLength) {
      const next = take(this.#size, need);
      if (this.#stagedLen > 0) next.set(buf.subarray(0, this.#stagedLen));
      if (buf !== EMPTY) give(this.#size, buf);
      this.#staged = buf = next;
    }
    this.#stagedLen = need;
    return buf;
  }

  #throwClosed(): never {
    if (this.#error !== null) {
      throw new StreamClosedError(
        `Cannot write: an earlier write failed (${errText(this.#error)})`,
      );
    }
    throw new StreamClosedError("Cannot write: writer is closed");
  }

  /**
   * Writes every staged byte. Concurrent calls share one flush; writes staged
   * meanwhile are included before it resolves.
   *
   * @returns A promise that resolves once all staged bytes were handed to the
   * kernel.
   * @throws {StreamClosedError} If the writer was closed, or the underlying
   * write failed (the original error is the `cause`).
   */
  flush(): Promise<void> {
    if (this.#flushing === null) {
      if (this.#error !== null) {
        return Promise.reject(
          new StreamClosedError(
            `Cannot write: an earlier write failed (${errText(this.#error)})`,
            { cause: this.#error },
          ),
        );
      }
      if (this.#stagedLen === 0) return Promise.resolve();
      this.#flushing = this.#flushStaged();
    }
    // One promise for every caller of this flush.
    return this.#waited ??= this.#flushing.then(this.#checkWritten);
  }

  /**
   * Starts writing every staged byte, like {@linkcode BufWriter.prototype.flush},
   * for a caller that does not wait for it: no promise is made for the
   * caller. A failed write closes the writer all the same (the next
   * `write()` or `flush()` throws). `listener.flushed()` is called once
   * everything staged until then is written or the write failed.
   *
   * @example Writing in the background
   * ```ts
   * import { BufWriter } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const sink = { write: (p: Uint8Array) => Promise.resolve(p.length) };
   * const w = new BufWriter(sink);
   * const done = Promise.withResolvers<void>();
   * w.write(new Uint8Array(5));
   * w.startFlush({ flushed: () => done.resolve() });
   * equal(w.flushing, true);
   * await done.promise;
   * equal(w.buffered, 0);
   * ```
   *
   * @param listener Told when the flush is over.
   */
  startFlush(listener?: FlushListener): void {
    if (listener !== undefined) this.#listener = listener;
    if (this.#flushing === null) {
      if (this.#error === null && this.#stagedLen > 0) this.#flushing = this.#flushStaged();
      else this.#flushOver();
    }
  }

  // A flush is a chain of reactions with callbacks bound once (no async
  // function, no promise for a caller that does not wait) that never
  // rejects: a failure is kept in #error, and flush() turns it into its
  // rejection. The write in flight: its buffer, length and progress.
  #cur: Uint8Array = EMPTY;
  /** The view #flushStaged() made last, and the buffer it views. */
  #view: Uint8Array = EMPTY;
  #viewOf: Uint8Array = EMPTY;
  #curLen = 0;
  #curOff = 0;
  #listener: FlushListener | null = null;
  /** What flush() returns for the flush in flight. */
  #waited: Promise<void> | null = null;

  /** Takes the staged bytes and starts writing them. */
  #flushStaged(): Promise<void> {
    const buf = this.#staged;
    const len = this.#stagedLen;
    this.#staged = EMPTY;
    this.#stagedLen = 0;
    this.#inflight = len;
    this.#cur = buf;
    this.#curLen = len;
    this.#curOff = 0;
    // The view of the last flush when it was of this buffer and length (a
    // keep-alive connection sends same-sized responses from the buffer it
    // gets back from the pool each time).
    let view = this.#view;
    if (this.#viewOf !== buf || view.length !== len) {
      view = this.#view = buf.subarray(0, len);
      this.#viewOf = buf;
    }
    return this.#writeCurrent(view);
  }

  #writeCurrent(view: Uint8Array): Promise<void> {
    let pending: Promise<number>;
    try {
      pending = this.#writer.write(view);
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number): Promise<void> | undefined => {
    const len = this.#curLen;
    const off = this.#curOff += n;
    if (off < len) {
      this.#inflight = len - off;
      return this.#writeCurrent(this.#cur.subarray(off, len));
    }
    this.#doneWithCurrent();
    // Bytes staged while this write was in flight go out before the flush settles.
    if (this.#stagedLen > 0) return this.#flushStaged();
    this.#flushing = null;
    this.#waited = null;
    this.#flushOver();
    return undefined;
  };

  #onWriteFailed = (err: unknown): void => {
    this.#doneWithCurrent();
    this.#flushing = null;
    this.#waited = null;
    this.#error = err;
    this.#closed = true;
    this.#release();
    this.#flushOver();
  };

  #checkWritten = (): void => {
    const err = this.#error;
    if (err !== null) throw new StreamClosedError(`Cannot write: ${errText(err)}`, { cause: err });
  };

  #doneWithCurrent(): void {
    this.#inflight = 0;
    // A buffer the pool did not keep must not stay reachable from an idle
    // writer through the kept view.
    if (this.#cur !== EMPTY && !give(this.#size, this.#cur)) this.#forgetView();
    this.#cur = EMPTY;
  }

  #forgetView(): void {
    this.#view = EMPTY;
    this.#viewOf = EMPTY;
  }

  #flushOver(): void {
    const listener = this.#listener;
    if (listener === null) return;
    this.#listener = null;
    try {
      listener.flushed();
    } catch {
      // A listener that throws must not break the writer.
    }
  }

  #release(): void {
    if (this.#staged !== EMPTY) give(this.#size, this.#staged);
    this.#staged = EMPTY;
    this.#stagedLen = 0;
    if (this.#cur === EMPTY) this.#forgetView();
  }

  /**
   * Drops staged bytes and refuses further writes. Does not close the
   * underlying writer; a flush in flight finishes on its own.
   */
  close(): void {
    this.#closed = true;
    this.#release();
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
