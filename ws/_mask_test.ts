import { deepStrictEqual as deepEqual } from "node:assert/strict";
import { keyWord, unmaskText, xorRange } from "./_mask.ts";

function reference(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  return data.map((b, i) => b ^ key[(i + offset) % 4]!);
}

Deno.test("xorRange() matches a byte-wise reference for every start, length and offset", () => {
  const key = new Uint8Array([0x01, 0x80, 0xfe, 0x7f]);
  const kw = keyWord(key, 0);
  const lengths = [0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 511, 512, 513, 1027, 4099];
  for (const len of lengths) {
    for (let start = 0; start < 9; start++) {
      for (let offset = 0; offset < 4; offset++) {
        // A view that does not start on a word boundary of its buffer, too.
        for (const shift of [0, 3]) {
          const buf = new Uint8Array(shift + start + len + 5).subarray(shift);
          for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + 11) & 0xff;
          const want = buf.slice();
          want.set(reference(buf.subarray(start, start + len), key, offset), start);
          xorRange(buf, start, start + len, kw, offset);
          deepEqual(buf, want, `len ${len} start ${start} offset ${offset} shift ${shift}`);
        }
      }
    }
  }
});

Deno.test("unmaskText() unmasks as the reference does and ORs the unmasked bytes", () => {
  const keys = [
    new Uint8Array([0x01, 0x80, 0xfe, 0x7f]),
    new Uint8Array([0, 0, 0, 0]),
    new Uint8Array([0x20, 0x20, 0x20, 0x20]),
  ];
  const lengths = [0, 1, 3, 4, 5, 63, 64, 65, 67, 100, 511, 1027];
  for (const key of keys) {
    const kw = keyWord(key, 0);
    for (const len of lengths) {
      for (let start = 0; start < 6; start++) {
        for (const shift of [0, 1, 3]) {
          // ASCII everywhere, then one byte >= 0x80 (after unmasking) at each of a few places.
          for (const high of [-1, 0, len >> 1, len - 1]) {
            if (high >= len) continue;
            const buf = new Uint8Array(shift + start + len + 5).subarray(shift);
            const plain = Uint8Array.from({ length: len }, (_, i) => 0x20 + ((i * 7) % 90));
            if (high >= 0) plain[high] = 0x80 | (high & 0x3f);
            for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + 11) & 0xff;
            buf.set(reference(plain, key, 0), start);
            const want = buf.slice();
            want.set(plain, start);
            const or = unmaskText(buf, start, start + len, kw);
            const what = `key ${key} len ${len} start ${start} shift ${shift} high ${high}`;
            deepEqual(buf, want, what);
            deepEqual(or, plain.reduce((a, b) => a | b, 0), what);
          }
        }
      }
    }
  }
});
