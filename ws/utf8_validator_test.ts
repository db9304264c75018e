import { strictEqual as equal } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { isValidUtf8, Utf8Validator } from "./utf8_validator.ts";
import { hex } from "./_test_util.ts";

const fatal = new TextDecoder("utf-8", { fatal: true });
function reference(b: Uint8Array): boolean {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
}

const VALID = [
  "",
  "41",
  "7f",
  "c2 80",
  "df bf",
  "e0 a0 80",
  "ed 9f bf", // U+D7FF
  "ee 80 80", // U+E000
  "ef bf bf",
  "f0 90 80 80",
  "f4 8f bf bf", // U+10FFFF
  "ce ba e1 bd b9 cf 83 ce bc ce b5",
  "ef bb bf", // BOM
];
const INVALID = [
  "80", // lone continuation
  "bf",
  "c0 af", // overlong
  "c1 bf",
  "e0 80 af", // overlong
  "e0 9f bf",
  "ed a0 80", // surrogate
  "ed bf bf",
  "f0 8f bf bf", // overlong
  "f4 90 80 80", // above U+10FFFF
  "f5 80 80 80",
  "fe",
  "ff",
  "c2", // truncated
  "e0 a0",
  "f0 90 80",
  "c2 41",
  "41 80 41",
];

Deno.test("isValidUtf8() matches the table", () => {
  for (const v of VALID) equal(isValidUtf8(hex(v)), true, v);
  for (const v of INVALID) equal(isValidUtf8(hex(v)), false, v);
});

Deno.test("Utf8Validator.feed() gives the same answer at every split point", () => {
  for (const v of [...VALID, ...INVALID]) {
    const b = hex(v);
    const want = isValidUtf8(b);
    for (let i = 0; i <= b.length; i++) {
      const u = new Utf8Validator();
      const ok = u.feed(b.subarray(0, i)) && u.feed(b.subarray(i)) && u.complete;
      equal(ok, want, `${v} split at ${i}`);
    }
  }
});

Deno.test("Utf8Validator.feed() fails at the first impossible byte", () => {
  const u = new Utf8Validator();
  equal(u.feed(hex("41 f4")), true);
  equal(u.feed(hex("90")), false);
  equal(u.feed(hex("41")), false); // stays failed
  u.reset();
  equal(u.feed(hex("41")), true);
  equal(u.complete, true);
});

Deno.test("Utf8Validator.feed() honours start and end", () => {
  const u = new Utf8Validator();
  const b = hex("ff 41 42 ff");
  equal(u.feed(b, 1, 3), true);
  equal(u.complete, true);
});

Deno.test("isValidUtf8() uses the word path on long ASCII with a late error", () => {
  for (let off = 0; off < 8; off++) {
    for (const at of [0, 3, 63, 64, 65, 199]) {
      const buf = new Uint8Array(off + 200).fill(0x61);
      const view = buf.subarray(off);
      equal(isValidUtf8(view), true);
      view[at] = 0x80;
      equal(isValidUtf8(view), false, `offset ${off}, error at ${at}`);
      view[at] = 0xc3;
      view[at + 1] = 0xa9;
      equal(isValidUtf8(view), at + 1 < 200, `offset ${off}, e-acute at ${at}`);
    }
  }
});

Deno.test("isValidUtf8() agrees with TextDecoder on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (b, off) => {
      const buf = new Uint8Array(off + b.length);
      buf.set(b, off);
      const view = buf.subarray(off);
      return isValidUtf8(view) === reference(view);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("Utf8Validator.feed() agrees with TextDecoder on random strings cut anywhere", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      (s, cuts) => {
        const b = new TextEncoder().encode(s);
        const points = cuts.map((c) => c % (b.length + 1)).sort((x, y) => x - y);
        const u = new Utf8Validator();
        let from = 0;
        for (const p of [...points, b.length]) {
          if (!u.feed(b.subarray(from, p))) return false;
          from = p;
        }
        return u.complete;
      },
    ),
    { numRuns: 500 },
  );
});
