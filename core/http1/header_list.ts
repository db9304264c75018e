import { isOws } from "./_chars.ts";
import { foldAscii as fold, isFieldValue, isToken } from "./tokens.ts";
import { RawFieldLines } from "./_raw_header_list.ts";

/**
 * The field lines of a request head (or a trailer section): case-insensitive
 * lookup, repeated fields kept in order.
 *
 * Lists made by {@linkcode RequestParser} keep the head as one string plus
 * the offsets of each name and value; strings for names and values are only
 * cut out when asked for, so a handler that reads two headers pays for two.
 *
 * @example Lookup and iteration
 * ```ts
 * import { HeaderList } from "@coroio/core/http1";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * const headers = new HeaderList([["Accept", "text/html"], ["X-Tag", "a"], ["x-tag", "b"]]);
 * equal(headers.get("accept"), "text/html");
 * equal(headers.get("X-TAG"), "a, b");
 * deepEqual(headers.getAll("x-tag"), ["a", "b"]);
 * equal(headers.size, 3);
 * deepEqual([...headers][0], ["accept", "text/html"]);
 * ```
 */
export class HeaderList {
  // The field lines as one string, and four offsets per line into it:
  // name start, name end, value start, value end. Names keep their case.
  #raw: string;
  #offs: number[];

  /**
   * Creates a list from `[name, value]` pairs (names in any case; values
   * have surrounding whitespace removed).
   *
   * @param init Field lines in order.
   * @throws {TypeError} If a name is not a token or a value holds a control
   * character, CR, LF or a character above U+00FF.
   */
  constructor(init?: Iterable<readonly [string, string]>);
  /**
   * Wraps field lines the parser already validated (no copy).
   *
   * @ignore
   * @param lines The lines as one string and its offsets.
   */
  constructor(lines: RawFieldLines);
  constructor(init?: Iterable<readonly [string, string]> | RawFieldLines) {
    if (init instanceof RawFieldLines) {
      this.#raw = init.raw;
      this.#offs = init.offs;
      return;
    }
    this.#raw = "";
    this.#offs = [];
    if (init === undefined) return;
    let raw = "";
    const offs = this.#offs;
    for (const [name, rawValue] of init) {
      if (name.length === 0) throw new TypeError("Cannot add header: empty field name");
      if (!isToken(name)) {
        throw new TypeError(`Cannot add header "${name}": the name is not a token`);
      }
      const value = trimOws(rawValue);
      if (!isFieldValue(value)) {
        throw new TypeError(`Cannot add header "${name}": the value has a forbidden character`);
      }
      offs.push(raw.length, raw.length + name.length);
      raw += name;
      offs.push(raw.length, raw.length + value.length);
      raw += value;
    }
    this.#raw = raw;
  }

  /**
   * Value of a field, repeated lines joined with `", "` (RFC 9110 5.3).
   *
   * @param name Field name, any case.
   * @returns The value, or `null` when absent.
   */
  get(name: string): string | null {
    const raw = this.#raw;
    const offs = this.#offs;
    const n = name.length;
    let result: string | null = null;
    for (let i = 0; i < offs.length; i += 4) {
      const start = offs[i]!;
      if (offs[i + 1]! - start !== n || !nameEquals(raw, start, name, n)) continue;
      const value = raw.substring(offs[i + 2]!, offs[i + 3]!);
      result = result === null ? value : result + ", " + value;
    }
    return result;
  }

  /**
   * Values of every line of a field, in order (use for `Set-Cookie`).
   *
   * @param name Field name, any case.
   * @returns The values; empty when absent.
   */
  getAll(name: string): string[] {
    const raw = this.#raw;
    const offs = this.#offs;
    const n = name.length;
    const result: string[] = [];
    for (let i = 0; i < offs.length; i += 4) {
      const start = offs[i]!;
      if (offs[i + 1]! - start !== n || !nameEquals(raw, start, name, n)) continue;
      result.push(raw.substring(offs[i + 2]!, offs[i + 3]!));
    }
    return result;
  }

  /**
   * Whether a field is present.
   *
   * @param name Field name, any case.
   * @returns `true` if at least one line has this name.
   */
  has(name: string): boolean {
    const raw = this.#raw;
    const offs = this.#offs;
    const n = name.length;
    for (let i = 0; i < offs.length; i += 4) {
      const start = offs[i]!;
      if (offs[i + 1]! - start === n && nameEquals(raw, start, name, n)) return true;
    }
    return false;
  }

  /**
   * Number of field lines (a repeated field counts once per line).
   *
   * @returns The count.
   */
  get size(): number {
    return this.#offs.length >> 2;
  }

  /**
   * Iterates `[lowercased name, value]` per field line, in order.
   *
   * @returns An iterator of pairs.
   */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const raw = this.#raw;
    const offs = this.#offs;
    for (let i = 0; i < offs.length; i += 4) {
      yield [
        raw.substring(offs[i]!, offs[i + 1]!).toLowerCase(),
        raw.substring(offs[i + 2]!, offs[i + 3]!),
      ];
    }
  }

  /**
   * Copies the fields into a new Fetch API `Headers`.
   *
   * @returns A `Headers` object (repeated fields appended in order).
   */
  toHeaders(): Headers {
    const headers = new Headers();
    const raw = this.#raw;
    const offs = this.#offs;
    for (let i = 0; i < offs.length; i += 4) {
      headers.append(
        raw.substring(offs[i]!, offs[i + 1]!),
        raw.substring(offs[i + 2]!, offs[i + 3]!),
      );
    }
    return headers;
  }
}

function nameEquals(raw: string, start: number, name: string, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const a = raw.charCodeAt(start + i);
    const b = name.charCodeAt(i);
    if (a !== b && fold(a) !== fold(b)) return false;
  }
  return true;
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.substring(start, end);
}
