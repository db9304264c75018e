/**
 * The typed error raised for every protocol violation the HTTP layer detects,
 * and the stable codes it carries.
 *
 * @module
 */

/**
 * Stable string codes of {@linkcode HttpError}. The object maps a constant
 * name to the code string; the union type of all codes has the same name.
 * Each code answers with exactly one status, given by
 * {@linkcode HTTP_ERROR_STATUS} (and in parentheses below).
 *
 * @example Matching on a code
 * ```ts
 * import { HttpError, HttpErrorCode } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const err = new HttpError(HttpErrorCode.ObsFold, "Cannot parse header: obs-fold");
 * equal(err.code, "obs-fold");
 * equal(err.status, 400);
 * ```
 */
export const HttpErrorCode = {
  /** The request line is malformed as a whole (400). */
  InvalidRequestLine: "invalid-request-line",
  /** The method is not a token (400). */
  InvalidMethod: "invalid-method",
  /** The request-target has a forbidden byte or form (400). */
  InvalidTarget: "invalid-target",
  /** The HTTP version is not `HTTP/<digit>.<digit>` (400). */
  InvalidVersion: "invalid-version",
  /** A well-formed HTTP version other than 1.1 and 1.0 (505). */
  UnsupportedVersion: "unsupported-version",
  /** A line ended with LF alone (400). */
  BareLf: "bare-lf",
  /** A CR not followed by LF (400). */
  BareCr: "bare-cr",
  /** A field name that is not a token, or a field line without a colon (400). */
  InvalidHeaderName: "invalid-header-name",
  /** A field value with a control character, NUL or DEL (400). */
  InvalidHeaderValue: "invalid-header-value",
  /** Whitespace between a field name and its colon (400). */
  WhitespaceBeforeColon: "whitespace-before-colon",
  /** A line folded onto the previous one (starts with SP or HTAB) (400). */
  ObsFold: "obs-fold",
  /** An HTTP/1.1 request without Host (400). */
  MissingHost: "missing-host",
  /** More than one Host field line (400). */
  DuplicateHost: "duplicate-host",
  /** A Host value that is not `uri-host [ ":" port ]` (400). */
  InvalidHost: "invalid-host",
  /** Content-Length values that differ (400). */
  ConflictingContentLength: "conflicting-content-length",
  /** A Content-Length that is not a non-negative decimal integer (400). */
  InvalidContentLength: "invalid-content-length",
  /** Transfer-Encoding and Content-Length together (400). */
  TransferEncodingWithContentLength: "transfer-encoding-with-content-length",
  /** Malformed Transfer-Encoding, `chunked` repeated, or TE in HTTP/1.0 (400). */
  InvalidTransferEncoding: "invalid-transfer-encoding",
  /** The last transfer coding is not `chunked`, or one comes after it (400). */
  ChunkedNotLast: "chunked-not-last",
  /** A transfer coding other than `chunked` that the server does not decode (501). */
  UnsupportedTransferEncoding: "unsupported-transfer-encoding",
  /** The request line is longer than allowed (414). */
  RequestLineTooLong: "request-line-too-long",
  /** The request head is larger than allowed (431). */
  HeadTooLarge: "head-too-large",
  /** More header field lines than allowed (431). */
  TooManyHeaders: "too-many-headers",
  /** A malformed chunk size line, extension, or missing CRLF after data (400). */
  InvalidChunk: "invalid-chunk",
  /** A chunk size beyond `Number.MAX_SAFE_INTEGER` (400). */
  ChunkTooLarge: "chunk-too-large",
  /** A trailer section larger or with more fields than allowed (400). */
  TrailersTooLarge: "trailers-too-large",
  /** A body the application could not decode (for example invalid JSON) (400). */
  InvalidBody: "invalid-body",
  /** The body is larger than allowed (413). */
  BodyTooLarge: "body-too-large",
  /** The client took too long to send the request (408). */
  RequestTimeout: "request-timeout",
  /** The connection ended in the middle of a request (400). */
  IncompleteRequest: "incomplete-request",
  /** An Expect value the server does not meet (417). */
  ExpectationFailed: "expectation-failed",
  /** A method or feature the server does not implement (501). */
  NotImplemented: "not-implemented",
} as const;

/** A stable code string of {@linkcode HttpError}. */
export type HttpErrorCode = typeof HttpErrorCode[keyof typeof HttpErrorCode];

/**
 * The status each {@linkcode HttpErrorCode} answers with: one code, one
 * status. The server writes it, with a text body, and closes the connection.
 *
 * @example Usage
 * ```ts
 * import { HTTP_ERROR_STATUS } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(HTTP_ERROR_STATUS["head-too-large"], 431);
 * equal(HTTP_ERROR_STATUS["unsupported-transfer-encoding"], 501);
 * ```
 */
export const HTTP_ERROR_STATUS: Readonly<Record<HttpErrorCode, number>> = {
  "invalid-request-line": 400,
  "invalid-method": 400,
  "invalid-target": 400,
  "invalid-version": 400,
  "unsupported-version": 505,
  "bare-lf": 400,
  "bare-cr": 400,
  "invalid-header-name": 400,
  "invalid-header-value": 400,
  "whitespace-before-colon": 400,
  "obs-fold": 400,
  "missing-host": 400,
  "duplicate-host": 400,
  "invalid-host": 400,
  "conflicting-content-length": 400,
  "invalid-content-length": 400,
  "transfer-encoding-with-content-length": 400,
  "invalid-transfer-encoding": 400,
  "chunked-not-last": 400,
  "unsupported-transfer-encoding": 501,
  "request-line-too-long": 414,
  "head-too-large": 431,
  "too-many-headers": 431,
  "invalid-chunk": 400,
  "chunk-too-large": 400,
  "trailers-too-large": 400,
  "invalid-body": 400,
  "body-too-large": 413,
  "request-timeout": 408,
  "incomplete-request": 400,
  "expectation-failed": 417,
  "not-implemented": 501,
};

/**
 * A protocol violation: carries the HTTP status to answer with and a stable
 * code for programs. The server answers with `status` and closes the
 * connection.
 *
 * @example Catching a parse error
 * ```ts
 * import { HttpError, RequestParser } from "@coroio/core/http1";
 * import { throws } from "node:assert/strict";
 *
 * const parser = new RequestParser();
 * throws(
 *   () => parser.feed(new TextEncoder().encode("GET / HTTP/2.0\r\n")),
 *   (err) => err instanceof HttpError && err.status === 505 && err.code === "unsupported-version",
 * );
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status to answer with, from {@linkcode HTTP_ERROR_STATUS}. */
  readonly status: number;
  /** The stable code of the violation. */
  readonly code: HttpErrorCode;

  /**
   * Creates the error.
   *
   * @param code The stable code; it decides the status.
   * @param message What failed and why.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(code: HttpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpError";
    this.status = HTTP_ERROR_STATUS[code];
    this.code = code;
  }
}
