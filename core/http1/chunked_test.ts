import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { ChunkedDecoder, type ChunkedDecoderOptions } from "./chunked.ts";
import { HttpError, type HttpErrorCode } from "./errors.ts";
import { FEED_MODES, latin1Bytes, wholeSplit } from "./_parser_cases.ts";

type Outcome =
  | { kind: "done"; body: string; consumed: number; trailers: [string, string][] | null }
  | { kind: "error"; status: number; code: HttpErrorCode }
  | { kind: "incomplete"; body: string };

/** Feeds `bytes` in pieces of the given sizes, collecting data spans (as latin1) until done. */
function decodePieces(dec: ChunkedDecoder, bytes: Uint8Array, sizes: number[]): Outcome {
  let offset = 0;
  let consumed = 0;
  let body = "";
  for (const size of sizes) {
    let input = bytes.slice(offset, offset + size);
    offset += size;
    for (let guard = 0; input.length > 0; guard++) {
      if (guard > 100000) throw new Error("decode() makes no progress");
      let n: number;
      try {
        n = dec.decode(input);
      } catch (err) {
        if (err instanceof HttpError) return { kind: "error", status: err.status, code: err.code };
        throw err;
      }
      if (n < 0 || n > input.length) throw new Error(`decode() returned ${n} for ${input.length}`);
      if (dec.dataLength > 0) {
        ok(
          dec.dataStart >= 0 && dec.dataStart + dec.dataLength <= n,
          "data span inside the consumed bytes",
        );
        for (let i = 0; i < dec.dataLength; i++) {
          body += String.fromCharCode(input[dec.dataStart + i]!);
        }
      }
      consumed += n;
      if (dec.done) {
        return {
          kind: "done",
          body,
          consumed,
          trailers: dec.trailers === null ? null : [...dec.trailers],
        };
      }
      if (n === 0) throw new Error("decode() returned 0 for non-empty input before done");
      input = input.subarray(n);
    }
  }
  return { kind: "incomplete", body };
}

interface ValidChunked {
  name: string;
  input: string;
  rest?: string;
  body: string;
  trailers?: [string, string][];
  options?: ChunkedDecoderOptions;
}

interface InvalidChunked {
  name: string;
  input: string;
  code: HttpErrorCode;
  options?: ChunkedDecoderOptions;
}

const VALID: ValidChunked[] = [
  { name: "empty body", input: "0\r\n\r\n", body: "" },
  { name: "one chunk", input: "5\r\nhello\r\n0\r\n\r\n", body: "hello" },
  { name: "two chunks", input: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world" },
  { name: "upper-case hex size", input: "A\r\n0123456789\r\n0\r\n\r\n", body: "0123456789" },
  { name: "lower-case hex size", input: "a\r\n0123456789\r\n0\r\n\r\n", body: "0123456789" },
  { name: "leading zeros", input: "0005\r\nhello\r\n0000\r\n\r\n", body: "hello" },
  {
    name: "16 hex digits",
    input: "000000000000000a\r\n0123456789\r\n0\r\n\r\n",
    body: "0123456789",
  },
  {
    name: "large chunk",
    input: "3e8\r\n" + "x".repeat(1000) + "\r\n0\r\n\r\n",
    body: "x".repeat(1000),
  },
  { name: "data containing CRLF", input: "4\r\n\r\n\r\n\r\n0\r\n\r\n", body: "\r\n\r\n" },
  { name: "binary data", input: "3\r\n\x00\xff\x80\r\n0\r\n\r\n", body: "\x00\xff\x80" },
  { name: "extension without value", input: "5;foo\r\nhello\r\n0\r\n\r\n", body: "hello" },
  { name: "extension with token value", input: "5;foo=bar\r\nhello\r\n0\r\n\r\n", body: "hello" },
  { name: "extension with BWS", input: "5 ; foo = bar\r\nhello\r\n0\r\n\r\n", body: "hello" },
  { name: "extension with tabs", input: "5\t;\tfoo\t=\tbar\r\nhello\r\n0\r\n\r\n", body: "hello" },
  {
    name: "extension with quoted value and escapes",
    input: '5;foo="a b\\"c\\\\"\r\nhello\r\n0\r\n\r\n',
    body: "hello",
  },
  { name: "several extensions", input: '5;a;b=c;d="e"\r\nhello\r\n0\r\n\r\n', body: "hello" },
  { name: "extension on the last chunk", input: "0;end=1\r\n\r\n", body: "" },
  {
    name: "trailers",
    input: "0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
    body: "",
    trailers: [["x-a", "1"], ["x-b", "2"]],
  },
  {
    name: "trailers with whitespace and obs-text",
    input: "2\r\nok\r\n0\r\nChecksum:\t abc \t\r\nX-Name: caf\xe9\r\n\r\n",
    body: "ok",
    trailers: [["checksum", "abc"], ["x-name", "caf\xe9"]],
  },
  { name: "empty trailer value", input: "0\r\nX-E:\r\n\r\n", body: "", trailers: [["x-e", ""]] },
  {
    name: "bytes after the body are left",
    input: "1\r\na\r\n0\r\n\r\n",
    rest: "GET / HTTP/1.1\r\n",
    body: "a",
  },
  {
    name: "size line at maxChunkLineLength",
    input: "5;" + "a".repeat(6) + "\r\nhello\r\n0\r\n\r\n",
    options: { maxChunkLineLength: 8 },
    body: "hello",
  },
  {
    name: "trailer section at maxTrailerSize",
    input: "0\r\nA: 1234\r\n\r\n",
    options: { maxTrailerSize: 11 },
    body: "",
    trailers: [["a", "1234"]],
  },
  {
    name: "trailer count at maxTrailerCount",
    input: "0\r\nA: 1\r\nB: 2\r\n\r\n",
    options: { maxTrailerCount: 2 },
    body: "",
    trailers: [["a", "1"], ["b", "2"]],
  },
];

const INVALID: InvalidChunked[] = [
  { name: "empty size line", input: "\r\n", code: "invalid-chunk" },
  { name: "non-hex size", input: "x\r\n", code: "invalid-chunk" },
  { name: "negative size", input: "-5\r\nhello\r\n0\r\n\r\n", code: "invalid-chunk" },
  { name: "size with a plus sign", input: "+5\r\nhello\r\n", code: "invalid-chunk" },
  { name: "size with 0x", input: "0x5\r\nhello\r\n", code: "invalid-chunk" },
  { name: "space before the size", input: " 5\r\nhello\r\n", code: "invalid-chunk" },
  { name: "space after the size", input: "5 \r\nhello\r\n", code: "invalid-chunk" },
  { name: "bare LF after the size", input: "5\nhello\r\n", code: "bare-lf" },
  { name: "bare CR in the size line", input: "5\r5\r\n", code: "invalid-chunk" },
  { name: "missing CRLF after data", input: "5\r\nhelloX\r\n0\r\n\r\n", code: "invalid-chunk" },
  { name: "CR without LF after data", input: "5\r\nhello\rX0\r\n\r\n", code: "invalid-chunk" },
  { name: "data longer than the size", input: "3\r\nhello\r\n", code: "invalid-chunk" },
  { name: "17 hex digits", input: "00000000000000005\r\nhello\r\n", code: "invalid-chunk" },
  { name: "size of 2^53", input: "20000000000000\r\n", code: "chunk-too-large" },
  { name: "huge size", input: "ffffffffffffffff\r\n", code: "chunk-too-large" },
  { name: "empty extension", input: "5;\r\nhello\r\n", code: "invalid-chunk" },
  { name: "extension without name", input: "5;=x\r\nhello\r\n", code: "invalid-chunk" },
  { name: "extension with empty value", input: "5;a=\r\nhello\r\n", code: "invalid-chunk" },
  { name: "unterminated quoted extension", input: '5;a="x\r\nhello\r\n', code: "invalid-chunk" },
  { name: "extension value with a space", input: "5;a=b c\r\nhello\r\n", code: "invalid-chunk" },
  {
    name: "control character in an extension",
    input: "5;a=\x01\r\nhello\r\n",
    code: "invalid-chunk",
  },
  { name: "NUL in a quoted extension", input: '5;a="\x00"\r\nhello\r\n', code: "invalid-chunk" },
  { name: "extension without semicolon", input: "5 a\r\nhello\r\n", code: "invalid-chunk" },
  {
    name: "trailing whitespace after an extension",
    input: "5;a \r\nhello\r\n",
    code: "invalid-chunk",
  },
  {
    name: "size line over maxChunkLineLength",
    input: "5;" + "a".repeat(7) + "\r\nhello\r\n",
    options: { maxChunkLineLength: 8 },
    code: "invalid-chunk",
  },
  {
    name: "endless size line",
    input: "5;" + "a".repeat(5000),
    code: "invalid-chunk",
  },
  {
    name: "space before a trailer colon",
    input: "0\r\nX A: 1\r\n\r\n",
    code: "whitespace-before-colon",
  },
  { name: "empty trailer name", input: "0\r\n: 1\r\n\r\n", code: "invalid-header-name" },
  { name: "trailer without colon", input: "0\r\nX-A\r\n\r\n", code: "invalid-header-name" },
  { name: "NUL in a trailer value", input: "0\r\nX-A: \x00\r\n\r\n", code: "invalid-header-value" },
  { name: "bare CR in a trailer value", input: "0\r\nX-A: a\rb\r\n\r\n", code: "bare-cr" },
  { name: "obs-fold in trailers", input: "0\r\nX-A: 1\r\n 2\r\n\r\n", code: "obs-fold" },
  { name: "bare LF after a trailer", input: "0\r\nX-A: 1\n\r\n", code: "bare-lf" },
  { name: "bare LF as the final line", input: "0\r\n\n", code: "bare-lf" },
  {
    name: "trailer section over maxTrailerSize",
    input: "0\r\nA: 12345\r\n\r\n",
    options: { maxTrailerSize: 11 },
    code: "trailers-too-large",
  },
  {
    name: "endless trailers",
    input: "0\r\n" + "X-A: 1\r\n".repeat(2000),
    code: "trailers-too-large",
  },
  {
    name: "trailer count over maxTrailerCount",
    input: "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    options: { maxTrailerCount: 2 },
    code: "trailers-too-large",
  },
];

const sharedDecoders = new Map<string, ChunkedDecoder>();
function reused(options: ChunkedDecoderOptions | undefined): ChunkedDecoder {
  const key = JSON.stringify(options ?? {});
  let dec = sharedDecoders.get(key);
  if (dec === undefined) sharedDecoders.set(key, dec = new ChunkedDecoder(options));
  dec.reset();
  return dec;
}

for (const c of VALID) {
  Deno.test(`ChunkedDecoder.decode() decodes ${c.name} identically in every feeding mode`, () => {
    const bytes = latin1Bytes(c.input + (c.rest ?? ""));
    const whole = decodePieces(new ChunkedDecoder(c.options), bytes, wholeSplit(bytes.length));
    deepStrictEqual(whole, {
      kind: "done",
      body: c.body,
      consumed: c.input.length,
      trailers: c.trailers ?? null,
    });
    for (const mode of FEED_MODES) {
      deepStrictEqual(
        decodePieces(reused(c.options), bytes, mode.split(bytes.length)),
        whole,
        mode.name,
      );
    }
  });
}

for (const c of INVALID) {
  Deno.test(`ChunkedDecoder.decode() rejects ${c.name} with 400 ${c.code}`, () => {
    const bytes = latin1Bytes(c.input);
    for (const mode of FEED_MODES) {
      deepStrictEqual(
        decodePieces(reused(c.options), bytes, mode.split(bytes.length)),
        { kind: "error", status: 400, code: c.code },
        mode.name,
      );
    }
  });
}

Deno.test("ChunkedDecoder.decode() yields at most one data span per call, without copying", () => {
  const input = latin1Bytes("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  const dec = new ChunkedDecoder();
  const spans: [number, number, number][] = [];
  let offset = 0;
  while (!dec.done) {
    const n = dec.decode(input.subarray(offset));
    if (dec.dataLength > 0) spans.push([offset + dec.dataStart, dec.dataLength, n]);
    offset += n;
  }
  deepStrictEqual(spans, [[3, 3, 6], [11, 2, 7]]);
  strictEqual(offset, input.length);
});

Deno.test("ChunkedDecoder.decode() returns 0 for empty input and once done", () => {
  const dec = new ChunkedDecoder();
  strictEqual(dec.decode(new Uint8Array(0)), 0);
  strictEqual(dec.decode(latin1Bytes("0\r\n\r\nX")), 5);
  ok(dec.done);
  strictEqual(dec.decode(latin1Bytes("X")), 0);
  strictEqual(dec.trailers, null);
  dec.reset();
  ok(!dec.done);
  strictEqual(dec.decode(latin1Bytes("1\r\n")), 3);
});

Deno.test("ChunkedDecoder.decode() keeps a size line split in pieces and counts it as consumed", () => {
  const dec = new ChunkedDecoder();
  strictEqual(dec.decode(latin1Bytes("1")), 1);
  strictEqual(dec.decode(latin1Bytes("0;ex")), 4);
  strictEqual(dec.decode(latin1Bytes("t=1\r")), 4);
  strictEqual(dec.dataLength, 0);
  const data = latin1Bytes("\n0123456789abcdef");
  strictEqual(dec.decode(data), 17);
  deepStrictEqual([dec.dataStart, dec.dataLength], [1, 16]);
});

Deno.test("ChunkedDecoder.decode() trailers stay valid after the input buffer is reused", () => {
  const input = latin1Bytes("0\r\nX-Sum: abc\r\n\r\n");
  const dec = new ChunkedDecoder();
  dec.decode(input);
  input.fill(0);
  strictEqual(dec.trailers?.get("x-sum"), "abc");
});

Deno.test("ChunkedDecoder() rejects limits that are not positive integers", () => {
  throws(() => new ChunkedDecoder({ maxChunkLineLength: 0 }), RangeError);
  throws(() => new ChunkedDecoder({ maxTrailerSize: NaN }), RangeError);
  throws(() => new ChunkedDecoder({ maxTrailerCount: 2.5 }), RangeError);
});

Deno.test("ChunkedDecoder case table covers valid and malformed bodies", () => {
  ok(VALID.length >= 20 && INVALID.length >= 30);
});

// ---- Property tests ----

const extension = fc.array(
  fc.tuple(
    fc.constantFrom("", " ", "\t"),
    fc.string({ unit: fc.constantFrom(..."abcXYZ019-_!"), minLength: 1, maxLength: 6 }),
    fc.option(
      fc.oneof(
        fc.string({ unit: fc.constantFrom(..."abc019-"), minLength: 1, maxLength: 6 }),
        fc.string({ unit: fc.constantFrom(...'a b;=,\\"\t'), maxLength: 6 }).map((s) =>
          '"' + s.replace(/[\\"]/g, (m) => "\\" + m) + '"'
        ),
      ),
    ),
  ).map(([ws, name, value]) => `${ws};${ws}${name}${value === null ? "" : `${ws}=${ws}${value}`}`),
  { maxLength: 3 },
).map((parts) => parts.join(""));

const chunkedBody = fc.record({
  body: fc.uint8Array({ maxLength: 3000 }),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  exts: fc.array(extension, { maxLength: 12 }),
  upper: fc.boolean(),
  zeros: fc.nat({ max: 3 }),
  trailers: fc.array(
    fc.tuple(
      fc.string({ unit: fc.constantFrom(..."abcXYZ-_"), minLength: 1, maxLength: 8 }),
      fc.string({ unit: fc.constantFrom(..."abc 019,;=\t"), maxLength: 10 }).map((v) => v.trim()),
    ),
    { maxLength: 4 },
  ),
});

Deno.test("ChunkedDecoder.decode() round-trips random chunked encodings split anywhere", () => {
  const dec = new ChunkedDecoder();
  fc.assert(
    fc.property(chunkedBody, fc.array(fc.nat(), { maxLength: 10 }), (b, points) => {
      const cuts = [...new Set(b.cuts.map((c) => c % (b.body.length + 1)))].sort((x, y) => x - y);
      let text = "";
      let last = 0;
      let i = 0;
      for (const c of [...cuts, b.body.length]) {
        if (c === last) continue;
        let size = (c - last).toString(16);
        if (b.upper) size = size.toUpperCase();
        text += "0".repeat(b.zeros) + size + (b.exts[i++ % Math.max(1, b.exts.length)] ?? "") +
          "\r\n";
        for (let j = last; j < c; j++) text += String.fromCharCode(b.body[j]!);
        text += "\r\n";
        last = c;
      }
      text += "0\r\n";
      for (const [n, v] of b.trailers) text += `${n}: ${v}\r\n`;
      text += "\r\nNEXT";
      const bytes = latin1Bytes(text);
      const sizes: number[] = [];
      let prev = 0;
      for (
        const p of [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((x, y) => x - y)
      ) {
        if (p > prev) sizes.push(p - prev);
        prev = p;
      }
      if (bytes.length > prev) sizes.push(bytes.length - prev);
      dec.reset();
      const outcome = decodePieces(dec, bytes, sizes);
      deepStrictEqual(outcome, {
        kind: "done",
        body: String.fromCharCode(...b.body),
        consumed: bytes.length - 4,
        trailers: b.trailers.length === 0 ? null : b.trailers.map(([n, v]) => [n.toLowerCase(), v]),
      });
    }),
    { numRuns: 400, seed: 11 },
  );
});

Deno.test("ChunkedDecoder.decode() only ever throws HttpError on random or mutated input", () => {
  const dec = new ChunkedDecoder({ maxChunkLineLength: 64, maxTrailerSize: 256 });
  const valid = latin1Bytes(
    '5;a="b"\r\nhello\r\n1a\r\n' + "z".repeat(26) + "\r\n0\r\nX-T: 1\r\n\r\n",
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 })), {
          minLength: 1,
          maxLength: 3,
        })
          .map((muts) => {
            const copy = valid.slice();
            for (const [at, byte] of muts) copy[at] = byte;
            return copy;
          }),
      ),
      fc.array(fc.nat(), { maxLength: 6 }),
      (bytes, points) => {
        dec.reset();
        const whole = decodePieces(dec, bytes, [bytes.length]);
        dec.reset();
        const sizes: number[] = [];
        let prev = 0;
        for (
          const p of [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((x, y) => x - y)
        ) {
          if (p > prev) sizes.push(p - prev);
          prev = p;
        }
        if (bytes.length > prev) sizes.push(bytes.length - prev);
        const split = decodePieces(dec, bytes, sizes);
        // A split can only differ in how much body was seen before input ran out.
        if (whole.kind !== "incomplete") deepStrictEqual(split, whole);
      },
    ),
    { numRuns: 1500, seed: 5 },
  );
});
