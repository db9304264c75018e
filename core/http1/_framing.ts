// The field semantics of a request head: what the Host, Content-Length,
// Transfer-Encoding, Connection and Expect fields mean for framing, and the
// checks that keep a request from being read two ways (RFC 9112 6.1-6.3,
// RFC 9110 7.2). RequestParser scans the bytes and hands each completed
// field line here; nothing here does I/O or keeps the bytes.
import {
  BACKSLASH,
  bytesEqualLower,
  COMMA,
  DQUOTE,
  EQUALS,
  HOST,
  isOws,
  QDTEXT,
  SEMICOLON,
  showByte,
  TCHAR,
} from "./_chars.ts";
import { HttpErrorCode } from "./errors.ts";
import { fail } from "./_fail.ts";

/** What the framing fields of one request head said, checked as each line completes. */
export class Framing {
  /** The minor version of the request line (0 or 1); set by the parser. */
  minor = 1;
  hostCount = 0;
  /** The Content-Length value, or -1 when absent. */
  contentLength = -1;
  teSeen = false;
  teLastChunked = false;
  teChunked = false;
  teOther = false;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  expectContinue = false;
  expectSeen = false;

  /** Forgets the last head. */
  reset(): void {
    this.minor = 1;
    this.hostCount = 0;
    this.contentLength = -1;
    this.teSeen = false;
    this.teLastChunked = false;
    this.teChunked = false;
    this.teOther = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.connUpgrade = false;
    this.expectContinue = false;
    this.expectSeen = false;
  }

  /** Framing checks for a completed field line whose name length is `nl`. */
  field(buf: Uint8Array, ns: number, nl: number, vs: number, ve: number): void {
    switch (nl) {
      case 4:
        if (bytesEqualLower(buf, ns, "host")) {
          if (++this.hostCount > 1) {
            fail(HttpErrorCode.DuplicateHost, "Cannot parse header: more than one Host field");
          }
          for (let p = vs; p < ve; p++) {
            if (HOST[buf[p]!] !== 1) {
              fail(
                HttpErrorCode.InvalidHost,
                `Cannot parse header: Host has ${showByte(buf[p]!)}`,
              );
            }
          }
        }
        return;
      case 6:
        if (bytesEqualLower(buf, ns, "expect")) {
          this.expectSeen = true;
          this.#tokens(buf, vs, ve, 1);
        }
        return;
      case 10:
        if (bytesEqualLower(buf, ns, "connection")) this.#tokens(buf, vs, ve, 0);
        return;
      case 14:
        if (bytesEqualLower(buf, ns, "content-length")) this.#contentLengthField(buf, vs, ve);
        return;
      case 17:
        if (bytesEqualLower(buf, ns, "transfer-encoding")) this.#transferEncoding(buf, vs, ve);
        return;
    }
  }

  /** Scans a comma-separated list for the Connection (`kind` 0) or Expect (`kind` 1) tokens we act on. */
  #tokens(buf: Uint8Array, vs: number, ve: number, kind: number): void {
    let p = vs;
    while (p < ve) {
      while (p < ve && (isOws(buf[p]!) || buf[p] === COMMA)) p++;
      const s = p;
      while (p < ve && buf[p] !== COMMA) p++;
      let e = p;
      while (e > s && isOws(buf[e - 1]!)) e--;
      const n = e - s;
      if (kind === 0) {
        if (n === 5 && bytesEqualLower(buf, s, "close")) this.connClose = true;
        else if (n === 10 && bytesEqualLower(buf, s, "keep-alive")) this.connKeepAlive = true;
        else if (n === 7 && bytesEqualLower(buf, s, "upgrade")) this.connUpgrade = true;
      } else if (n === 12 && bytesEqualLower(buf, s, "100-continue")) {
        this.expectContinue = true;
      }
    }
  }

  #contentLengthField(buf: Uint8Array, vs: number, ve: number): void {
    if (this.teSeen) {
      fail(
        HttpErrorCode.TransferEncodingWithContentLength,
        "Cannot parse header: Content-Length together with Transfer-Encoding",
      );
    }
    let p = vs;
    let value = -1;
    for (;;) {
      const s = p;
      let n = 0;
      while (p < ve) {
        const d = buf[p]! - 0x30;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
        if (n > Number.MAX_SAFE_INTEGER) {
          fail(
            HttpErrorCode.InvalidContentLength,
            "Cannot parse header: Content-Length is too large",
          );
        }
        p++;
      }
      if (p === s) {
        fail(
          HttpErrorCode.InvalidContentLength,
          p < ve
            ? `Cannot parse header: Content-Length has ${
              showByte(buf[p]!)
            } where a digit is expected`
            : "Cannot parse header: Content-Length has an empty value",
        );
      }
      if (value === -1) value = n;
      else if (n !== value) {
        fail(
          HttpErrorCode.ConflictingContentLength,
          "Cannot parse header: Content-Length values differ",
        );
      }
      if (p === ve) break;
      while (p < ve && isOws(buf[p]!)) p++;
      if (p === ve || buf[p] !== COMMA) {
        fail(
          HttpErrorCode.InvalidContentLength,
          `Cannot parse header: Content-Length has ${
            p < ve ? showByte(buf[p]!) : "trailing whitespace"
          } after a number`,
        );
      }
      p++;
      while (p < ve && isOws(buf[p]!)) p++;
    }
    if (this.contentLength !== -1 && this.contentLength !== value) {
      fail(
        HttpErrorCode.ConflictingContentLength,
        "Cannot parse header: Content-Length fields with different values",
      );
    }
    this.contentLength = value;
  }

  #transferEncoding(buf: Uint8Array, vs: number, ve: number): void {
    if (this.minor === 0) {
      fail(
        HttpErrorCode.InvalidTransferEncoding,
        "Cannot parse header: Transfer-Encoding in an HTTP/1.0 request",
      );
    }
    if (this.contentLength !== -1) {
      fail(
        HttpErrorCode.TransferEncodingWithContentLength,
        "Cannot parse header: Transfer-Encoding together with Content-Length",
      );
    }
    this.teSeen = true;
    let p = vs;
    for (;;) {
      // transfer-coding = token *( OWS ";" OWS transfer-parameter )
      const s = p;
      while (p < ve && TCHAR[buf[p]!] === 1) p++;
      if (p === s) {
        fail(
          HttpErrorCode.InvalidTransferEncoding,
          p < ve
            ? `Cannot parse header: Transfer-Encoding has ${
              showByte(buf[p]!)
            } where a coding is expected`
            : "Cannot parse header: Transfer-Encoding has an empty coding",
        );
      }
      const chunked = p - s === 7 && bytesEqualLower(buf, s, "chunked");
      if (this.teChunked) {
        fail(
          chunked ? HttpErrorCode.InvalidTransferEncoding : HttpErrorCode.ChunkedNotLast,
          chunked
            ? "Cannot parse header: Transfer-Encoding lists chunked twice"
            : "Cannot parse header: Transfer-Encoding has a coding after chunked",
        );
      }
      let params = false;
      for (;;) {
        let q = p;
        while (q < ve && isOws(buf[q]!)) q++;
        if (q === ve || buf[q] !== SEMICOLON) break;
        q++;
        while (q < ve && isOws(buf[q]!)) q++;
        p = this.#parameter(buf, q, ve);
        params = true;
      }
      if (chunked) {
        if (params) {
          fail(
            HttpErrorCode.InvalidTransferEncoding,
            "Cannot parse header: chunked takes no parameters",
          );
        }
        this.teChunked = true;
      } else {
        this.teOther = true;
      }
      this.teLastChunked = chunked;
      while (p < ve && isOws(buf[p]!)) p++;
      if (p === ve) return;
      if (buf[p] !== COMMA) {
        fail(
          HttpErrorCode.InvalidTransferEncoding,
          `Cannot parse header: Transfer-Encoding has ${showByte(buf[p]!)} after a coding`,
        );
      }
      p++;
      while (p < ve && isOws(buf[p]!)) p++;
    }
  }

  /** Parses `token BWS "=" BWS ( token / quoted-string )` at `p`; returns the end. */
  #parameter(buf: Uint8Array, p: number, ve: number): number {
    const s = p;
    while (p < ve && TCHAR[buf[p]!] === 1) p++;
    let ok = p > s;
    while (p < ve && isOws(buf[p]!)) p++;
    ok = ok && buf[p] === EQUALS && p < ve;
    p++;
    while (p < ve && isOws(buf[p]!)) p++;
    if (ok) {
      const v = p;
      if (buf[p] === DQUOTE && p < ve) {
        p++;
        ok = false;
        while (p < ve) {
          const b = buf[p]!;
          if (b === DQUOTE) {
            ok = true;
            p++;
            break;
          }
          if (b === BACKSLASH) p++;
          else if (QDTEXT[b] !== 1) break;
          p++;
        }
      } else {
        while (p < ve && TCHAR[buf[p]!] === 1) p++;
        ok = p > v;
      }
    }
    if (!ok) {
      fail(
        HttpErrorCode.InvalidTransferEncoding,
        "Cannot parse header: malformed Transfer-Encoding parameter",
      );
    }
    return p;
  }

  /** Checks that need the whole head. */
  finish(): void {
    if (this.minor === 1 && this.hostCount === 0) {
      fail(
        HttpErrorCode.MissingHost,
        "Cannot parse request head: HTTP/1.1 request without Host",
      );
    }
    if (this.teSeen) {
      if (!this.teLastChunked) {
        fail(
          HttpErrorCode.ChunkedNotLast,
          "Cannot parse request head: the last Transfer-Encoding coding is not chunked",
        );
      }
      if (this.teOther) {
        fail(
          HttpErrorCode.UnsupportedTransferEncoding,
          "Cannot parse request head: only the chunked transfer coding is supported",
        );
      }
    }
  }
}
