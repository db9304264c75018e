/**
 * The field-value grammar shared by the HTTP server, the WebSocket handshake
 * and the WebSocket client (RFC 9110 section 5.5 and 5.6): tokens, field
 * values, comma-separated lists and parameters, and ASCII case-insensitive
 * comparison. One implementation of each, over the character tables the
 * request parser uses.
 *
 * @module
 */
import { FIELD_VALUE, HTAB, isOws, QDTEXT, TCHAR } from "./_chars.ts";

/**
 * Whether `s` is a token (RFC 9110 section 5.6.2): one or more `tchar`.
 *
 * @param s The string to check.
 * @returns `true` for a non-empty string of token characters.
 *
 * @example Usage
 * ```ts
 * import { isToken } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isToken("chat.v2"), true);
 * equal(isToken("a b"), false);
 * equal(isToken(""), false);
 * ```
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * Whether `s` may be sent as a field value: visible characters, SP, HTAB and
 * obs-text (up to U+00FF), no CR, LF, NUL or other control character.
 *
 * @param s The value to check (already trimmed, if it was).
 * @returns `true` if every character is allowed.
 *
 * @example Usage
 * ```ts
 * import { isFieldValue } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isFieldValue("text/html; charset=utf-8"), true);
 * equal(isFieldValue("a\r\nInjected: 1"), false);
 * ```
 */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] === 0) return false;
  }
  return true;
}

/**
 * ASCII case-insensitive equality (RFC 9110 section 5.1): only `A`-`Z` fold
 * onto `a`-`z`; every other character must match exactly.
 *
 * @param a One string.
 * @param b The other.
 * @returns `true` if they are equal ignoring ASCII letter case.
 *
 * @example Only letters fold
 * ```ts
 * import { equalsIgnoreCase } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(equalsIgnoreCase("Content-Type", "content-type"), true);
 * equal(equalsIgnoreCase("X-a^b", "X-a~b"), false);
 * ```
 */
export function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && foldAscii(x) !== foldAscii(y)) return false;
  }
  return true;
}

/**
 * Lowercases an ASCII letter's code; any other code is returned as it is.
 *
 * @param c A UTF-16 code unit.
 * @returns The folded code.
 *
 * @example Usage
 * ```ts
 * import { foldAscii } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(foldAscii(0x41), 0x61); // "A" -> "a"
 * equal(foldAscii(0x5e), 0x5e); // "^" stays
 * ```
 */
export function foldAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Splits comma-separated field values into their elements (RFC 9110 section
 * 5.6.1): optional whitespace around each element is removed and empty
 * elements are skipped. Several field lines of the same name form one list.
 * Elements are returned as sent; quoted strings are not looked into (use
 * {@linkcode parseParameterizedList} for lists whose elements carry
 * parameters).
 *
 * @param values The field's values, one per field line.
 * @returns The elements, in order.
 *
 * @example Two field lines, one list
 * ```ts
 * import { splitList } from "@coroio/core/http1";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * deepEqual(splitList(["chat, , superchat", "v2"]), ["chat", "superchat", "v2"]);
 * ```
 */
export function splitList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    let start = 0;
    for (let i = 0; i <= v.length; i++) {
      if (i < v.length && v.charCodeAt(i) !== 0x2c) continue;
      const item = trimOws(v, start, i);
      if (item !== "") out.push(item);
      start = i + 1;
    }
  }
  return out;
}

/**
 * Whether a comma-separated list contains `token`, compared ASCII
 * case-insensitively with whole elements (`websocket/13` does not contain
 * `websocket`).
 *
 * @param values The field's values, one per field line.
 * @param token The token to look for.
 * @returns `true` if an element equals `token`.
 *
 * @example Connection: keep-alive, Upgrade
 * ```ts
 * import { listHasToken } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(listHasToken(["keep-alive, Upgrade"], "upgrade"), true);
 * equal(listHasToken(["websocket/13"], "websocket"), false);
 * ```
 */
export function listHasToken(values: readonly string[], token: string): boolean {
  for (const item of splitList(values)) if (equalsIgnoreCase(item, token)) return true;
  return false;
}

/**
 * One element of a parameterized list: a token and its parameters.
 *
 * @example An extension offer
 * ```ts
 * import { type ListElement, parseParameterizedList } from "@coroio/core/http1";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const [offer]: ListElement[] = parseParameterizedList([
 *   'permessage-deflate; Client_Max_Window_Bits; server_max_window_bits="10"',
 * ])!;
 * deepEqual(offer, {
 *   name: "permessage-deflate",
 *   params: [["client_max_window_bits", true], ["server_max_window_bits", "10"]],
 * });
 * ```
 */
export interface ListElement {
  /** The element's token, as sent. */
  readonly name: string;
  /**
   * Its parameters in order: `[name, value]` with the name lowercased and
   * quoted values unquoted; `true` for a parameter without `=value`.
   */
  readonly params: ReadonlyArray<readonly [string, string | true]>;
}

/**
 * Parses a list whose elements are a token followed by `;`-separated
 * parameters, such as `Sec-WebSocket-Extensions` (RFC 6455 section 9.1,
 * RFC 7692 section 5) or a `Transfer-Encoding` with parameters: `token *( OWS
 * ";" OWS token [ "=" ( token / quoted-string ) ] )`. Empty elements are
 * skipped.
 *
 * @param values The field's values, one per field line.
 * @returns The elements in order, or `null` if the syntax is invalid
 * anywhere (a caller then treats the whole field as unusable).
 *
 * @example A permessage-deflate offer with a quoted value
 * ```ts
 * import { parseParameterizedList } from "@coroio/core/http1";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * deepEqual(
 *   parseParameterizedList(['permessage-deflate; client_max_window_bits="10", x-other']),
 *   [
 *     { name: "permessage-deflate", params: [["client_max_window_bits", "10"]] },
 *     { name: "x-other", params: [] },
 *   ],
 * );
 * deepEqual(parseParameterizedList(["a; =1"]), null);
 * ```
 */
export function parseParameterizedList(values: readonly string[]): ListElement[] | null {
  const out: ListElement[] = [];
  for (const v of values) {
    let p = 0;
    const n = v.length;
    for (;;) {
      p = skipOws(v, p);
      if (p === n) break;
      if (v.charCodeAt(p) === 0x2c) {
        p++;
        continue;
      }
      const nameEnd = scanToken(v, p);
      if (nameEnd === p) return null;
      const name = v.slice(p, nameEnd);
      const params: Array<readonly [string, string | true]> = [];
      p = skipOws(v, nameEnd);
      while (p < n && v.charCodeAt(p) === 0x3b) {
        p = skipOws(v, p + 1);
        const pEnd = scanToken(v, p);
        if (pEnd === p) return null;
        const pName = v.slice(p, pEnd).toLowerCase();
        p = skipOws(v, pEnd);
        let value: string | true = true;
        if (p < n && v.charCodeAt(p) === 0x3d) {
          p = skipOws(v, p + 1);
          if (p < n && v.charCodeAt(p) === 0x22) {
            const q = scanQuoted(v, p);
            if (q === null) return null;
            value = q.value;
            p = q.end;
          } else {
            const vEnd = scanToken(v, p);
            if (vEnd === p) return null;
            value = v.slice(p, vEnd);
            p = vEnd;
          }
          p = skipOws(v, p);
        }
        params.push([pName, value]);
      }
      if (p < n && v.charCodeAt(p) !== 0x2c) return null;
      out.push({ name, params });
    }
  }
  return out;
}

function skipOws(s: string, p: number): number {
  while (p < s.length && isOws(s.charCodeAt(p))) p++;
  return p;
}

function trimOws(s: string, start: number, end: number): string {
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function scanToken(s: string, p: number): number {
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c > 0xff || TCHAR[c] !== 1) break;
    p++;
  }
  return p;
}

/** Reads a quoted-string starting at the DQUOTE at `p`. */
function scanQuoted(s: string, p: number): { value: string; end: number } | null {
  let value = "";
  for (let i = p + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return { value, end: i + 1 };
    if (c === 0x5c) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const d = s.charCodeAt(++i);
      if (!(d === HTAB || (d >= 0x20 && d !== 0x7f && d <= 0xff))) return null;
      value += s[i];
      continue;
    }
    if (c > 0xff || QDTEXT[c] !== 1) return null;
    value += s[i];
  }
  return null;
}
