import {
  BACKSLASH,
  COLON,
  CR,
  DQUOTE,
  EQUALS,
  FIELD_VALUE,
  HEX,
  isOws,
  LF,
  QDTEXT,
  SEMICOLON,
  showByte,
  TCHAR,
} from "./_chars.ts";
import { decodeLatin1 } from "../text.ts";
import { intOption } from "../options.ts";
import { HttpErrorCode } from "./errors.ts";
import type { HeaderList } from "./header_list.ts";
import { headerListFromRaw } from "./_raw_header_list.ts";
import { fail } from "./_fail.ts";

/** Options of {@linkcode ChunkedDecoder}. */
export interface ChunkedDecoderOptions {
  /**
   * Longest chunk size line in bytes (size and extensions, without CRLF).
   * Crossing it throws `HttpError` 400 `invalid-chunk`.
   *
   * @default {4096}
   */
  maxChunkLineLength?: number;
  /**
   * Largest trailer section in bytes (field lines with their CRLFs and the
   * final CRLF). Crossing it throws `HttpError` 400 `trailers-too-large`.
   *
   * @default {8192}
   */
  maxTrailerSize?: number;
  /**
   * Most trailer field lines. One more throws `HttpError` 400
   * `trailers-too-large`.
   *
   * @default {100}
   */
  maxTrailerCount?: number;
}

const ST_SIZE = 0;
const ST_DATA = 1;
const ST_DATA_CR = 2;
const ST_DATA_LF = 3;
const ST_TRAILER = 4;
const ST_DONE = 5;

/** Hex digits allowed in a chunk size (leading zeros included). */
const MAX_SIZE_DIGITS = 16;

/**
 * Incremental decoder of a chunked message body (RFC 9112 section 7.1): chunk
 * sizes, extensions (validated, then ignored), data, and the trailer section.
 * Pure: no I/O, no copy of body data.
 *
 * Call {@linkcode ChunkedDecoder.decode} with the bytes at hand. Each call
 * yields at most one span of body data, as offsets into the input, and
 * returns how many input bytes it consumed; call again with the rest. A size
 * or trailer line split across inputs is kept in a small internal buffer (and
 * counted as consumed). After the last chunk and trailers, `done` is true and
 * the bytes after the returned count belong to the next message.
 *
 * @example Decoding a body that arrives in one buffer
 * ```ts
 * import { ChunkedDecoder } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const input = new TextEncoder().encode("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nNEXT");
 * const decoder = new ChunkedDecoder();
 * let body = "";
 * let rest = input;
 * while (!decoder.done) {
 *   const used = decoder.decode(rest);
 *   if (decoder.dataLength > 0) {
 *     const { dataStart, dataLength } = decoder;
 *     body += new TextDecoder().decode(rest.subarray(dataStart, dataStart + dataLength));
 *   }
 *   rest = rest.subarray(used);
 * }
 * equal(body, "hello world");
 * equal(decoder.trailers?.get("x-sum"), "1");
 * equal(new TextDecoder().decode(rest), "NEXT");
 * ```
 */
export class ChunkedDecoder {
  #dataStart = 0;
  #dataLength = 0;
  #done = false;
  #trailers: HeaderList | null = null;

  #maxLine: number;
  #maxTrailerSize: number;
  #maxTrailerCount: number;

  #state = ST_SIZE;
  #remaining = 0;

  // Partial line spill.
  #spill: Uint8Array | null = null;
  #spillLen = 0;
  // Where the last collected line is: buffer, start, index of its LF.
  #lineBuf: Uint8Array | null = null;
  #lineStart = 0;
  #lineEnd = 0;

  // Trailer section: field lines (without CRLF) back to back, and offsets.
  #tbuf: Uint8Array | null = null;
  #tlen = 0;
  #tsize = 0;
  #toffs: number[] = [];

  /**
   * Creates a decoder.
   *
   * @param options Limits.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(options: ChunkedDecoderOptions = {}) {
    const o = options;
    this.#maxLine = intOption("ChunkedDecoder", "maxChunkLineLength", o.maxChunkLineLength, 4096);
    this.#maxTrailerSize = intOption("ChunkedDecoder", "maxTrailerSize", o.maxTrailerSize, 8192);
    this.#maxTrailerCount = intOption("ChunkedDecoder", "maxTrailerCount", o.maxTrailerCount, 100);
  }

  /**
   * Start, in the input of the last {@linkcode ChunkedDecoder.prototype.decode}
   * call, of the body data that call found.
   *
   * @returns An index into that input.
   */
  get dataStart(): number {
    return this.#dataStart;
  }

  /**
   * Length of the body data the last `decode()` call found (0 if none: every
   * call starts by forgetting the previous span).
   *
   * @returns Bytes.
   */
  get dataLength(): number {
    return this.#dataLength;
  }

  /**
   * Whether the last chunk and the trailer section have been consumed.
   *
   * @returns `true` once the body is complete.
   */
  get done(): boolean {
    return this.#done;
  }

  /**
   * The trailer fields, once {@linkcode ChunkedDecoder.prototype.done}, if
   * there were any.
   *
   * @returns The trailers, or `null`.
   */
  get trailers(): HeaderList | null {
    return this.#trailers;
  }

  /**
   * Decodes from `input`. After the call, if `dataLength > 0`,
   * `input.subarray(dataStart, dataStart + dataLength)` is body data.
   *
   * @param input The next bytes of the body; not retained.
   * @returns How many bytes of `input` were consumed: all of them, except
   * after a data span (call again with the rest) or when the body ends (the
   * rest is not part of it). 0 only when `input` is empty or the body is done.
   * @throws {HttpError} 400 with code `invalid-chunk`, `chunk-too-large`,
   * `trailers-too-large` or a field code for a bad trailer. The decoder must
   * be reset before further use.
   */
  decode(input: Uint8Array): number {
    this.#dataLength = 0;
    const len = input.length;
    let p = 0;
    while (p < len) {
      switch (this.#state) {
        case ST_SIZE: {
          p = this.#collect(input, p, len, this.#maxLine, false);
          if (p < 0) return len;
          this.#sizeLine(this.#lineBuf!, this.#lineStart, this.#lineEnd);
          continue;
        }
        case ST_DATA: {
          const avail = len - p;
          const n = this.#remaining < avail ? this.#remaining : avail;
          this.#dataStart = p;
          this.#dataLength = n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = ST_DATA_CR;
          return p + n;
        }
        case ST_DATA_CR:
          if (input[p] !== CR) this.#missingCrlf(input[p]!);
          p++;
          this.#state = ST_DATA_LF;
          continue;
        case ST_DATA_LF:
          if (input[p] !== LF) this.#missingCrlf(input[p]!);
          p++;
          this.#state = ST_SIZE;
          continue;
        case ST_TRAILER: {
          const budget = this.#maxTrailerSize - this.#tsize - 2;
          if (budget < 0) this.#trailersTooLarge();
          p = this.#collect(input, p, len, budget, true);
          if (p < 0) return len;
          if (this.#trailerLine(this.#lineBuf!, this.#lineStart, this.#lineEnd)) {
            this.#finish();
            return p;
          }
          continue;
        }
        default:
          return 0;
      }
    }
    return p;
  }

  /** Forgets all state: ready for the next body. Keeps allocated buffers. */
  reset(): void {
    this.#dataStart = 0;
    this.#dataLength = 0;
    this.#done = false;
    this.#trailers = null;
    this.#state = ST_SIZE;
    this.#remaining = 0;
    this.#spillLen = 0;
    this.#lineBuf = null;
    this.#tlen = 0;
    this.#tsize = 0;
    this.#toffs = [];
  }

  /**
   * Finds the LF ending the current line, at most `max` bytes of content plus
   * CRLF. Returns the index after the LF and records where the line is, or -1
   * when `input` ran out (its bytes are kept).
   */
  #collect(input: Uint8Array, p: number, len: number, max: number, trailer: boolean): number {
    const used = this.#spillLen;
    const room = max + 2 - used;
    let lim = p + room;
    if (lim > len) lim = len;
    let q = p;
    while (q < lim && input[q] !== LF) q++;
    if (q === lim) {
      if (lim < len || room <= 0) {
        if (trailer) this.#trailersTooLarge();
        fail(
          HttpErrorCode.InvalidChunk,
          `Cannot parse chunk: size line longer than ${this.#maxLine} bytes (maxChunkLineLength)`,
        );
      }
      this.#append(input, p, len);
      return -1;
    }
    if (used === 0) {
      this.#lineBuf = input;
      this.#lineStart = p;
      this.#lineEnd = q;
    } else {
      this.#append(input, p, q + 1);
      this.#lineBuf = this.#spill;
      this.#lineStart = 0;
      this.#lineEnd = this.#spillLen - 1;
      this.#spillLen = 0;
    }
    return q + 1;
  }

  #append(input: Uint8Array, s: number, e: number): void {
    const need = this.#spillLen + e - s;
    let spill = this.#spill;
    if (spill === null || spill.length < need) {
      let cap = spill === null ? 64 : spill.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      if (spill !== null) grown.set(spill.subarray(0, this.#spillLen));
      this.#spill = spill = grown;
    }
    spill.set(input.subarray(s, e), this.#spillLen);
    this.#spillLen = need;
  }

  /** Validates a size line `buf[s, lf)` and moves to data or trailers. */
  #sizeLine(buf: Uint8Array, s: number, lf: number): void {
    if (lf === s || buf[lf - 1] !== CR) {
      fail(HttpErrorCode.BareLf, "Cannot parse chunk: size line ends with a bare LF");
    }
    const e = lf - 1;
    let p = s;
    let size = 0;
    let h = 0;
    while (p < e && (h = HEX[buf[p]!]!) !== 255) {
      size = size * 16 + h;
      p++;
    }
    if (p === s) {
      fail(
        HttpErrorCode.InvalidChunk,
        p < e
          ? `Cannot parse chunk: size line starts with ${showByte(buf[p]!)}, expected a hex digit`
          : "Cannot parse chunk: empty size line",
      );
    }
    if (p - s > MAX_SIZE_DIGITS) {
      fail(
        HttpErrorCode.InvalidChunk,
        `Cannot parse chunk: size has more than ${MAX_SIZE_DIGITS} digits`,
      );
    }
    if (size > Number.MAX_SAFE_INTEGER) {
      fail(
        HttpErrorCode.ChunkTooLarge,
        "Cannot parse chunk: size is larger than Number.MAX_SAFE_INTEGER",
      );
    }
    if (p < e) this.#extensions(buf, p, e);
    if (size === 0) {
      this.#state = ST_TRAILER;
    } else {
      this.#remaining = size;
      this.#state = ST_DATA;
    }
  }

  /** Validates `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` in `buf[p, e)`. */
  #extensions(buf: Uint8Array, p: number, e: number): void {
    while (p < e) {
      while (p < e && isOws(buf[p]!)) p++;
      if (p === e || buf[p] !== SEMICOLON) this.#badExtension(buf, p, e);
      p++;
      while (p < e && isOws(buf[p]!)) p++;
      const name = p;
      while (p < e && TCHAR[buf[p]!] === 1) p++;
      if (p === name) this.#badExtension(buf, p, e);
      let q = p;
      while (q < e && isOws(buf[q]!)) q++;
      if (q === e || buf[q] !== EQUALS) continue;
      p = q + 1;
      while (p < e && isOws(buf[p]!)) p++;
      if (p < e && buf[p] === DQUOTE) {
        p++;
        for (;;) {
          if (p >= e) this.#badExtension(buf, p, e);
          const b = buf[p]!;
          if (b === DQUOTE) break;
          if (b === BACKSLASH) {
            p++;
            if (p >= e || (QDTEXT[buf[p]!] !== 1 && buf[p] !== DQUOTE && buf[p] !== BACKSLASH)) {
              this.#badExtension(buf, p, e);
            }
          } else if (QDTEXT[b] !== 1) {
            this.#badExtension(buf, p, e);
          }
          p++;
        }
        p++;
      } else {
        const value = p;
        while (p < e && TCHAR[buf[p]!] === 1) p++;
        if (p === value) this.#badExtension(buf, p, e);
      }
    }
  }

  #badExtension(buf: Uint8Array, p: number, e: number): never {
    fail(
      HttpErrorCode.InvalidChunk,
      p < e
        ? `Cannot parse chunk: malformed chunk extension at ${showByte(buf[p]!)}`
        : "Cannot parse chunk: malformed chunk extension at the end of the size line",
    );
  }

  #missingCrlf(b: number): never {
    fail(
      HttpErrorCode.InvalidChunk,
      `Cannot parse chunk: expected CRLF after chunk data, found ${showByte(b)}`,
    );
  }

  #trailersTooLarge(): never {
    fail(
      HttpErrorCode.TrailersTooLarge,
      `Cannot parse trailers: more than ${this.#maxTrailerSize} bytes (maxTrailerSize)`,
    );
  }

  /** Validates a trailer line `buf[s, lf)`; returns true for the final empty line. */
  #trailerLine(buf: Uint8Array, s: number, lf: number): boolean {
    if (lf === s || buf[lf - 1] !== CR) {
      fail(HttpErrorCode.BareLf, "Cannot parse trailers: line ends with a bare LF");
    }
    const e = lf - 1;
    this.#tsize += lf + 1 - s;
    if (e === s) return true;
    const b0 = buf[s]!;
    if (isOws(b0)) fail(HttpErrorCode.ObsFold, "Cannot parse trailers: obsolete line folding");
    let p = s;
    while (p < e && TCHAR[buf[p]!] === 1) p++;
    if (p === e || buf[p] !== COLON || p === s) {
      const b = p < e ? buf[p]! : CR;
      if (p > s && isOws(b)) {
        fail(
          HttpErrorCode.WhitespaceBeforeColon,
          "Cannot parse trailers: whitespace before the colon",
        );
      }
      fail(
        HttpErrorCode.InvalidHeaderName,
        p === e
          ? "Cannot parse trailers: field line without a colon"
          : `Cannot parse trailers: name has ${showByte(b)}`,
      );
    }
    const nameEnd = p;
    p++;
    while (p < e && isOws(buf[p]!)) p++;
    const vs = p;
    for (; p < e; p++) {
      // Any non-zero class: VCHAR, SP, HTAB, obs-text.
      if (FIELD_VALUE[buf[p]!]! !== 0) continue;
      fail(
        buf[p] === CR ? HttpErrorCode.BareCr : HttpErrorCode.InvalidHeaderValue,
        `Cannot parse trailers: value has forbidden byte ${showByte(buf[p]!)}`,
      );
    }
    let ve = e;
    while (ve > vs && isOws(buf[ve - 1]!)) ve--;
    if (this.#toffs.length >> 2 >= this.#maxTrailerCount) {
      fail(
        HttpErrorCode.TrailersTooLarge,
        `Cannot parse trailers: more than ${this.#maxTrailerCount} fields (maxTrailerCount)`,
      );
    }
    // Keep the line for the HeaderList: append buf[s, e) to the trailer buffer.
    const base = this.#tlen;
    const need = base + e - s;
    let tbuf = this.#tbuf;
    if (tbuf === null || tbuf.length < need) {
      let cap = tbuf === null ? 256 : tbuf.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      if (tbuf !== null) grown.set(tbuf.subarray(0, base));
      this.#tbuf = tbuf = grown;
    }
    tbuf.set(buf.subarray(s, e), base);
    this.#tlen = need;
    this.#toffs.push(base, base + nameEnd - s, base + vs - s, base + ve - s);
    return false;
  }

  #finish(): void {
    this.#state = ST_DONE;
    this.#done = true;
    if (this.#toffs.length > 0) {
      const tbuf = this.#tbuf!;
      const raw = decodeLatin1(tbuf, 0, this.#tlen);
      this.#trailers = headerListFromRaw(raw, this.#toffs);
      this.#toffs = [];
    }
  }
}
