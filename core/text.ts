// Byte-to-string decoding for the packages' hot paths. TextDecoder costs
// about 100 ns a call however short the input (250 ns and more with
// `fatal`), which is a large part of the JavaScript a request head or a
// short WebSocket message costs; Node's Latin-1 slice, which Deno's
// `node:buffer` provides as a native call, makes a one-byte string from the
// bytes in about 40 ns. It is reached through `Buffer.prototype` and applied
// to plain Uint8Arrays, so it is checked once at load, and a JavaScript
// loop takes over if it is missing or behaves otherwise.
import { Buffer } from "node:buffer";

type Slice = (this: Uint8Array, start: number, end: number) => string;

/** Decodes in JavaScript: chunks of char codes through `String.fromCharCode`. */
export function latin1Loop(this: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    const stop = i + 4096 < end ? i + 4096 : end;
    s += String.fromCharCode.apply(null, this.subarray(i, stop) as unknown as number[]);
  }
  return s;
}

/** The native Latin-1 slice if it decodes a plain Uint8Array view one byte to one unit. */
function pickSlice(): Slice {
  const native = (Buffer.prototype as unknown as { latin1Slice?: unknown }).latin1Slice;
  if (typeof native !== "function") return latin1Loop;
  try {
    const probe = new Uint8Array([0x00, 0x41, 0x0d, 0x80, 0xe9, 0xff, 0x7f, 0x20]).subarray(1, 7);
    if ((native as Slice).call(probe, 1, 5) === "\r\u0080\u00e9\u00ff") return native as Slice;
  } catch {
    // Not usable on a plain view: the loop then.
  }
  return latin1Loop;
}

const slice: Slice = pickSlice();

/**
 * Decodes `bytes[start, end)` one byte to one UTF-16 code unit (ISO-8859-1,
 * the "isomorphic decode" of the Fetch standard's `ByteString`): byte 0xE9
 * becomes U+00E9, never a replacement character. It is how HTTP/1.1 field
 * values are read, and for ASCII it is the same string UTF-8 decoding
 * gives, several times faster than `TextDecoder` on short input.
 *
 * @param bytes The bytes.
 * @param start The first index to decode.
 * @param end One past the last index to decode.
 * @returns The string, `end - start` code units long.
 * @throws {RangeError} If `start` or `end` is not an integer index of `bytes`.
 *
 * @example Latin-1 and ASCII
 * ```ts
 * import { decodeLatin1 } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const bytes = new Uint8Array([0x47, 0x45, 0x54, 0x20, 0x63, 0x61, 0x66, 0xe9]);
 * equal(decodeLatin1(bytes, 0, 3), "GET");
 * equal(decodeLatin1(bytes, 4, 8), "caf\u00e9"); // 0xE9 is one unit, not a replacement
 * ```
 */
export function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  if (
    !(start >= 0 && end <= bytes.length && start <= end) || !Number.isInteger(start) ||
    !Number.isInteger(end)
  ) {
    throw new RangeError(
      `Cannot decode bytes [${start}, ${end}): outside the ${bytes.length} bytes given`,
    );
  }
  return slice.call(bytes, start, end);
}

/** Which decoder `decodeLatin1` uses (for tests): "native" or "loop". */
export const latin1Decoder: "native" | "loop" = slice === latin1Loop ? "loop" : "native";
