import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { buildFrame } from "./frame_builder.ts";
import { Opcode } from "./constants.ts";
import { hex } from "./_test_util.ts";

Deno.test("buildFrame() builds the RFC 6455 section 5.7 examples", () => {
  const hello = new TextEncoder().encode("Hello");
  deepEqual(buildFrame(Opcode.Text, hello), hex("81 05 48 65 6c 6c 6f"));
  deepEqual(
    buildFrame(Opcode.Text, hello, { mask: hex("37 fa 21 3d") }),
    hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
  );
  deepEqual(buildFrame(Opcode.Text, hello.subarray(0, 3), { fin: false }), hex("01 03 48 65 6c"));
  deepEqual(buildFrame(Opcode.Continuation, hello.subarray(3)), hex("80 02 6c 6f"));
  deepEqual(buildFrame(Opcode.Ping, hello), hex("89 05 48 65 6c 6c 6f"));
});

Deno.test("buildFrame() uses the shortest length encoding", () => {
  equal(buildFrame(2, new Uint8Array(125)).length, 2 + 125);
  deepEqual(buildFrame(2, new Uint8Array(126)).subarray(0, 4), hex("82 7e 00 7e"));
  deepEqual(buildFrame(2, new Uint8Array(65535)).subarray(0, 4), hex("82 7e ff ff"));
  deepEqual(
    buildFrame(2, new Uint8Array(65536)).subarray(0, 10),
    hex("82 7f 00 00 00 00 00 01 00 00"),
  );
  equal(buildFrame(2, new Uint8Array(65536), { mask: true }).length, 14 + 65536);
});

Deno.test("buildFrame() never modifies the payload", () => {
  const payload = new Uint8Array(1000).map((_, i) => i & 0xff);
  const copy = payload.slice();
  const frame = buildFrame(Opcode.Binary, payload, { mask: true });
  deepEqual(payload, copy);
  notDeepEqual(frame.subarray(8), copy); // masked (a zero key is astronomically unlikely)
});

Deno.test("buildFrame() draws a different random key per frame", () => {
  const keys = new Set<string>();
  for (let i = 0; i < 50; i++) {
    keys.add(buildFrame(1, new Uint8Array(0), { mask: true }).subarray(2, 6).join(","));
  }
  equal(keys.size > 45, true);
});

Deno.test("buildFrame() sets RSV bits for tests", () => {
  equal(buildFrame(1, new Uint8Array(0), { rsv: 4 })[0], 0xc1);
});

Deno.test("buildFrame() rejects out-of-range arguments", () => {
  throws(() => buildFrame(16), RangeError);
  throws(() => buildFrame(1, new Uint8Array(0), { rsv: 8 }), RangeError);
  throws(() => buildFrame(1, new Uint8Array(0), { mask: new Uint8Array(2) }), RangeError);
});
