import { CR, LF } from "./_chars.ts";
import { decodeLatin1 } from "../text.ts";
import { HttpError, HttpErrorCode } from "./errors.ts";
import { HeaderList } from "./header_list.ts";
import { isFieldValue, isToken } from "./tokens.ts";
import { fail } from "./_fail.ts";

/**
 * A parsed response head: what a client checks in an answer such as `101`.
 *
 * @example A refusal
 * ```ts
 * import { parseResponseHead, type ResponseHead } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const head: ResponseHead = parseResponseHead(
 *   new TextEncoder().encode("HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\r\n"),
 * );
 * equal(head.status, 426);
 * equal(head.reason, "Upgrade Required");
 * equal(head.headers.get("upgrade"), "websocket");
 * ```
 */
export interface ResponseHead {
  /** The status code. */
  readonly status: number;
  /** The reason phrase (may be empty). */
  readonly reason: string;
  /** The header fields, in order. */
  readonly headers: HeaderList;
}

/** Most field lines accepted in a response head. */
const MAX_FIELDS = 100;

/**
 * Parses a complete HTTP/1.1 response head (status line, field lines and the
 * final empty line), as the WebSocket client reads a server's `101`. Field
 * lines follow the same rules as {@linkcode RequestParser}'s: CRLF only (a
 * bare CR or LF is an error), a token name directly followed by the colon,
 * no obs-fold, no control characters in values; the two are checked against
 * one table of field-line cases.
 *
 * @param bytes The head, ending with CRLF CRLF.
 * @returns The status, reason and headers.
 * @throws {HttpError} If the head is malformed (the status says which way:
 * 400 for syntax, 431 for too many fields, 505 for another version).
 *
 * @example A 101 answer
 * ```ts
 * import { parseResponseHead } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const head = parseResponseHead(new TextEncoder().encode(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
 * ));
 * equal(head.status, 101);
 * equal(head.headers.get("upgrade"), "websocket");
 * ```
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead {
  const n = bytes.length;
  if (n < 4 || bytes[n - 4] !== CR || bytes[n - 3] !== LF || bytes[n - 2] !== CR) {
    fail(HttpErrorCode.IncompleteRequest, "Cannot parse response head: no empty line at its end");
  }
  if (bytes[n - 1] !== LF) fail(HttpErrorCode.BareCr, "Cannot parse response head: bare CR");
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < n - 2; i++) {
    const b = bytes[i]!;
    if (b === LF) fail(HttpErrorCode.BareLf, "Cannot parse response head: bare LF");
    if (b !== CR) continue;
    if (bytes[i + 1] !== LF) fail(HttpErrorCode.BareCr, "Cannot parse response head: bare CR");
    lines.push(decodeLatin1(bytes, start, i));
    start = i + 2;
    i++;
  }
  const statusLine = lines[0] ?? "";
  const m = /^HTTP\/(\d)\.(\d) (\d{3}) ?(.*)$/.exec(statusLine);
  if (m === null) {
    fail(
      HttpErrorCode.InvalidVersion,
      `Cannot parse response head: malformed status line ${
        JSON.stringify(statusLine.slice(0, 40))
      }`,
    );
  }
  if (m[1] !== "1" || m[2] !== "1") {
    throw new HttpError(
      HttpErrorCode.UnsupportedVersion,
      `Cannot parse response head: HTTP/${m[1]}.${m[2]} is not HTTP/1.1`,
    );
  }
  if (lines.length - 1 > MAX_FIELDS) {
    throw new HttpError(
      HttpErrorCode.TooManyHeaders,
      `Cannot parse response head: more than ${MAX_FIELDS} header fields`,
    );
  }
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      fail(HttpErrorCode.ObsFold, "Cannot parse response head: obsolete line folding");
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    // As in RequestParser: whitespace anywhere before the colon is its own error.
    if (name.includes(" ") || name.includes("\t")) {
      fail(
        HttpErrorCode.WhitespaceBeforeColon,
        `Cannot parse response head: whitespace before the colon in ${JSON.stringify(name)}`,
      );
    }
    if (colon < 0) {
      fail(
        HttpErrorCode.InvalidHeaderName,
        "Cannot parse response head: field line without a colon",
      );
    }
    if (!isToken(name)) {
      fail(
        HttpErrorCode.InvalidHeaderName,
        `Cannot parse response head: field name ${JSON.stringify(name)} is not a token`,
      );
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!isFieldValue(value)) {
      fail(
        HttpErrorCode.InvalidHeaderValue,
        `Cannot parse response head: forbidden character in the value of ${name}`,
      );
    }
    fields.push([name, value]);
  }
  return { status: Number(m[3]), reason: m[4]!, headers: new HeaderList(fields) };
}
