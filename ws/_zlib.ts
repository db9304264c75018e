/**
 * Raw deflate and inflate for permessage-deflate (RFC 7692) on Deno's
 * `node:zlib`, synchronous, context-keeping and output-bounded.
 *
 * The streams drive the low-level handle of `node:zlib`'s raw streams
 * directly (see `_zlib_backend.ts`, which loads `node:zlib`, probes the
 * handle and counts open streams; its API is re-exported here). Where the
 * handle is missing, {@linkcode zlibBackend} reports `"none"` and
 * constructors throw {@linkcode ZlibUnavailableError}: the caller then
 * declines compression.
 *
 * `node:zlib` is loaded on the first constructor call (through
 * `process.getBuiltinModule`), never at import time, so importing this module
 * costs nothing until compression is really used.
 *
 * Every native call produces at most {@linkcode MAX_STEP_OUTPUT} bytes, so
 * the work between two checks of the output limit is bounded, and an inflate
 * bomb is stopped one step after it passes the limit.
 *
 * @module
 */
import {
  countDeflate,
  create,
  destroy,
  type Native,
  Z_NO_FLUSH,
  Z_SYNC_FLUSH,
  ZlibError,
} from "./_zlib_backend.ts";

export {
  deflateCount,
  liveStreams,
  zlibBackend,
  ZlibError,
  ZlibUnavailableError,
} from "./_zlib_backend.ts";

/** The 4 bytes a sync flush ends with (RFC 7692 section 7.2.1). */
export const SYNC_TAIL: Uint8Array = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** Most output one native zlib call may produce: 64 KiB. */
export const MAX_STEP_OUTPUT = 65536;

/** A failed inflate: the decompressed output passed the limit. */
export interface TooBig {
  /** Always `"too-big"`. */
  readonly kind: "too-big";
  /** The limit that was passed, in bytes. */
  readonly limit: number;
}

/** A failed inflate: the compressed data is not a valid deflate stream. */
export interface Invalid {
  /** Always `"invalid"`. */
  readonly kind: "invalid";
  /** zlib's message (for example `"invalid block type"`). */
  readonly reason: string;
}

// Scratch output buffers, one per direction for the whole process: every call
// is synchronous, and deflate copies its result out before returning.
const scratch = new Uint8Array(MAX_STEP_OUTPUT);
const inflateScratch = new Uint8Array(MAX_STEP_OUTPUT);
const EMPTY = new Uint8Array(0);

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${name}: must be an integer ${min}-${max}, got ${value}`);
  }
}

/** Options for {@linkcode RawDeflater}. */
export interface RawDeflaterOptions {
  /**
   * Compression level, 0 (store) to 9 (best).
   *
   * @default {6}
   */
  level?: number;
  /**
   * Window size as a power of two, 9-15 (zlib cannot deflate with 8; its
   * 9-bit output never refers back more than 250 bytes, see the tests).
   *
   * @default {15}
   */
  windowBits?: number;
  /**
   * zlib's memLevel, 1-9: memory for the match finder (2^(memLevel+9) bytes).
   *
   * @default {8}
   */
  memLevel?: number;
  /**
   * zlib's strategy: 0 default, 1 filtered, 2 Huffman only, 3 RLE, 4 fixed.
   *
   * @default {0}
   */
  strategy?: number;
}

/**
 * A raw deflate stream that keeps its window across calls (context takeover)
 * until {@linkcode RawDeflater.prototype.reset} is called.
 *
 * @example Two equal messages: the second one refers back to the first
 * ```ts
 * import { RawDeflater } from "./_zlib.ts";
 * import { ok } from "node:assert/strict";
 *
 * const d = new RawDeflater({ level: 6, windowBits: 15 });
 * const msg = new TextEncoder().encode("Hello, permessage-deflate!");
 * const first = d.compress(msg);
 * const second = d.compress(msg);
 * ok(second.length < first.length);
 * d.close();
 * ```
 */
export class RawDeflater {
  #n: Native | null;
  /** The window size this deflater really uses (8 is raised to 9 by zlib). */
  readonly windowBits: number;

  /**
   * Creates a deflater (and loads `node:zlib` on first use).
   *
   * @param options Level, window bits, memLevel and strategy.
   * @throws {RangeError} If an option is out of range.
   * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
   */
  constructor(options: RawDeflaterOptions = {}) {
    const level = options.level ?? 6;
    const windowBits = options.windowBits ?? 15;
    const memLevel = options.memLevel ?? 8;
    const strategy = options.strategy ?? 0;
    checkInt("level", level, 0, 9);
    checkInt("windowBits", windowBits, 8, 15);
    checkInt("memLevel", memLevel, 1, 9);
    checkInt("strategy", strategy, 0, 4);
    this.windowBits = windowBits === 8 ? 9 : windowBits;
    this.#n = create("deflate", { level, windowBits: this.windowBits, memLevel, strategy });
  }

  /**
   * Compresses one message: all of `data` followed by a sync flush, with the
   * flush's trailing `00 00 ff ff` removed (RFC 7692 section 7.2.1). An empty
   * message gives the single byte `00`.
   *
   * @param data The message, in one piece or several.
   * @returns The compressed payload, a new array owned by the caller.
   * @throws {Error} If the deflater is closed.
   * @throws {ZlibError} If zlib fails (it should not).
   *
   * @example The empty message
   * ```ts
   * import { RawDeflater } from "./_zlib.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const d = new RawDeflater();
   * deepEqual(d.compress(new Uint8Array(0)), new Uint8Array([0]));
   * d.close();
   * ```
   */
  compress(data: Uint8Array | readonly Uint8Array[]): Uint8Array {
    const n = this.#n;
    if (n === null) throw new Error("Cannot compress: the deflater is closed");
    let size = 0;
    if (data instanceof Uint8Array) size = data.length;
    else for (let i = 0; i < data.length; i++) size += data[i]!.length;
    // The empty message is an empty stored block. zlib would emit nothing
    // for a second flush in a row (Z_BUF_ERROR), and the block changes no
    // window, so it is written here without touching the stream.
    if (size === 0) return new Uint8Array(1);
    countDeflate();
    this.#full = null;
    this.#total = 0;
    this.#outOff = 0;
    if (data instanceof Uint8Array) {
      this.#run(n, data, true);
    } else {
      let rest = size;
      for (let i = 0; rest > 0; i++) {
        const chunk = data[i]!;
        rest -= chunk.length;
        this.#run(n, chunk, rest === 0);
      }
    }
    const total = this.#total;
    const outOff = this.#outOff;
    const full = this.#full as Uint8Array[] | null;
    this.#full = null;
    let out: Uint8Array;
    if (full === null) {
      out = scratch.slice(0, outOff);
    } else {
      out = new Uint8Array(total);
      let o = 0;
      for (const p of full) {
        out.set(p, o);
        o += p.length;
      }
      out.set(scratch.subarray(0, outOff), o);
    }
    if (
      total < 5 || out[total - 4] !== 0 || out[total - 3] !== 0 || out[total - 2] !== 0xff ||
      out[total - 1] !== 0xff
    ) {
      n.handle.reset();
      throw new ZlibError("the sync flush did not end with 00 00 ff ff", 0);
    }
    return out.subarray(0, total - 4);
  }

  // Output of the message in progress: full 64 KiB pieces, bytes in
  // `scratch`, total.
  #full: Uint8Array[] | null = null;
  #outOff = 0;
  #total = 0;

  // Feeds one chunk, flushing after it when `flush`.
  #run(n: Native, input: Uint8Array, flush: boolean): void {
    const flag = flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    let inOff = 0;
    let inLen = input.length;
    if (inLen === 0 && !flush) return;
    for (;;) {
      const outOff = this.#outOff;
      const outLen = MAX_STEP_OUTPUT - outOff;
      n.handle.writeSync(flag, input, inOff, inLen, scratch, outOff, outLen);
      if (n.error !== null) throw this.#fail(n);
      const availOut = n.state[0]!;
      const availIn = n.state[1]!;
      const produced = outLen - availOut;
      this.#total += produced;
      this.#outOff = outOff + produced;
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut === 0) {
        (this.#full ??= []).push(scratch.slice(0, MAX_STEP_OUTPUT));
        this.#outOff = 0;
        continue;
      }
      if (inLen === 0) return;
    }
  }

  #fail(n: Native): ZlibError {
    const err = new ZlibError(n.error ?? "unknown", n.errno);
    n.error = null;
    n.handle.reset();
    return err;
  }

  /**
   * Forgets the window (`deflateReset`): the next message is compressed as if
   * it were the first, as `server_no_context_takeover` requires.
   *
   * @example A reset deflater repeats itself
   * ```ts
   * import { RawDeflater } from "./_zlib.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const d = new RawDeflater();
   * const msg = new TextEncoder().encode("same bytes, same output");
   * const a = d.compress(msg);
   * d.reset();
   * deepEqual(d.compress(msg), a);
   * d.close();
   * ```
   */
  reset(): void {
    this.#n?.handle.reset();
  }

  /**
   * Frees the native stream at once; nothing stays pending. Idempotent.
   *
   * @example Closing twice is harmless
   * ```ts
   * import { RawDeflater } from "./_zlib.ts";
   * import { throws } from "node:assert/strict";
   *
   * const d = new RawDeflater();
   * d.close();
   * d.close();
   * throws(() => d.compress(new Uint8Array(1)));
   * ```
   */
  close(): void {
    const n = this.#n;
    this.#n = null;
    if (n) destroy(n);
  }
}

/**
 * A raw inflate stream for permessage-deflate messages, with its window kept
 * across messages until {@linkcode RawInflater.prototype.reset}.
 *
 * Two ways to use it: {@linkcode RawInflater.prototype.inflate} for a whole
 * message at once, or {@linkcode RawInflater.prototype.push} and
 * {@linkcode RawInflater.prototype.pull} to take the output in pieces of at
 * most 64 KiB (and yield to other work between pieces).
 *
 * A message that ends with a final (BFINAL) block ends the deflate stream:
 * the inflater then resets itself after the message, so the next message
 * starts a fresh stream (RFC 7692 section 7.2.3.5). Data after the end of the
 * stream inside the same message is invalid.
 *
 * @example Round trip
 * ```ts
 * import { RawDeflater, RawInflater } from "./_zlib.ts";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const d = new RawDeflater();
 * const i = new RawInflater();
 * const msg = new TextEncoder().encode("round trip");
 * deepEqual(i.inflate(d.compress(msg), 1024), msg);
 * d.close();
 * i.close();
 * ```
 */
export class RawInflater {
  #n: Native | null;
  /** The window size, 8-15. */
  readonly windowBits: number;
  // Input being inflated.
  #input: Uint8Array = SYNC_TAIL;
  #inOff = 0;
  #inLen = 0;
  // Whether the current input is the last of the message (the tail follows).
  #last = false;
  // Whether the tail was fed.
  #tailFed = true;
  // Whether the deflate stream ended (BFINAL) inside this message.
  #ended = false;

  /**
   * Creates an inflater (and loads `node:zlib` on first use).
   *
   * @param windowBits The window size as a power of two, 8-15. Inflating
   *   with a larger window than the sender's is always safe.
   * @throws {RangeError} If `windowBits` is out of range.
   * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
   */
  constructor(windowBits = 15) {
    checkInt("windowBits", windowBits, 8, 15);
    this.windowBits = windowBits;
    this.#n = create("inflate", { windowBits });
  }

  /**
   * Inflates one whole message (its fragments' payloads, in order) and
   * appends the sync-flush tail. Output is produced in steps of at most
   * 64 KiB and counted as it is produced: past `maxOutput` bytes it stops at
   * once and returns a {@linkcode TooBig} without having produced the rest.
   *
   * After a {@linkcode TooBig} or an {@linkcode Invalid} the inflater has
   * been reset: its window is gone, so a context-takeover peer cannot go on
   * (the connection is closed anyway).
   *
   * @param data The compressed payload, in one piece or several.
   * @param maxOutput The largest allowed output, in bytes.
   * @returns The message, or why it could not be inflated.
   * @throws {Error} If the inflater is closed.
   *
   * @example An inflate bomb is stopped at the limit
   * ```ts
   * import { RawDeflater, RawInflater } from "./_zlib.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const d = new RawDeflater();
   * const bomb = d.compress(new Uint8Array(1 << 20)); // 1 MiB of zeros, ~1 KiB
   * const i = new RawInflater();
   * deepEqual(i.inflate(bomb, 65536), { kind: "too-big", limit: 65536 });
   * d.close();
   * i.close();
   * ```
   */
  inflate(
    data: Uint8Array | readonly Uint8Array[],
    maxOutput: number,
  ): Uint8Array | TooBig | Invalid {
    this.#pieces = null;
    this.#count = 0;
    let failed: TooBig | Invalid | null = null;
    if (data instanceof Uint8Array) {
      this.push(data, true);
      failed = this.#drain(maxOutput);
    } else if (data.length === 0) {
      this.push(EMPTY, true);
      failed = this.#drain(maxOutput);
    } else {
      const last = data.length - 1;
      for (let c = 0; c <= last && failed === null; c++) {
        this.push(data[c]!, c === last);
        failed = this.#drain(maxOutput);
      }
    }
    const pieces = this.#pieces as Uint8Array[] | null;
    this.#pieces = null;
    if (failed !== null) return failed;
    if (pieces === null) return new Uint8Array(0);
    if (pieces.length === 1) return pieces[0]!;
    const out = new Uint8Array(this.#count);
    let o = 0;
    for (const p of pieces) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  // Output of inflate() so far.
  #pieces: Uint8Array[] | null = null;
  #count = 0;

  // Pulls everything the pushed input gives; stops one step past `max`.
  #drain(max: number): TooBig | Invalid | null {
    for (;;) {
      const room = max - this.#count + 1;
      const got = this.pull(room < MAX_STEP_OUTPUT ? room : MAX_STEP_OUTPUT);
      if (got === null) return null;
      if (!(got instanceof Uint8Array)) return got;
      this.#count += got.length;
      if (this.#count > max) {
        this.#abort();
        return { kind: "too-big", limit: max };
      }
      (this.#pieces ??= []).push(got.slice());
    }
  }

  /**
   * Hands the inflater the next piece of a message's compressed payload.
   * Call {@linkcode RawInflater.prototype.pull} until it returns `null`
   * before pushing the next piece.
   *
   * @param data Compressed bytes; not copied, keep them unchanged until
   *   `pull()` returned `null`.
   * @param last Whether this piece ends the message (the tail follows).
   * @throws {Error} If the inflater is closed or input is still pending.
   *
   * @example Pulling a message in pieces
   * ```ts
   * import { RawDeflater, RawInflater } from "./_zlib.ts";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const d = new RawDeflater();
   * const i = new RawInflater();
   * i.push(d.compress(new Uint8Array(200_000)), true);
   * let total = 0;
   * for (let got = i.pull(65536); got !== null; got = i.pull(65536)) {
   *   if (!(got instanceof Uint8Array)) throw new Error(got.kind);
   *   total += got.length; // one piece, a view valid until the next call
   * }
   * equal(total, 200_000);
   * d.close();
   * i.close();
   * ```
   */
  push(data: Uint8Array, last: boolean): void {
    if (this.#n === null) throw new Error("Cannot inflate: the inflater is closed");
    if (this.#inLen > 0 || !this.#tailFed) {
      throw new Error("Cannot push: the previous input is not consumed");
    }
    // After the end of the stream (a final block), pull() reports any
    // further data as invalid.
    this.#input = data;
    this.#inOff = 0;
    this.#inLen = data.length;
    this.#last = last;
    this.#tailFed = !last;
  }

  /**
   * Runs zlib once on the pushed input, producing at most `maxBytes`
   * (capped at 64 KiB) of output.
   *
   * @param maxBytes The most output wanted from this step.
   * @returns A view of the output (valid until the next `pull()` on any
   *   inflater in the process: copy what you keep), `null` when the pushed input is used up
   *   (after the last piece: the message is complete), or an
   *   {@linkcode Invalid} (the inflater is then reset).
   * @throws {Error} If the inflater is closed.
   *
   * @example Garbage is reported, not thrown
   * ```ts
   * import { RawInflater } from "./_zlib.ts";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const i = new RawInflater();
   * i.push(new Uint8Array([0xff, 0xff, 0xff]), true);
   * const got = i.pull(1024);
   * equal(got !== null && !(got instanceof Uint8Array) && got.kind, "invalid");
   * i.close();
   * ```
   */
  pull(maxBytes: number): Uint8Array | Invalid | null {
    const n = this.#n;
    if (n === null) throw new Error("Cannot inflate: the inflater is closed");
    const outLen = maxBytes < MAX_STEP_OUTPUT ? (maxBytes > 0 ? maxBytes : 1) : MAX_STEP_OUTPUT;
    for (;;) {
      if (this.#inLen === 0) {
        if (this.#tailFed) {
          if (this.#last) this.#finishMessage();
          return null;
        }
        this.#input = SYNC_TAIL;
        this.#inOff = 0;
        this.#inLen = 4;
        this.#tailFed = true;
      }
      const isTail = this.#input === SYNC_TAIL;
      if (this.#ended) {
        if (isTail) {
          // The tail after a final block is not part of the stream.
          this.#inLen = 0;
          continue;
        }
        return this.#invalid("data after the end of the deflate stream");
      }
      n.handle.writeSync(
        Z_SYNC_FLUSH,
        this.#input,
        this.#inOff,
        this.#inLen,
        inflateScratch,
        0,
        outLen,
      );
      if (n.error !== null) {
        const reason = n.error;
        n.error = null;
        return this.#invalid(reason);
      }
      const availOut = n.state[0]!;
      const availIn = n.state[1]!;
      const produced = outLen - availOut;
      this.#inOff += this.#inLen - availIn;
      this.#inLen = availIn;
      // zlib stops with input left and room in the output only at the end
      // of the stream (a block with BFINAL set).
      if (availIn > 0 && availOut > 0) this.#ended = true;
      if (produced > 0) return inflateScratch.subarray(0, produced);
    }
  }

  #finishMessage(): void {
    this.#last = false;
    if (this.#ended) {
      this.#ended = false;
      this.#n?.handle.reset();
    }
  }

  #invalid(reason: string): Invalid {
    this.#abort();
    return { kind: "invalid", reason };
  }

  // Drops the message in progress and the window.
  #abort(): void {
    this.#input = SYNC_TAIL;
    this.#inOff = 0;
    this.#inLen = 0;
    this.#tailFed = true;
    this.#last = false;
    this.#ended = false;
    this.#n?.handle.reset();
  }

  /**
   * Forgets the window and any message in progress (`inflateReset`), as
   * `client_no_context_takeover` allows after every message.
   *
   * @example Reset between independent streams
   * ```ts
   * import { RawDeflater, RawInflater } from "./_zlib.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const i = new RawInflater();
   * for (const text of ["one", "two"]) {
   *   const d = new RawDeflater();
   *   const msg = new TextEncoder().encode(text);
   *   deepEqual(i.inflate(d.compress(msg), 100), msg);
   *   i.reset();
   *   d.close();
   * }
   * i.close();
   * ```
   */
  reset(): void {
    this.#abort();
  }

  /**
   * Frees the native stream at once; nothing stays pending. Idempotent.
   *
   * @example Closing twice is harmless
   * ```ts
   * import { RawInflater } from "./_zlib.ts";
   * import { throws } from "node:assert/strict";
   *
   * const i = new RawInflater();
   * i.close();
   * i.close();
   * throws(() => i.inflate(new Uint8Array([0]), 10));
   * ```
   */
  close(): void {
    const n = this.#n;
    this.#n = null;
    if (n) destroy(n);
  }
}
