/**
 * What the pieces of a strict server cost per request or message, against
 * the budget that "90% of the floor" leaves (bench/README.md, "The strict
 * floor"): at 16 pipelined requests the floor spends about 0.5 us of server
 * CPU per request, so 0.9 of it leaves about 55 ns of JavaScript per request
 * for everything the floor does not do.
 *
 * ```sh
 * deno bench -A bench/budget_bench.ts
 * ```
 *
 * Each benchmark handles 16 wrk-style heads (`GET / HTTP/1.1`, `Host`) or 16
 * masked 32-byte text frames, as one pipelined read carries them; divide by
 * 16 for one request or message.
 *
 * @module
 */
import { RequestParser } from "@coroio/core/http1";
import { FrameParser, type FrameSink } from "@coroio/ws";
import { buildClientFrame, Opcode } from "./_ws_frames.ts";

const enc = new TextEncoder();
const ONE = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const HEADS = enc.encode(ONE.repeat(16));
const N = ONE.length;
const parser = new RequestParser();
const decoder = new TextDecoder();
/** One entry per byte value: 1 for what a request head may hold, 0 otherwise. */
const ALLOWED = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) ALLOWED[b] = 1;
ALLOWED[9] = ALLOWED[10] = ALLOWED[13] = 1;
let sink = 0;

Deno.bench(
  "16 heads: the strict parser, each head fed alone (reset, feed, head with strings)",
  { group: "http" },
  () => {
    for (let i = 0; i < 16; i++) {
      parser.reset();
      parser.feed(HEADS.subarray(i * N, i * N + N));
      sink += parser.head!.target.length;
    }
  },
);

Deno.bench("16 heads: the strict parser fed the rest of the read each time, as the server does", {
  group: "http",
}, () => {
  for (let i = 0; i < 16; i++) {
    parser.reset();
    parser.feed(HEADS, i * N, HEADS.length);
    sink += parser.head!.target.length;
  }
});

Deno.bench("16 heads: one table lookup per byte (the least a strict check does)", {
  group: "http",
}, () => {
  let bad = 0;
  for (let i = 0; i < HEADS.length; i++) bad |= ALLOWED[HEADS[i]!]! ^ 1;
  sink += bad;
});

Deno.bench("16 heads: one TextDecoder call per head", { group: "http" }, () => {
  for (let i = 0; i < 16; i++) sink += decoder.decode(HEADS.subarray(i * N, i * N + N)).length;
});

Deno.bench("16 heads: one TextDecoder call for all, then substrings", { group: "http" }, () => {
  const all = decoder.decode(HEADS);
  for (let i = 0; i < 16; i++) sink += all.substring(i * N, i * N + N).length;
});

const FRAME = buildClientFrame(
  Opcode.text,
  enc.encode("x".repeat(32)),
  new Uint8Array([1, 2, 3, 4]),
);
const FRAMES = new Uint8Array(FRAME.length * 16);
for (let i = 0; i < 16; i++) FRAMES.set(FRAME, i * FRAME.length);
/** Counts what the parser delivers. */
class Count implements FrameSink {
  onMessage(data: string | Uint8Array): void {
    sink += data.length;
  }
  onPing(): void {}
  onPong(): void {}
  onClose(): void {}
}
const frameParser = new FrameParser(new Count(), { role: "server" });
const work = new Uint8Array(FRAMES.length);

Deno.bench("16 frames: FrameParser.feed (checks, unmask, UTF-8, a string each)", {
  group: "ws",
}, () => {
  work.set(FRAMES); // the parser unmasks in place
  frameParser.feed(work);
});

/** Counts the text delivered as bytes. */
class CountBytes extends Count {
  onText(bytes: Uint8Array): void {
    sink += bytes.length;
  }
}
const bytesParser = new FrameParser(new CountBytes(), { role: "server", textBytes: true });

Deno.bench("16 frames: FrameParser.feed with textBytes (a lent view each)", {
  group: "ws",
}, () => {
  work.set(FRAMES);
  bytesParser.feed(work);
});
