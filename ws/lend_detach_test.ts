// Short text is lent to onText from one buffer for the isolate
// (ws/_last_text.ts). A handler may detach it (`bytes.buffer.transfer()`):
// later messages, of any parser, must still arrive whole and checked. Its
// own file: the detached buffer stays detached for the whole isolate.
import { deepStrictEqual as deepEqual, ok } from "node:assert/strict";
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import { WebSocketError } from "./errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A parser (server role, text as bytes) and what it delivered. */
function parser(onText: (bytes: Uint8Array) => void): FrameParser {
  const sink: FrameSink = {
    onMessage() {},
    onText,
    onPing() {},
    onPong() {},
    onClose() {},
  };
  return new FrameParser(sink, { role: "server", textBytes: true });
}

Deno.test("FrameParser.feed() lends short text whole and checked after a handler detached the lent buffer", () => {
  parser((bytes) => void (bytes.buffer as ArrayBuffer).transfer()).feed(
    buildFrame(1, enc.encode("first"), { mask: true }),
  );
  const got: string[] = [];
  const p = parser((bytes) => void got.push(dec.decode(bytes)));
  for (const text of ["hello", "a", "x".repeat(128)]) {
    p.feed(buildFrame(1, enc.encode(text), { mask: true }));
  }
  deepEqual(got, ["hello", "a", "x".repeat(128)]);
  let closeCode = 0;
  try {
    p.feed(buildFrame(1, new Uint8Array([0x41, 0xff]), { mask: true }));
  } catch (err) {
    ok(err instanceof WebSocketError);
    closeCode = err.closeCode;
  }
  deepEqual(closeCode, 1007, "invalid UTF-8 still fails with 1007");
});
