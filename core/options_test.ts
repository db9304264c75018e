import { strictEqual as equal, throws } from "node:assert/strict";
import { BufReader } from "./buf_reader.ts";
import { BufWriter } from "./buf_writer.ts";
import { Deadlines } from "./deadlines.ts";
import { intOption } from "./options.ts";
import { ChunkedDecoder } from "./http1/chunked.ts";
import { RequestParser } from "./http1/parser.ts";
import { ChunkReader, RecordingWriter } from "./_test_util.ts";

Deno.test("intOption() accepts a safe integer >= min and falls back on undefined", () => {
  const cases: [number | undefined, number, number][] = [
    [undefined, 7, 7],
    [1, 7, 1],
    [0, 7, 0],
    [Number.MAX_SAFE_INTEGER, 7, Number.MAX_SAFE_INTEGER],
  ];
  for (const [value, fallback, want] of cases) {
    equal(intOption("X", "n", value, fallback, 0), want);
  }
});

Deno.test("intOption() refuses fractions, NaN, infinities, unsafe integers and values below min", () => {
  for (const value of [1.5, NaN, Infinity, -Infinity, 2 ** 53, 0, -1]) {
    throws(
      () => intOption("X", "n", value, 1),
      (e: unknown) =>
        e instanceof RangeError && /^Cannot create X: n must be an integer >= 1/.test(e.message),
      String(value),
    );
  }
});

// One row per class of core: a bad value of each option is a RangeError
// when the object is constructed, with the message naming the class and option.
const rows: [string, string, () => unknown][] = [
  ["BufReader", "initialSize", () => new BufReader(new ChunkReader([]), { initialSize: 15 })],
  [
    "BufReader",
    "initialSize",
    () => new BufReader(new ChunkReader([]), { initialSize: 1.5e3 + 0.5 }),
  ],
  [
    "BufReader",
    "maxReadSize",
    () => new BufReader(new ChunkReader([]), { initialSize: 4096, maxReadSize: 2048 }),
  ],
  ["BufWriter", "bufferSize", () => new BufWriter(new RecordingWriter(), { bufferSize: 63 })],
  ["BufWriter", "bufferSize", () => new BufWriter(new RecordingWriter(), { bufferSize: NaN })],
  ["Deadlines", "resolution", () => new Deadlines({ resolution: 0 })],
  ["Deadlines", "resolution", () => new Deadlines({ resolution: 2.5 })],
  ["RequestParser", "maxHeadSize", () => new RequestParser({ maxHeadSize: 1.5 })],
  ["RequestParser", "maxRequestLineLength", () => new RequestParser({ maxRequestLineLength: 0 })],
  ["RequestParser", "maxHeaderCount", () => new RequestParser({ maxHeaderCount: -1 })],
  ["ChunkedDecoder", "maxChunkLineLength", () => new ChunkedDecoder({ maxChunkLineLength: 0 })],
  ["ChunkedDecoder", "maxTrailerSize", () => new ChunkedDecoder({ maxTrailerSize: Infinity })],
  ["ChunkedDecoder", "maxTrailerCount", () => new ChunkedDecoder({ maxTrailerCount: 2.5 })],
];

Deno.test("intOption() is the one rule: each class refuses a bad option at construction", () => {
  for (const [owner, name, make] of rows) {
    throws(
      make,
      (e: unknown) =>
        e instanceof RangeError &&
        e.message.startsWith(`Cannot create ${owner}: ${name} must be an integer >= `),
      `${owner} ${name}`,
    );
  }
});
