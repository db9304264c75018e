import { keyWord, xorMask } from "./_mask.ts";

/**
 * Masks or unmasks `data` in place with a 4-byte key (RFC 6455 section
 * 5.3): byte `i` is XORed with `key[(i + offset) % 4]`. Masking and unmasking
 * are the same operation. Large inputs are processed in aligned 32-bit words.
 *
 * @param data The bytes to transform, in place.
 * @param key The 4-byte masking key.
 * @param offset How many payload bytes came before `data` (when a payload
 * is processed in pieces).
 * @throws {RangeError} If `key` is not 4 bytes long.
 *
 * @example Masking and unmasking restore the input
 * ```ts
 * import { applyMask } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const data = new TextEncoder().encode("Hello");
 * applyMask(data, key);
 * deepEqual(data, new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]));
 * applyMask(data, key);
 * deepEqual(new TextDecoder().decode(data), "Hello");
 * ```
 */
export function applyMask(data: Uint8Array, key: Uint8Array, offset = 0): void {
  if (key.length !== 4) throw new RangeError(`Cannot mask: key must be 4 bytes, got ${key.length}`);
  xorMask(data, keyWord(key, 0), offset);
}
