import { STATUS_TEXT } from "./status.ts";
import { isFieldValue, isToken } from "./tokens.ts";

const encoder = new TextEncoder();

/**
 * Encodes the whole response a server sends when it refuses a request and
 * closes the connection: a status line, `Date`, a `text/plain` body with
 * `Content-Length`, the extra header fields, and `Connection: close`. The
 * HTTP server's protocol errors and the WebSocket handshake's refusals are
 * written by this one function.
 *
 * @param status The status code (100-599).
 * @param message The body text; a newline is added.
 * @param headers Extra header fields, e.g. `[["Sec-WebSocket-Version", "13"]]`.
 * @param date The `Date` value (an IMF-fixdate).
 * @returns The response bytes.
 * @throws {TypeError} If a header name is not a token or a value has a
 * forbidden character.
 *
 * @example A 426 naming the supported version
 * ```ts
 * import { encodeRefusal } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const bytes = encodeRefusal(426, "Upgrade Required", [["Sec-WebSocket-Version", "13"]],
 *   "Thu, 26 Nov 2026 17:00:00 GMT");
 * equal(
 *   new TextDecoder().decode(bytes),
 *   "HTTP/1.1 426 Upgrade Required\r\nDate: Thu, 26 Nov 2026 17:00:00 GMT\r\n" +
 *     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n" +
 *     "Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\nUpgrade Required\n",
 * );
 * ```
 */
export function encodeRefusal(
  status: number,
  message: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  date: string = new Date().toUTCString(),
): Uint8Array {
  const body = encoder.encode(message + "\n");
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nDate: ${date}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n`;
  head += fieldLines(headers) + "Connection: close\r\n\r\n";
  const out = new Uint8Array(head.length + body.length);
  // Field values are Latin-1 (obs-text), one byte per character.
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  out.set(body, head.length);
  return out;
}

/**
 * Formats header fields as field lines (`Name: value` CRLF each), after
 * checking that each name is a token and each value a valid field value.
 * The refusal above and the WebSocket `101` use it for headers an
 * application supplies.
 *
 * @param headers The fields, in order.
 * @returns The lines, each ending with CRLF (`""` for none).
 * @throws {TypeError} If a name is not a token or a value has a forbidden
 * character (CR, LF, NUL, other controls, or above U+00FF).
 *
 * @example Header injection is refused
 * ```ts
 * import { fieldLines } from "@coroio/core/http1";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * equal(fieldLines([["Set-Cookie", "a=1"]]), "Set-Cookie: a=1\r\n");
 * throws(() => fieldLines([["X", "1\r\nEvil: 2"]]), TypeError);
 * ```
 */
export function fieldLines(headers: ReadonlyArray<readonly [string, string]>): string {
  let lines = "";
  for (const [name, value] of headers) {
    if (!isToken(name) || !isFieldValue(value)) {
      throw new TypeError(`Cannot add header "${name}": invalid name or value`);
    }
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}
