import {
  bytesEqualLower,
  COLON,
  CR,
  FIELD_VALUE,
  HOST,
  HTAB,
  LF,
  showByte,
  SP,
  TARGET,
  TCHAR,
} from "./_chars.ts";
import { intOption } from "../options.ts";
import { HttpErrorCode } from "./errors.ts";
import { RequestHead } from "./head.ts";
import { headerListFromRaw } from "./_raw_header_list.ts";
import { fail } from "./_fail.ts";
import { Framing } from "./_framing.ts";
import { HeadText } from "./_head_text.ts";

/** Options of {@linkcode RequestParser}. */
export interface RequestParserOptions {
  /**
   * Largest head in bytes, from the request line through the final CRLFCRLF.
   * Crossing it throws `HttpError` 431 `head-too-large`.
   *
   * @default {16384}
   */
  maxHeadSize?: number;
  /**
   * Longest request line in bytes, without its CRLF. Crossing it throws
   * `HttpError` 414 `request-line-too-long`.
   *
   * @default {8192}
   */
  maxRequestLineLength?: number;
  /**
   * Most header field lines. One more throws `HttpError` 431
   * `too-many-headers`.
   *
   * @default {100}
   */
  maxHeaderCount?: number;
}

// Scanner states.
const ST_START = 0; // before the request line (empty lines allowed)
const ST_START_LF = 1; // after a CR of an empty line before the request line
const ST_METHOD = 2;
const ST_TARGET = 3;
const ST_VERSION = 4;
const ST_REQUEST_LF = 5;
const ST_LINE = 6; // start of a field line or of the final empty line
const ST_NAME = 7;
const ST_OWS = 8; // whitespace after the colon
const ST_VALUE = 9;
const ST_VALUE_LF = 10;
const ST_END_LF = 11;

/** Expected bytes of "HTTP/1.1" + CR; positions 5 and 7 take any digit. */
const VERSION_PATTERN = new Uint8Array([0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, CR]);

/** Empty lines (CRLF) tolerated before a request line (RFC 9112 2.2 asks for at least one). */
const MAX_LEADING_EMPTY_LINES = 4;

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
const M_GET = 0;
const M_HEAD = 1;
const M_POST = 2;
const M_PUT = 3;
const M_DELETE = 4;
const M_CONNECT = 5;
const M_OPTIONS = 6;
const M_TRACE = 7;
const M_PATCH = 8;

/** Index in METHODS of the method in `buf[s, s + n)`, or -1. */
function internMethod(buf: Uint8Array, s: number, n: number): number {
  const b0 = buf[s]!;
  switch (n) {
    case 3:
      if (b0 === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return M_GET;
      if (b0 === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) return M_PUT;
      return -1;
    case 4:
      if (b0 === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54) {
        return M_POST;
      }
      if (b0 === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) {
        return M_HEAD;
      }
      return -1;
    default: {
      const id = n === 5
        ? (b0 === 0x50 ? M_PATCH : M_TRACE)
        : n === 6
        ? M_DELETE
        : n === 7
        ? (b0 === 0x43 ? M_CONNECT : M_OPTIONS)
        : -1;
      if (id < 0) return -1;
      const m = METHODS[id]!;
      for (let i = 0; i < n; i++) if (buf[s + i] !== m.charCodeAt(i)) return -1;
      return id;
    }
  }
}

/**
 * Incremental, allocation-light parser of an HTTP/1.1 (and 1.0) request head
 * (RFC 9112), strict about framing: it rejects everything that could let a
 * request be read two ways (see {@linkcode HttpErrorCode} for the list).
 *
 * Feed it bytes as they arrive. It never does I/O and never looks past the
 * head: when the head completes, {@linkcode RequestParser.feed} returns how
 * many bytes of the chunk the head used, and the rest (body, next request,
 * or an upgraded protocol) belongs to the caller. Bytes of a head split
 * across chunks are kept in a spill buffer that never grows past
 * `maxHeadSize`; a head that arrives in one chunk is not copied except
 * once into the resulting {@linkcode RequestHead}. A head with pipelined
 * heads behind it in its chunk is decoded together with them (up to 1 KiB):
 * the next head, fed from where it ended, is cut from that text once its
 * bytes were compared with a copy of the decoded ones.
 *
 * Choices beyond the RFC text: a bare LF line ending is rejected (400
 * `bare-lf`, strict); up to 4 empty lines before the request line are
 * skipped (they count in the returned consumed bytes, not in
 * `headLength`); the authority form is accepted only with CONNECT, and
 * CONNECT only with it (whether to serve CONNECT is the server's call);
 * `#` in a target is rejected; Content-Length repeated with identical values
 * (in a list or on several lines) is accepted; empty list elements in
 * Transfer-Encoding or Content-Length are rejected; `Expect: 100-continue`
 * and `Upgrade` are ignored in HTTP/1.0 requests (RFC 9110 10.1.1 and 7.8).
 *
 * @example Parsing a head and finding where the body starts
 * ```ts
 * import { RequestParser } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
 * );
 * const parser = new RequestParser();
 * const used = parser.feed(bytes);
 * equal(parser.head!.contentLength, 2);
 * equal(new TextDecoder().decode(bytes.subarray(used)), "hi");
 * parser.reset(); // ready for the next request
 * ```
 *
 * @example Bytes arriving in pieces
 * ```ts
 * import { RequestParser } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const parser = new RequestParser();
 * const enc = new TextEncoder();
 * equal(parser.feed(enc.encode("GET /a HTTP/1.1\r\nHo")), 19);
 * equal(parser.head, null);
 * parser.feed(enc.encode("st: x\r\n\r\n"));
 * equal(parser.head!.target, "/a");
 * ```
 */
export class RequestParser {
  /** The completed head, or `null` while the head is incomplete. */
  head: RequestHead | null = null;

  #maxHead: number;
  #maxLine: number;
  #maxCount: number;

  #state = ST_START;
  #pos = 0; // scan position in the spill (only meaningful when spilled)
  #base = 0; // start of the request line in the current buffer
  #spill: Uint8Array | null = null;
  #spillLen = 0;
  #emptyLines = 0;

  #methodId = -1;
  #methodEnd = 0;
  #targetStart = 0;
  #targetEnd = 0;
  #versionStart = 0;
  #minor = 1;
  #nameStart = 0;
  #nameEnd = 0;
  #valueStart = 0;
  #valueEnd = 0;
  #offs: number[] = [];
  #count = 0;

  /** Decodes head text, once per read for pipelined heads. */
  readonly #text = new HeadText();

  /** Framing facts of the head so far (Host, Content-Length, Transfer-Encoding, ...). */
  readonly #fields = new Framing();

  /**
   * Creates a parser.
   *
   * @param options Limits.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(options?: RequestParserOptions) {
    const o = options ?? {};
    this.#maxHead = intOption("RequestParser", "maxHeadSize", o.maxHeadSize, 16384);
    this.#maxLine = intOption(
      "RequestParser",
      "maxRequestLineLength",
      o.maxRequestLineLength,
      8192,
    );
    this.#maxCount = intOption("RequestParser", "maxHeaderCount", o.maxHeaderCount, 100);
  }

  /**
   * Feeds bytes of the request head: `chunk[start, end)`, the whole chunk
   * by default.
   *
   * If the head completes, {@linkcode RequestParser.head} becomes non-null and
   * the bytes after the returned count (from `start`) are not part of it. If
   * not, the needed bytes are kept and `end - start` is returned. Does
   * nothing and returns 0 when a head is already complete (call
   * {@linkcode RequestParser.reset} first).
   *
   * @param chunk The next bytes from the connection; not retained (but the
   * text of pipelined heads decoded with this one keeps its buffer until
   * they are fed or another parser decodes).
   * @param start The first index of `chunk` to feed.
   * @param end One past the last index of `chunk` to feed.
   * @returns How many bytes from `start` were consumed.
   * @throws {HttpError} On malformed input, as soon as the offending byte is
   * seen, or as soon as a limit is crossed. The parser must be reset before
   * further use.
   * @throws {RangeError} If `start` or `end` is not an integer index of `chunk`.
   */
  feed(chunk: Uint8Array, start = 0, end: number = chunk.length): number {
    if (this.head !== null) return 0;
    if (
      !(start >= 0 && end <= chunk.length && start <= end) || !Number.isInteger(start) ||
      !Number.isInteger(end)
    ) {
      throw new RangeError(
        `Cannot feed bytes [${start}, ${end}): outside the ${chunk.length} bytes given`,
      );
    }
    const n = end - start;
    if (n === 0) return 0;
    if (this.#spillLen === 0) {
      const stop = this.#scan(chunk, start, end);
      if (stop >= 0) {
        this.head = this.#build(chunk, start, stop, end);
        return stop - start;
      }
      if (this.#state > ST_START_LF) this.#toSpill(chunk, end);
      return n;
    }
    const old = this.#spillLen;
    const room = this.#maxHead - old;
    if (room <= 0) this.#tooLarge(old);
    const take = n < room ? n : room;
    const spill = this.#reserve(old + take);
    spill.set(
      start === 0 && take === chunk.length ? chunk : chunk.subarray(start, start + take),
      old,
    );
    this.#spillLen = old + take;
    const stop = this.#scan(spill, this.#pos, old + take);
    if (stop >= 0) {
      this.head = this.#build(spill, 0, stop, stop);
      return stop - old;
    }
    if (take < n) this.#tooLarge(old + take);
    return n;
  }

  /**
   * Forgets the current head and any partial input: ready for the next
   * request on the same connection. Keeps the allocated spill buffer.
   */
  reset(): void {
    this.head = null;
    this.#state = ST_START;
    this.#pos = 0;
    this.#base = 0;
    this.#spillLen = 0;
    this.#emptyLines = 0;
    this.#methodId = -1;
    this.#minor = 1;
    this.#count = 0;
    this.#fields.reset();
  }

  /** Moves a partial head from `chunk` (from the request line to `n`) into the spill buffer. */
  #toSpill(chunk: Uint8Array, n: number): void {
    const base = this.#base;
    const spill = this.#reserve(n - base);
    spill.set(base === 0 && n === chunk.length ? chunk : chunk.subarray(base, n), 0);
    this.#spillLen = n - base;
    this.#pos = n - base;
    this.#base = 0;
    this.#targetStart -= base;
    this.#targetEnd -= base;
    this.#versionStart -= base;
    this.#nameStart -= base;
    this.#nameEnd -= base;
    this.#valueStart -= base;
    this.#valueEnd -= base;
  }

  #reserve(size: number): Uint8Array {
    const spill = this.#spill;
    if (spill !== null && spill.length >= size) return spill;
    let cap = spill === null ? 1024 : spill.length * 2;
    while (cap < size) cap *= 2;
    if (cap > this.#maxHead) cap = this.#maxHead;
    const grown = new Uint8Array(cap);
    if (spill !== null && this.#spillLen > 0) grown.set(spill.subarray(0, this.#spillLen));
    this.#spill = grown;
    return grown;
  }

  #tooLarge(size: number): never {
    fail(
      HttpErrorCode.HeadTooLarge,
      `Cannot parse request head: more than ${this.#maxHead} bytes (maxHeadSize) after ${size}`,
    );
  }

  #lineTooLong(): never {
    fail(
      HttpErrorCode.RequestLineTooLong,
      `Cannot parse request line: longer than ${this.#maxLine} bytes (maxRequestLineLength)`,
    );
  }

  /**
   * Scans `buf[p, len)` from the saved state. Returns the index after the
   * final LF when the head completes, else -1 (state saved).
   */
  #scan(buf: Uint8Array, p: number, len: number): number {
    let state = this.#state;
    let base = this.#base;
    let headLimit = base + this.#maxHead;
    let lineLimit = base + this.#maxLine;
    // Positions of the current field line, kept in locals while scanning.
    let ns = this.#nameStart;
    let ne = this.#nameEnd;
    let vs = this.#valueStart;
    let ve = this.#valueEnd;
    let lim = 0;
    const tchar = TCHAR;
    const fieldValue = FIELD_VALUE;
    scan: for (;;) {
      switch (state) {
        case ST_START: {
          if (p >= len) break scan;
          const b = buf[p]!;
          if (b === CR) {
            p++;
            state = ST_START_LF;
            continue;
          }
          if (b === LF) {
            fail(
              HttpErrorCode.BareLf,
              "Cannot parse request line: bare LF before the request line",
            );
          }
          base = p;
          this.#base = p;
          headLimit = p + this.#maxHead;
          lineLimit = p + this.#maxLine;
          state = ST_METHOD;
          continue;
        }
        case ST_START_LF: {
          if (p >= len) break scan;
          if (buf[p] !== LF) {
            fail(HttpErrorCode.BareCr, "Cannot parse request line: CR not followed by LF");
          }
          p++;
          if (++this.#emptyLines > MAX_LEADING_EMPTY_LINES) {
            fail(
              HttpErrorCode.InvalidRequestLine,
              `Cannot parse request line: more than ${MAX_LEADING_EMPTY_LINES} empty lines before it`,
            );
          }
          state = ST_START;
          continue;
        }
        // The request line: each step runs when the state is at or before it.
        case ST_METHOD:
        case ST_TARGET:
        case ST_VERSION:
        case ST_REQUEST_LF: {
          if (state === ST_METHOD) {
            lim = len < lineLimit ? len : lineLimit;
            if (headLimit < lim) lim = headLimit;
            while (p < lim && tchar[buf[p]!] === 1) p++;
            if (p === lim) {
              if (p === len) break scan;
              if (p === lineLimit) this.#lineTooLong();
              this.#tooLarge(p - base);
            }
            const b = buf[p]!;
            if (b !== SP || p === base) {
              fail(
                HttpErrorCode.InvalidMethod,
                p === base
                  ? `Cannot parse request line: expected a method, found ${showByte(b)}`
                  : `Cannot parse request line: method has ${showByte(b)} at offset ${p - base}`,
              );
            }
            this.#methodEnd = p - base;
            this.#methodId = internMethod(buf, base, p - base);
            p++;
            this.#targetStart = p;
            state = ST_TARGET;
          }
          if (state === ST_TARGET) {
            lim = len < lineLimit ? len : lineLimit;
            if (headLimit < lim) lim = headLimit;
            while (p < lim && TARGET[buf[p]!] === 1) p++;
            if (p === lim) {
              if (p === len) break scan;
              if (p === lineLimit) this.#lineTooLong();
              this.#tooLarge(p - base);
            }
            const b = buf[p]!;
            if (b !== SP) {
              if (b === CR || b === LF) {
                fail(
                  HttpErrorCode.InvalidRequestLine,
                  "Cannot parse request line: missing HTTP version",
                );
              }
              fail(
                HttpErrorCode.InvalidTarget,
                `Cannot parse request line: request-target has ${showByte(b)} at offset ${
                  p - base
                }`,
              );
            }
            this.#targetEnd = p;
            this.#checkTarget(buf, this.#targetStart, p);
            p++;
            this.#versionStart = p;
            state = ST_VERSION;
          }
          if (
            state === ST_VERSION && p + 10 <= len && p + 8 <= lineLimit && p + 10 <= headLimit &&
            buf[p] === 0x48 && buf[p + 1] === 0x54 && buf[p + 2] === 0x54 && buf[p + 3] === 0x50 &&
            buf[p + 4] === 0x2f && buf[p + 5] === 0x31 && buf[p + 6] === 0x2e &&
            buf[p + 8] === CR && buf[p + 9] === LF && (buf[p + 7] === 0x31 || buf[p + 7] === 0x30)
          ) {
            // "HTTP/1.1" or "HTTP/1.0", CR, LF, all in reach: the common case at once.
            const minor = buf[p + 7]! - 0x30;
            this.#minor = minor;
            this.#fields.minor = minor;
            p += 10;
            state = ST_LINE;
            continue;
          }
          if (state === ST_VERSION) {
            // "HTTP/" DIGIT "." DIGIT CR, checked byte by byte so garbage fails at once.
            const vs0 = this.#versionStart;
            for (let k = p - vs0; k < 9; k++, p++) {
              if (p >= len) break scan;
              if (p >= headLimit) this.#tooLarge(p - base);
              const b = buf[p]!;
              if (k < 8 && p >= lineLimit) this.#lineTooLong();
              if (b !== VERSION_PATTERN[k] && (k !== 5 && k !== 7 || b < 0x30 || b > 0x39)) {
                if (b === LF && k === 8) {
                  fail(
                    HttpErrorCode.BareLf,
                    "Cannot parse request line: bare LF after the version",
                  );
                }
                fail(
                  HttpErrorCode.InvalidVersion,
                  `Cannot parse request line: malformed HTTP version (${showByte(b)} at offset ${
                    p - base
                  })`,
                );
              }
            }
            const major = buf[vs0 + 5]! - 0x30;
            // A higher minor version is served as HTTP/1.1, the highest this
            // server speaks (RFC 9110 2.5); another major version is not HTTP/1.
            const minor = buf[vs0 + 7]! - 0x30 > 1 ? 1 : buf[vs0 + 7]! - 0x30;
            if (major !== 1) {
              fail(
                HttpErrorCode.UnsupportedVersion,
                `Cannot parse request line: HTTP/${major}.${buf[vs0 + 7]! - 0x30} is not supported`,
              );
            }
            this.#minor = minor;
            this.#fields.minor = minor;
            state = ST_REQUEST_LF;
          }
          if (p >= len) break scan;
          if (p >= headLimit) this.#tooLarge(p - base);
          if (buf[p] !== LF) {
            fail(HttpErrorCode.BareCr, "Cannot parse request line: CR not followed by LF");
          }
          p++;
          state = ST_LINE;
          continue;
        }
        // Field lines and the final empty line; loops here line after line.
        default: {
          for (;;) {
            if (state === ST_LINE) {
              if (p >= len) break scan;
              if (p >= headLimit) this.#tooLarge(p - base);
              const b = buf[p]!;
              if (tchar[b] === 1) {
                if (this.#count >= this.#maxCount) {
                  fail(
                    HttpErrorCode.TooManyHeaders,
                    `Cannot parse request head: more than ${this.#maxCount} header fields (maxHeaderCount)`,
                  );
                }
                ns = p;
                p++;
                state = ST_NAME;
              } else if (b === CR) {
                p++;
                state = ST_END_LF;
              } else if (b === SP || b === HTAB) {
                fail(
                  HttpErrorCode.ObsFold,
                  this.#count === 0
                    ? "Cannot parse header: whitespace between the request line and the first field"
                    : "Cannot parse header: obsolete line folding (line starts with whitespace)",
                );
              } else if (b === LF) {
                fail(HttpErrorCode.BareLf, "Cannot parse header: bare LF line ending");
              } else {
                fail(
                  HttpErrorCode.InvalidHeaderName,
                  `Cannot parse header: name starts with ${showByte(b)}`,
                );
              }
            }
            if (state === ST_END_LF) {
              if (p >= len) break scan;
              if (p >= headLimit) this.#tooLarge(p - base);
              if (buf[p] !== LF) {
                fail(HttpErrorCode.BareCr, "Cannot parse request head: CR not followed by LF");
              }
              this.#fields.finish();
              return p + 1;
            }
            lim = len < headLimit ? len : headLimit;
            if (state === ST_NAME) {
              while (p < lim && tchar[buf[p]!] === 1) p++;
              if (p === lim) {
                if (p === len) break scan;
                this.#tooLarge(p - base);
              }
              const b = buf[p]!;
              if (b !== COLON) {
                if (b === SP || b === HTAB) {
                  fail(
                    HttpErrorCode.WhitespaceBeforeColon,
                    "Cannot parse header: whitespace before the colon",
                  );
                }
                fail(
                  HttpErrorCode.InvalidHeaderName,
                  b === CR || b === LF
                    ? "Cannot parse header: field line without a colon"
                    : `Cannot parse header: name has ${showByte(b)}`,
                );
              }
              ne = p;
              p++;
              state = ST_OWS;
            }
            if (state === ST_OWS) {
              while (p < lim && (buf[p] === SP || buf[p] === HTAB)) p++;
              if (p === lim) {
                if (p === len) break scan;
                this.#tooLarge(p - base);
              }
              vs = p;
              state = ST_VALUE;
            }
            if (state === ST_VALUE) {
              // Any non-zero class: VCHAR, SP, HTAB, obs-text.
              while (p < lim && fieldValue[buf[p]!]! !== 0) p++;
              if (p === lim) {
                if (p === len) break scan;
                this.#tooLarge(p - base);
              }
              const b = buf[p]!;
              if (b !== CR) {
                if (b === LF) {
                  fail(HttpErrorCode.BareLf, "Cannot parse header: bare LF line ending");
                }
                fail(
                  HttpErrorCode.InvalidHeaderValue,
                  `Cannot parse header: value has forbidden byte ${showByte(b)}`,
                );
              }
              ve = p;
              while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
              p++;
              state = ST_VALUE_LF;
            }
            // ST_VALUE_LF
            if (p >= len) break scan;
            if (p >= headLimit) this.#tooLarge(p - base);
            if (buf[p] !== LF) {
              fail(HttpErrorCode.BareCr, "Cannot parse header: CR not followed by LF");
            }
            p++;
            const i = this.#count << 2;
            const offs = this.#offs;
            offs[i] = ns - base;
            offs[i + 1] = ne - base;
            offs[i + 2] = vs - base;
            offs[i + 3] = ve - base;
            this.#count++;
            const nl = ne - ns;
            if (nl === 4 || nl === 6 || nl === 10 || nl === 14 || nl === 17) {
              this.#fields.field(buf, ns, nl, vs, ve);
            }
            state = ST_LINE;
          }
        }
      }
    }
    this.#state = state;
    this.#pos = p;
    this.#nameStart = ns;
    this.#nameEnd = ne;
    this.#valueStart = vs;
    this.#valueEnd = ve;
    return -1;
  }

  /** Checks the form of the request-target against the method (RFC 9112 3.2). */
  #checkTarget(buf: Uint8Array, s: number, e: number): void {
    if (e === s) {
      fail(HttpErrorCode.InvalidTarget, "Cannot parse request line: empty request-target");
    }
    const b0 = buf[s]!;
    const method = this.#methodId;
    if (method === M_CONNECT) {
      // authority-form: uri-host ":" port
      let colon = e - 1;
      while (colon > s && buf[colon]! >= 0x30 && buf[colon]! <= 0x39) colon--;
      if (buf[colon] !== COLON || colon === s || colon === e - 1) {
        fail(
          HttpErrorCode.InvalidTarget,
          "Cannot parse request line: CONNECT needs a host:port target",
        );
      }
      for (let i = s; i < colon; i++) {
        if (HOST[buf[i]!] !== 1) {
          fail(
            HttpErrorCode.InvalidTarget,
            "Cannot parse request line: CONNECT target has an invalid host",
          );
        }
      }
      return;
    }
    if (b0 === 0x2f) return; // origin-form
    if (b0 === 0x2a && e === s + 1) {
      if (method === M_OPTIONS) return;
      fail(
        HttpErrorCode.InvalidTarget,
        'Cannot parse request line: "*" target is only allowed with OPTIONS',
      );
    }
    // absolute-form: http:// or https:// followed by an authority
    const n = e - s;
    let a = -1;
    if (n > 7 && bytesEqualLower(buf, s, "http://")) a = s + 7;
    else if (n > 8 && bytesEqualLower(buf, s, "https://")) a = s + 8;
    if (a < 0 || buf[a] === 0x2f || buf[a] === 0x3f) {
      fail(
        HttpErrorCode.InvalidTarget,
        "Cannot parse request line: request-target is not in origin, absolute, authority or asterisk form",
      );
    }
  }

  /**
   * The head of `buf[#base, end)`, fed from `from`; `buf[end, avail)` holds
   * bytes behind it.
   */
  #build(buf: Uint8Array, from: number, end: number, avail: number): RequestHead {
    const base = this.#base;
    const f = this.#fields;
    // Bytes behind a head with a body are that body: not decoded ahead (the
    // next head cannot start where this one ends).
    const ahead = f.teSeen || f.contentLength > 0 ? end : avail;
    const raw = this.#text.decode(buf, from, base, end, ahead);
    const offs = this.#offs.slice(0, this.#count << 2);
    const id = this.#methodId;
    const method = id >= 0 ? METHODS[id]! : raw.substring(0, this.#methodEnd);
    const target = raw.substring(this.#targetStart - base, this.#targetEnd - base);
    const chunked = f.teSeen;
    const keepAlive = this.#minor === 1 ? !f.connClose : f.connKeepAlive && !f.connClose;
    const http11 = this.#minor === 1;
    // RFC 9110 7.8 and 10.1.1: Upgrade and 100-continue are ignored in HTTP/1.0.
    const upgrade = f.connUpgrade && http11 ? headerListFromRaw(raw, offs).get("upgrade") : null;
    return new RequestHead(
      method,
      target,
      http11 ? "HTTP/1.1" : "HTTP/1.0",
      raw,
      offs,
      chunked ? -1 : f.contentLength,
      chunked,
      keepAlive,
      f.expectContinue && http11,
      upgrade,
      f.expectSeen && http11,
    );
  }
}
