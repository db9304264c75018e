/**
 * Whether a close code may appear in a close frame (RFC 6455 section 7.4):
 * 1000-1003, 1007-1014 and 3000-4999. Codes 0-999, 1004-1006, 1015,
 * 1016-2999 and 5000 and above are invalid on the wire.
 *
 * @param code The code.
 * @returns `true` if it may be sent and received.
 *
 * @example Usage
 * ```ts
 * import { isValidCloseCode } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isValidCloseCode(1000), true);
 * equal(isValidCloseCode(1005), false);
 * equal(isValidCloseCode(4999), true);
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000) return code <= 4999 && Number.isInteger(code);
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006 &&
    Number.isInteger(code);
}
