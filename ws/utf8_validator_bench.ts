// UTF-8 validation: the incremental validator (ASCII fast path) against
// TextDecoder with fatal: true, on ASCII and mixed text.
import { isValidUtf8, Utf8Validator } from "./utf8_validator.ts";

const fatal = new TextDecoder("utf-8", { fatal: true });
const mixedUnit =
  "ascii text, \u00e9\u00e8 accents, \u03ba\u1f79\u03c3\u03bc\u03b5, \u{1f600} emoji; ";

for (const size of [1024, 65536, 1 << 20]) {
  const ascii = new TextEncoder().encode("a".repeat(size));
  const mixed = new TextEncoder().encode(mixedUnit.repeat(Math.ceil(size / 60))).subarray(0, size);
  // Cut at a character boundary so that the input is valid.
  let end = mixed.length;
  while (end > 0 && (mixed[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && mixed[end - 1]! >= 0xc0) end--;
  const mixedValid = mixed.subarray(0, end);
  Deno.bench(`isValidUtf8 ASCII ${size} B`, { group: `ascii ${size}`, baseline: true }, () => {
    isValidUtf8(ascii);
  });
  Deno.bench(`TextDecoder fatal ASCII ${size} B`, { group: `ascii ${size}` }, () => {
    fatal.decode(ascii);
  });
  Deno.bench(`isValidUtf8 mixed ${size} B`, { group: `mixed ${size}`, baseline: true }, () => {
    isValidUtf8(mixedValid);
  });
  Deno.bench(`TextDecoder fatal mixed ${size} B`, { group: `mixed ${size}` }, () => {
    fatal.decode(mixedValid);
  });
  const v = new Utf8Validator();
  Deno.bench(`Utf8Validator mixed ${size} B in 1 KiB pieces`, { group: `mixed ${size}` }, () => {
    v.reset();
    for (let i = 0; i < mixedValid.length; i += 1024) {
      v.feed(mixedValid, i, Math.min(mixedValid.length, i + 1024));
    }
  });
}
