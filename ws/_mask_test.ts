import { deepStrictEqual as deepEqual } from "node:assert/strict";
import { keyWord, xorRange } from "./_mask.ts";

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
