import { deepStrictEqual as deepEqual, throws } from "node:assert/strict";
import { applyMask } from "./mask.ts";

function reference(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  return data.map((b, i) => b ^ key[(i + offset) % 4]!);
}

Deno.test("applyMask() matches a byte-wise reference for all sizes, alignments and offsets", () => {
  const key = new Uint8Array([0x01, 0x80, 0xfe, 0x7f]);
  for (const len of [0, 1, 3, 4, 5, 31, 32, 33, 64, 100, 1027]) {
    for (let align = 0; align < 4; align++) {
      for (let offset = 0; offset < 4; offset++) {
        const buf = new Uint8Array(align + len);
        for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + 11) & 0xff;
        const view = buf.subarray(align);
        const want = reference(view, key, offset);
        applyMask(view, key, offset);
        deepEqual(view, want, `len ${len} align ${align} offset ${offset}`);
      }
    }
  }
});

Deno.test("applyMask() in pieces equals applyMask() whole", () => {
  const key = new Uint8Array([9, 8, 7, 6]);
  const whole = new Uint8Array(500).map((_, i) => i & 0xff);
  const pieces = whole.slice();
  applyMask(whole, key);
  applyMask(pieces.subarray(0, 77), key, 0);
  applyMask(pieces.subarray(77, 301), key, 77);
  applyMask(pieces.subarray(301), key, 301);
  deepEqual(pieces, whole);
});

Deno.test("applyMask() rejects a key that is not 4 bytes", () => {
  throws(() => applyMask(new Uint8Array(4), new Uint8Array(3)), RangeError);
});
