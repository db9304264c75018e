import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { decodeLatin1, latin1Decoder, latin1Loop } from "./text.ts";

/** The definition: one code unit per byte. */
function reference(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

Deno.test("decodeLatin1() uses Deno's native slice here", () => {
  // The loop is correct too, but several times slower on short input: a
  // Deno that drops or changes Buffer.prototype.latin1Slice shows up here.
  strictEqual(latin1Decoder, "native");
});

const CASES: [string, number[], number, number, string][] = [
  ["empty", [], 0, 0, ""],
  ["empty range inside", [0x41, 0x42], 1, 1, ""],
  ["ASCII", [0x47, 0x45, 0x54], 0, 3, "GET"],
  ["control bytes", [0x00, 0x0d, 0x0a, 0x7f], 0, 4, "\0\r\n\x7f"],
  ["high bytes are one unit each", [0x80, 0xc3, 0xa9, 0xff], 0, 4, "\x80\xc3\xa9\xff"],
  ["a middle range", [0x61, 0x62, 0x63, 0x64, 0x65], 1, 4, "bcd"],
];

for (const decoder of ["decodeLatin1", "loop"] as const) {
  Deno.test(`${decoder}: the cases, on a fresh array and on a view at an offset`, () => {
    for (const [what, bytes, start, end, want] of CASES) {
      const plain = new Uint8Array(bytes);
      const padded = new Uint8Array(bytes.length + 7);
      padded.set(bytes, 5);
      const view = padded.subarray(5, 5 + bytes.length);
      const call = (b: Uint8Array) =>
        decoder === "loop" ? latin1Loop.call(b, start, end) : decodeLatin1(b, start, end);
      strictEqual(call(plain), want, what);
      strictEqual(call(view), want, `${what} (view)`);
    }
  });

  Deno.test(`${decoder}: any bytes and range decode as one unit per byte (property)`, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 9000, size: "max" }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 16 }),
        (bytes, a, b, pad) => {
          const buf = new Uint8Array(bytes.length + pad);
          buf.set(bytes, pad);
          const view = buf.subarray(pad);
          const n = bytes.length + 1;
          const start = Math.min(a % n, b % n);
          const end = Math.max(a % n, b % n);
          const got = decoder === "loop"
            ? latin1Loop.call(view, start, end)
            : decodeLatin1(view, start, end);
          strictEqual(got, reference(view, start, end));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
}

Deno.test("decodeLatin1() refuses a range outside the bytes", () => {
  const bytes = new Uint8Array(4);
  for (const [start, end] of [[-1, 2], [0, 5], [3, 2], [NaN, 3], [0, NaN], [0.5, 2], [1, 2.5]]) {
    throws(() => decodeLatin1(bytes, start!, end!), RangeError, `[${start}, ${end})`);
  }
  deepStrictEqual(decodeLatin1(bytes.subarray(4), 0, 0), "");
});
