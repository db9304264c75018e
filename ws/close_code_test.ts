import { strictEqual as equal } from "node:assert/strict";
import { isValidCloseCode } from "./close_code.ts";

Deno.test("isValidCloseCode() follows RFC 6455 section 7.4", () => {
  const valid = [
    1000,
    1001,
    1002,
    1003,
    1007,
    1008,
    1009,
    1010,
    1011,
    1012,
    1013,
    1014,
    3000,
    3999,
  ];
  for (const c of [...valid, 4000, 4999]) equal(isValidCloseCode(c), true, `${c}`);
  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 1000.5];
  for (const c of invalid) equal(isValidCloseCode(c), false, `${c}`);
});
