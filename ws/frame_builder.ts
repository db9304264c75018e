import { headerLength, writeHeader } from "./_frame.ts";
import { keyWord, randomKey, xorMask } from "./_mask.ts";

/** Options for {@linkcode buildFrame}. */
export interface BuildFrameOptions {
  /**
   * Whether this is the final frame of its message (the FIN bit).
   *
   * @default {true}
   */
  fin?: boolean;
  /**
   * Masking: `false` for a server frame, `true` for a client frame with a
   * random key (from `crypto.getRandomValues`), or the 4-byte key to use.
   *
   * @default {false}
   */
  mask?: boolean | Uint8Array;
  /**
   * The three RSV bits as a number 0-7 (RSV1 is 4). Only for tests and
   * extensions: peers fail frames with RSV bits they did not negotiate.
   *
   * @default {0}
   */
  rsv?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Builds one complete frame (header, optional mask key, payload) in a new
 * array. The caller's payload is never modified, also when masking.
 *
 * Any opcode 0-15 is accepted so that tests can build invalid frames; the
 * session writes its frames straight into its write buffer instead.
 *
 * @param opcode The opcode, 0-15 (see {@linkcode Opcode}).
 * @param payload The payload.
 * @param options FIN, masking and RSV bits.
 * @returns The frame bytes.
 * @throws {RangeError} If `opcode`, `rsv` or the mask key is out of range.
 *
 * @example A masked text frame, as a client sends it
 * ```ts
 * import { buildFrame, Opcode } from "@coroio/ws";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const frame = buildFrame(Opcode.Text, new TextEncoder().encode("Hello"), { mask: key });
 * // RFC 6455 section 5.7: a single-frame masked text message
 * deepEqual(frame, new Uint8Array([
 *   0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
 * ]));
 * ```
 */
export function buildFrame(
  opcode: number,
  payload: Uint8Array = EMPTY,
  options: BuildFrameOptions = {},
): Uint8Array {
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) {
    throw new RangeError(`Cannot build frame: opcode must be an integer 0-15, got ${opcode}`);
  }
  const rsv = options.rsv ?? 0;
  if (!Number.isInteger(rsv) || rsv < 0 || rsv > 7) {
    throw new RangeError(`Cannot build frame: rsv must be an integer 0-7, got ${rsv}`);
  }
  const maskOpt = options.mask ?? false;
  let key = 0;
  if (maskOpt instanceof Uint8Array) {
    if (maskOpt.length !== 4) {
      throw new RangeError(`Cannot build frame: mask key must be 4 bytes, got ${maskOpt.length}`);
    }
    key = keyWord(maskOpt, 0);
  } else if (maskOpt) {
    key = randomKey();
  }
  const masked = maskOpt !== false;
  const len = payload.length;
  const out = new Uint8Array(headerLength(len, masked) + len);
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | (rsv << 4) | opcode;
  const at = writeHeader(out, 0, b0, len, masked, key);
  out.set(payload, at);
  if (masked) xorMask(out.subarray(at), key, 0);
  return out;
}
