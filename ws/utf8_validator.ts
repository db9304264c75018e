/**
 * Scans `b[i..end)` continuing from `state` (0 = between characters; else
 * `need | lo << 8 | hi << 16`: continuation bytes still needed and the range
 * allowed for the next one). Returns the new state, or -1 at the first byte
 * that cannot be part of valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
function scan(b: Uint8Array, i: number, end: number, state: number): number {
  let need = state & 0xff;
  let lo = (state >>> 8) & 0xff;
  let hi = state >>> 16;
  // ASCII fast path over aligned 32-bit words for long inputs.
  let words: Uint32Array | null = null;
  let wordStart = 0;
  let nWords = 0;
  if (end - i >= 64) {
    wordStart = i + ((4 - ((b.byteOffset + i) & 3)) & 3);
    nWords = (end - wordStart) >>> 2;
    words = new Uint32Array(b.buffer, b.byteOffset + wordStart, nWords);
  }
  while (i < end) {
    const c = b[i]!;
    if (need === 0) {
      if (c < 0x80) {
        i++;
        if (words !== null && i >= wordStart) {
          while (((i - wordStart) & 3) !== 0 && i < end && b[i]! < 0x80) i++;
          if (((i - wordStart) & 3) === 0) {
            let j = (i - wordStart) >>> 2;
            while (j < nWords && (words[j]! & 0x80808080) === 0) j++;
            i = wordStart + (j << 2);
          }
        }
        continue;
      }
      if (c < 0xc2) return -1;
      if (c <= 0xdf) {
        need = 1;
        lo = 0x80;
        hi = 0xbf;
      } else if (c <= 0xef) {
        need = 2;
        lo = c === 0xe0 ? 0xa0 : 0x80;
        hi = c === 0xed ? 0x9f : 0xbf;
      } else if (c <= 0xf4) {
        need = 3;
        lo = c === 0xf0 ? 0x90 : 0x80;
        hi = c === 0xf4 ? 0x8f : 0xbf;
      } else {
        return -1;
      }
    } else {
      if (c < lo || c > hi) return -1;
      need--;
      lo = 0x80;
      hi = 0xbf;
    }
    i++;
  }
  return need === 0 ? 0 : need | (lo << 8) | (hi << 16);
}

/**
 * An incremental UTF-8 validator: feed a text message in pieces (frames,
 * fragments, TCP reads) and learn at the first invalid byte that it is
 * invalid, without waiting for the rest. Sequences split across pieces are
 * handled. ASCII runs are checked four bytes at a time.
 *
 * @example Failing fast on a message that arrives in pieces
 * ```ts
 * import { Utf8Validator } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const v = new Utf8Validator();
 * equal(v.feed(new Uint8Array([0x68, 0xe2, 0x82])), true); // "h" and 2 of the 3 bytes of U+20AC
 * equal(v.complete, false);
 * equal(v.feed(new Uint8Array([0xac])), true); // the last byte of U+20AC
 * equal(v.complete, true);
 * equal(v.feed(new Uint8Array([0xed, 0xa0])), false); // a UTF-16 surrogate
 * ```
 */
export class Utf8Validator {
  #state = 0;

  /**
   * Whether everything fed so far ends on a character boundary (and was
   * valid). A message is valid when every `feed()` returned `true` and this
   * is `true` at the end.
   *
   * @returns `true` between characters.
   */
  get complete(): boolean {
    return this.#state === 0;
  }

  /**
   * Checks the next piece of input.
   *
   * @param bytes The piece.
   * @param start The first index to check.
   * @param end One past the last index to check.
   * @returns `false` as soon as the input (with what came before) cannot be
   * valid UTF-8; the validator then stays failed until `reset()`.
   */
  feed(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    if (this.#state < 0) return false;
    this.#state = scan(bytes, start, end, this.#state);
    return this.#state >= 0;
  }

  /** Forgets all input, for the next message. */
  reset(): void {
    this.#state = 0;
  }
}

/**
 * Whether `bytes` is complete, valid UTF-8.
 *
 * @param bytes The input.
 * @returns `true` if valid.
 *
 * @example Usage
 * ```ts
 * import { isValidUtf8 } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isValidUtf8(new TextEncoder().encode("\u03ba\u1f79\u03c3\u03bc\u03b5")), true);
 * equal(isValidUtf8(new Uint8Array([0xc0, 0xaf])), false); // overlong "/"
 * ```
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return scan(bytes, 0, bytes.length, 0) === 0;
}
