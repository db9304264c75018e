import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { HttpError } from "./errors.ts";
import { RequestParser } from "./parser.ts";
import { headDecoder, keptBuffer } from "./_head_text.ts";
import type { RequestHead } from "./head.ts";
import {
  type ExpectedHead,
  FEED_MODES,
  type FeedOutcome,
  feedPieces,
  INVALID_CASES,
  latin1Bytes,
  summarize,
  VALID_CASES,
  wholeSplit,
} from "./_parser_cases.ts";

const enc = new TextEncoder();

// One long-lived parser per option set, reset between cases: catches state leaking across requests.
const shared = new Map<string, RequestParser>();
function reused(options: object | undefined): RequestParser {
  const key = JSON.stringify(options ?? {});
  let parser = shared.get(key);
  if (parser === undefined) shared.set(key, parser = new RequestParser(options));
  parser.reset();
  return parser;
}

function checkExpected(
  outcome: FeedOutcome,
  expect: ExpectedHead,
  consumed: number,
  mode: string,
): void {
  if (outcome.kind !== "head") {
    throw new Error(`${mode}: expected a head, got ${JSON.stringify(outcome)}`);
  }
  const head = outcome.head;
  strictEqual(outcome.consumed, consumed, `${mode}: consumed`);
  const version = expect.version ?? "HTTP/1.1";
  const want = {
    method: expect.method,
    target: expect.target,
    version,
    contentLength: expect.contentLength ?? -1,
    chunked: expect.chunked ?? false,
    keepAlive: expect.keepAlive ?? version === "HTTP/1.1",
    expectContinue: expect.expectContinue ?? false,
    upgrade: expect.upgrade ?? null,
  };
  const got = {
    method: head.method,
    target: head.target,
    version: head.version,
    contentLength: head.contentLength,
    chunked: head.chunked,
    keepAlive: head.keepAlive,
    expectContinue: head.expectContinue,
    upgrade: head.upgrade,
  };
  deepStrictEqual(got, want, mode);
  if (expect.headers !== undefined) {
    deepStrictEqual(head.headers, expect.headers, `${mode}: headers`);
  }
  if (expect.path !== undefined) strictEqual(head.path, expect.path, `${mode}: path`);
  if (expect.query !== undefined) strictEqual(head.query, expect.query, `${mode}: query`);
  if (expect.headLength !== undefined) {
    strictEqual(head.headLength, expect.headLength, `${mode}: headLength`);
  }
}

for (const c of VALID_CASES) {
  Deno.test(`RequestParser.feed() parses ${c.name} identically in every feeding mode`, () => {
    const bytes = latin1Bytes(c.input + (c.rest ?? ""));
    const whole = feedPieces(new RequestParser(c.options), bytes, wholeSplit(bytes.length));
    checkExpected(whole, c.expect, c.input.length, "whole");
    for (const mode of FEED_MODES) {
      const outcome = feedPieces(reused(c.options), bytes, mode.split(bytes.length), mode.window);
      deepStrictEqual(outcome, whole, mode.name);
    }
  });
}

for (const c of INVALID_CASES) {
  Deno.test(`RequestParser.feed() rejects ${c.name} with ${c.status} ${c.code}`, () => {
    const bytes = latin1Bytes(c.input);
    for (const mode of FEED_MODES) {
      const outcome = feedPieces(reused(c.options), bytes, mode.split(bytes.length), mode.window);
      deepStrictEqual(outcome, { kind: "error", status: c.status, code: c.code }, mode.name);
    }
  });
}

Deno.test("RequestParser case table has at least 60 valid and 60 malformed requests", () => {
  ok(VALID_CASES.length >= 60, `${VALID_CASES.length} valid cases`);
  ok(INVALID_CASES.length >= 60, `${INVALID_CASES.length} invalid cases`);
  const names = new Set([...VALID_CASES, ...INVALID_CASES].map((c) => c.name));
  strictEqual(names.size, VALID_CASES.length + INVALID_CASES.length, "case names are unique");
});

Deno.test("RequestParser.feed() stops exactly at the end of the first of two pipelined heads", () => {
  const first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const second = "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  const bytes = enc.encode(first + second);
  const parser = new RequestParser();
  const used = parser.feed(bytes);
  strictEqual(used, first.length);
  const one = parser.head!;
  parser.reset();
  const used2 = parser.feed(bytes.subarray(used));
  strictEqual(used2, second.length - 3);
  const two = parser.head!;
  bytes.fill(0); // the caller reuses its buffer
  strictEqual(one.target, "/one");
  strictEqual(one.headers.get("host"), "a");
  strictEqual(two.method, "POST");
  strictEqual(two.contentLength, 3);
});

Deno.test("RequestParser.feed() finds the end of a head split across spilled chunks", () => {
  const first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const bytes = enc.encode(first + "GET /two HTTP/1.1\r\n");
  const parser = new RequestParser();
  strictEqual(parser.feed(bytes.subarray(0, 10)), 10);
  strictEqual(parser.head, null);
  // The rest of the first head and part of the second arrive together.
  strictEqual(parser.feed(bytes.subarray(10)), first.length - 10);
  strictEqual(parser.head!.target, "/one");
});

Deno.test("RequestParser.feed() returns 0 once a head is complete until reset()", () => {
  const parser = new RequestParser();
  const bytes = enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET");
  strictEqual(parser.feed(bytes), bytes.length - 3);
  strictEqual(parser.feed(bytes), 0);
  strictEqual(parser.feed(new Uint8Array(0)), 0);
  parser.reset();
  strictEqual(parser.head, null);
  strictEqual(parser.feed(new Uint8Array(0)), 0);
});

Deno.test("RequestParser.reset() after an error makes the parser usable again", () => {
  const parser = new RequestParser();
  throws(() => parser.feed(enc.encode("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n")), HttpError);
  parser.reset();
  parser.feed(enc.encode("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"));
  strictEqual(parser.head!.target, "/ok");
  strictEqual(parser.head!.headers.size, 1);
});

Deno.test("RequestParser.reset() keeps a spilled partial head from leaking into the next request", () => {
  const parser = new RequestParser();
  parser.feed(enc.encode("GET /partial HTTP/1.1\r\nX-A: 1"));
  parser.reset();
  parser.feed(enc.encode("GET /b HTTP/1.1\r\nHost: a\r\n\r\n"));
  strictEqual(parser.head!.target, "/b");
  deepStrictEqual([...parser.head!.headers], [["host", "a"]]);
});

/** Feeds `bytes` one at a time; returns the index of the byte whose feed threw, and the error. */
function throwIndex(parser: RequestParser, bytes: Uint8Array): [number, HttpError] {
  for (let i = 0; i < bytes.length; i++) {
    try {
      parser.feed(bytes.subarray(i, i + 1));
    } catch (err) {
      if (err instanceof HttpError) return [i, err];
      throw err;
    }
    if (parser.head !== null) throw new Error(`head completed at ${i}`);
  }
  throw new Error("no error");
}

Deno.test("RequestParser.feed() throws 431 as soon as the head crosses maxHeadSize, byte by byte", () => {
  const input = enc.encode("GET / HTTP/1.1\r\n" + "X-Field: value\r\n".repeat(20));
  for (const max of [20, 64, 100, 101, 200]) {
    const [at, err] = throwIndex(new RequestParser({ maxHeadSize: max }), input);
    strictEqual(at, max, `maxHeadSize ${max}`);
    strictEqual(err.status, 431);
    strictEqual(err.code, "head-too-large");
  }
});

Deno.test("RequestParser.feed() throws 431 as soon as crossed when the limit falls inside a chunk", () => {
  const input = enc.encode("GET / HTTP/1.1\r\n" + "X-Field: value\r\n".repeat(20));
  const parser = new RequestParser({ maxHeadSize: 100 });
  strictEqual(parser.feed(input.subarray(0, 60)), 60);
  throws(
    () => parser.feed(input.subarray(60)),
    (err) => err instanceof HttpError && err.status === 431,
  );
  // A single large chunk is rejected too, without waiting for its end.
  const fresh = new RequestParser({ maxHeadSize: 100 });
  throws(
    () => fresh.feed(input),
    (err) => err instanceof HttpError && err.code === "head-too-large",
  );
});

Deno.test("RequestParser.feed() throws 414 as soon as the request line crosses maxRequestLineLength", () => {
  const input = enc.encode("GET /" + "a".repeat(100) + " HTTP/1.1\r\n");
  for (const max of [3, 16, 50]) {
    const [at, err] = throwIndex(new RequestParser({ maxRequestLineLength: max }), input);
    strictEqual(at, max, `maxRequestLineLength ${max}`);
    strictEqual(err.status, 414);
    strictEqual(err.code, "request-line-too-long");
  }
  // The version counts too: the line "GET / HTTP/1.1" is 14 bytes.
  const [at, err] = throwIndex(
    new RequestParser({ maxRequestLineLength: 13 }),
    enc.encode("GET / HTTP/1.1\r\n"),
  );
  strictEqual(at, 13);
  strictEqual(err.status, 414);
});

Deno.test("RequestParser.feed() throws 431 at the first byte of a field line beyond maxHeaderCount", () => {
  const input = enc.encode("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n");
  const [at, err] = throwIndex(new RequestParser({ maxHeaderCount: 2 }), input);
  strictEqual(at, "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\n".length);
  strictEqual(err.code, "too-many-headers");
});

Deno.test("RequestParser.feed() rejects a bad request line at the bad byte, not at the end of the head", () => {
  const cases: [string, number, string][] = [
    ["GE\x00T / HTTP/1.1\r\n", 2, "invalid-method"],
    ["GET /a\x00", 6, "invalid-target"],
    ["GET / HTTX", 9, "invalid-version"],
    ["GET / HTTP/1.1x", 14, "invalid-version"],
    ["GET / HTTP/1.1\r\nX : y", 17, "whitespace-before-colon"],
    ["GET / HTTP/1.1\r\nX: a\x00", 20, "invalid-header-value"],
    ["GET / HTTP/1.1\r\nContent-Length: +1\r\n", 35, "invalid-content-length"],
  ];
  for (const [input, index, code] of cases) {
    const [at, err] = throwIndex(new RequestParser(), enc.encode(input));
    strictEqual(at, index, JSON.stringify(input));
    strictEqual(err.code, code);
  }
});

Deno.test("RequestParser() rejects limits that are not positive integers", () => {
  throws(() => new RequestParser({ maxHeadSize: 0 }), RangeError);
  throws(() => new RequestParser({ maxRequestLineLength: 1.5 }), RangeError);
  throws(() => new RequestParser({ maxHeaderCount: -1 }), RangeError);
});

Deno.test("RequestParser.feed() gives heads that survive reuse of the input buffer", () => {
  const buf = new Uint8Array(256);
  const parser = new RequestParser();
  const heads = [];
  for (const path of ["/a", "/bb", "/ccc"]) {
    const n = enc.encodeInto(
      `GET ${path} HTTP/1.1\r\nHost: h\r\nX-H: h${path}\r\nX-V: v${path}\r\n\r\n`,
      buf,
    )
      .written;
    parser.reset();
    parser.feed(buf.subarray(0, n));
    heads.push(parser.head!);
    buf.fill(0x41);
  }
  deepStrictEqual(heads.map((h) => [h.target, h.headers.get("x-h"), h.headers.get("x-v")]), [
    ["/a", "h/a", "v/a"],
    ["/bb", "h/bb", "v/bb"],
    ["/ccc", "h/ccc", "v/ccc"],
  ]);
});

// ---- Property tests ----

const tcharChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...tcharChars), minLength: 1, maxLength: 12 });
const special = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
  "upgrade",
]);
const fieldName = token.filter((n) => !special.has(n.toLowerCase()));
const valueChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 3, arbitrary: fc.constantFrom(0x20, 0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
).map((c) => String.fromCharCode(c));
const fieldValue = fc.string({ unit: valueChar, maxLength: 40 }).map((v) =>
  v.replace(/^[ \t]+|[ \t]+$/g, "")
);
const pathChar = fc.constantFrom(..."abcxyz0123456789-._~!$&'()*+,;=:@%/".split(""));
const target = fc.tuple(
  fc.string({ unit: pathChar, maxLength: 30 }),
  fc.option(fc.string({ unit: fc.constantFrom(..."abc=&?/%:@".split("")), maxLength: 20 })),
).map(([p, q]) => "/" + p + (q === null ? "" : "?" + q));
const method = fc.oneof(
  fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"),
  token,
);
const framing = fc.oneof(
  fc.constant<[string, string][]>([]),
  fc.nat({ max: 100000 }).map((n): [string, string][] => [["Content-Length", String(n)]]),
  fc.constant<[string, string][]>([["Transfer-Encoding", "chunked"]]),
);

const request = fc.record({
  method,
  target,
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.0"),
  host: fc.string({ unit: fc.constantFrom(..."abc.0123456789-:".split("")), maxLength: 20 }),
  fields: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 20 }),
  framing,
  ows: fc.constantFrom("", " ", "\t", "  "),
  body: fc.string({ maxLength: 30 }),
});

type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function serialize(r: Req): { head: string; fields: [string, string][] } {
  const fields: [string, string][] = [["Host", r.host], ...r.fields];
  const framingFields = r.version === "HTTP/1.0"
    ? r.framing.filter(([n]) => n !== "Transfer-Encoding")
    : r.framing;
  fields.push(...framingFields);
  let head = `${r.method} ${r.target} ${r.version}\r\n`;
  for (const [n, v] of fields) head += `${n}:${r.ows}${v}${r.ows}\r\n`;
  return { head: head + "\r\n", fields };
}

/** Chunk sizes from split points (any positions, duplicates allowed). */
function sizesFromPoints(n: number, points: number[]): number[] {
  const cuts = [...new Set(points.map((p) => p % (n + 1)))].sort((a, b) => a - b);
  const sizes: number[] = [];
  let last = 0;
  for (const c of [...cuts, n]) {
    if (c > last) sizes.push(c - last);
    last = c;
  }
  return sizes;
}

Deno.test("RequestParser.feed() parses random valid requests split anywhere as it parses them whole", () => {
  const parser = new RequestParser();
  fc.assert(
    fc.property(request, fc.array(fc.nat(), { maxLength: 12 }), (r, points) => {
      const { head, fields } = serialize(r);
      const bytes = latin1Bytes(head + r.body);
      const whole = feedPieces(new RequestParser(), bytes, [bytes.length]);
      if (whole.kind !== "head") throw new Error(`not parsed: ${JSON.stringify(whole)}`);
      strictEqual(whole.consumed, head.length);
      strictEqual(whole.head.method, r.method);
      strictEqual(whole.head.target, r.target);
      deepStrictEqual(whole.head.headers, fields.map(([n, v]) => [n.toLowerCase(), v]));
      parser.reset();
      deepStrictEqual(feedPieces(parser, bytes, sizesFromPoints(bytes.length, points)), whole);
    }),
    { numRuns: 400, seed: 42 },
  );
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("set"), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  fc.record({
    kind: fc.constant("insert"),
    at: fc.nat(),
    byte: fc.constantFrom(0, 9, 10, 13, 32, 44, 58, 127, 255),
  }),
  fc.record({ kind: fc.constant("delete"), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(
  bytes: Uint8Array,
  mutations: { kind: string; at: number; byte: number }[],
): Uint8Array {
  const arr = [...bytes];
  for (const m of mutations) {
    const at = m.at % (arr.length + 1);
    if (m.kind === "set" && at < arr.length) arr[at] = m.byte;
    else if (m.kind === "insert") arr.splice(at, 0, m.byte);
    else if (m.kind === "delete") arr.splice(at, 1);
  }
  return new Uint8Array(arr);
}

Deno.test("RequestParser.feed() only ever throws HttpError on mutated requests, the same way for any split", () => {
  const parser = new RequestParser({
    maxHeadSize: 2048,
    maxHeaderCount: 16,
    maxRequestLineLength: 256,
  });
  const options = { maxHeadSize: 2048, maxHeaderCount: 16, maxRequestLineLength: 256 };
  fc.assert(
    fc.property(
      request,
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (r, mutations, points) => {
        const bytes = mutate(latin1Bytes(serialize(r).head + r.body), mutations);
        // feedPieces rethrows anything that is not an HttpError, failing the property.
        const whole = feedPieces(new RequestParser(options), bytes, [bytes.length]);
        parser.reset();
        deepStrictEqual(feedPieces(parser, bytes, sizesFromPoints(bytes.length, points)), whole);
        parser.reset();
        deepStrictEqual(
          feedPieces(parser, bytes, Array.from({ length: bytes.length }, () => 1)),
          whole,
        );
      },
    ),
    { numRuns: 1500, seed: 7 },
  );
});

Deno.test("RequestParser.feed() gives random bytes the same outcome whole, at random splits and byte by byte", () => {
  const options = { maxHeadSize: 512 };
  const parser = new RequestParser(options);
  // Mostly head-like bytes, so that some inputs get deep into the grammar.
  const alphabet = fc.constantFrom(
    ...'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\t ,;:="',
  ).map((ch) => ch.charCodeAt(0));
  const prefix = latin1Bytes("GET / HTTP/1.1\r\nHost: x\r\n");
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    // Past the request line, into field lines and framing.
    fc.array(fc.oneof(alphabet, fc.nat({ max: 255 })), { maxLength: 400 }).map((a) => {
      const out = new Uint8Array(prefix.length + a.length);
      out.set(prefix);
      out.set(a, prefix.length);
      return out;
    }),
    fc.array(fc.oneof(alphabet, fc.nat({ max: 255 })), { maxLength: 600 }).map((a) =>
      new Uint8Array(a)
    ),
  );
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 6 }), (bytes, points) => {
      // feedPieces rethrows anything that is not an HttpError, failing the property.
      const whole = feedPieces(new RequestParser(options), bytes, [bytes.length]);
      if (whole.kind === "head") ok(whole.consumed <= bytes.length);
      parser.reset();
      deepStrictEqual(feedPieces(parser, bytes, sizesFromPoints(bytes.length, points)), whole);
      parser.reset();
      deepStrictEqual(
        feedPieces(parser, bytes, Array.from({ length: bytes.length }, () => 1)),
        whole,
      );
    }),
    { numRuns: 1000, seed: 3 },
  );
});

Deno.test("summarize() reads every field a head exposes", () => {
  const parser = new RequestParser();
  parser.feed(enc.encode("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n"));
  deepStrictEqual(summarize(parser.head!), {
    method: "GET",
    target: "/a?b",
    version: "HTTP/1.1",
    headers: [["host", "x"]],
    contentLength: -1,
    chunked: false,
    keepAlive: true,
    expectContinue: false,
    upgrade: null,
    headLength: 30,
    path: "/a",
    query: "b",
  });
});

// ---- Pipelined heads cut from one decoded text ----

/**
 * Feeds a stream of requests the way the HTTP server's BufReader does: one
 * reused buffer, each read of `sizes[i]` bytes placed after what is
 * buffered (back at 0 once all was consumed, compacted when it does not
 * fit), a head fed from the first unconsumed byte, its body (Content-Length)
 * consumed after it. Returns a summary of every head, in order.
 */
function feedStream(parser: RequestParser, bytes: Uint8Array, sizes: number[], cap = 4096) {
  const buf = new Uint8Array(cap);
  let start = 0;
  let end = 0;
  let read = 0;
  let body = 0;
  const heads: ReturnType<typeof summarize>[] = [];
  const reads = [...sizes];
  while (reads.length > 0) {
    if (end + reads[0]! > cap) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    // What fits; a read larger than the free space is taken in two.
    const size = Math.min(reads[0]!, cap - end);
    if (size === 0) throw new Error("feedStream(): a head larger than the buffer");
    if (size < reads[0]!) reads[0]! -= size;
    else reads.shift();
    // Stale bytes behind the data: a head must never come from them.
    buf.fill(0x47, end);
    buf.set(bytes.subarray(read, read + size), end);
    read += size;
    end += size;
    for (;;) {
      if (body > 0) {
        const n = Math.min(body, end - start);
        body -= n;
        start += n;
      }
      if (start === end || body > 0) break;
      start += parser.feed(buf.subarray(start, end));
      const head = parser.head;
      if (head === null) break;
      heads.push(summarize(head));
      body = head.contentLength > 0 ? head.contentLength : 0;
      parser.reset();
    }
    if (start === end) start = end = 0;
  }
  return heads;
}

/** Each head parsed alone by a fresh parser (nothing decoded before). */
function headsAlone(requests: string[]): ReturnType<typeof summarize>[] {
  return requests.map((r) => {
    const p = new RequestParser();
    p.feed(latin1Bytes(r));
    return summarize(p.head!);
  });
}

const PIPELINED = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: b\r\n\r\n",
  "GET /ab HTTP/1.1\r\nHost: a\r\n\r\n",
  // Non-ASCII in the stream: valid UTF-8 (two bytes, one code unit), lone
  // high bytes (one U+FFFD each) and a three-byte sequence.
  "GET /u HTTP/1.1\r\nHost: a\r\nX-T: caf\xc3\xa9\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /v HTTP/1.1\r\nHost: a\r\nX-T: \x80\xff\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: c\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n" + "\xe2\x82\xac!!",
  "GET / HTTP/1.1\r\nHost: d\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
  "GET / HTTP/1.1\r\nHost: e\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: f\r\n\r\n",
];
/** Heads longer than the text kept: decoded alone. */
const LONG = "GET / HTTP/1.1\r\nHost: f\r\nX-Long: " + "x".repeat(1100) + "\r\n\r\n";

Deno.test("RequestParser.feed() gives pipelined heads of different contents as alone, however they are read", () => {
  const stream = [...PIPELINED, LONG, ...PIPELINED, LONG, LONG, ...PIPELINED];
  const bytes = latin1Bytes(stream.join(""));
  const want = headsAlone(
    stream.map((r) => r.replace(/\r\n\r\n[^]*$/, "\r\n\r\n").replace(/^\r\n/, "")),
  );
  ok(latin1Bytes(PIPELINED.join("")).length < 1024, "all of PIPELINED fits in one decode");
  for (const mode of FEED_MODES) {
    for (const cap of [4096, 2048]) {
      // One parser for every pass: text kept from a pass must not leak into the next.
      const parser = reused({ feedStream: cap });
      for (let pass = 0; pass < 2; pass++) {
        deepStrictEqual(
          feedStream(parser, bytes, mode.split(bytes.length), cap),
          want,
          `${mode.name} cap ${cap}`,
        );
      }
    }
  }
});

Deno.test("RequestParser.feed() reads a head from its bytes when they changed at the same place", () => {
  // The same buffer, the same offset, the same length, after the same head:
  // only the bytes tell the heads apart, at any offset.
  const first = "GET /abcdefgh HTTP/1.1\r\nHost: example.com\r\nX-A: 0123456789\r\n\r\n";
  const buf = new Uint8Array(256);
  for (const at of [0, 1, 3]) {
    const parser = new RequestParser();
    for (let i = 0; i < first.length; i++) {
      const c = first.charCodeAt(i);
      // A change that keeps the head valid: letters and digits only.
      // In the target and the values only.
      const inName = /^(GET|HTTP\/1\.1|Host:|X-A:)$/.test(
        first.slice(0, i + 1).split(/[ \r\n]/).pop()! + first.slice(i + 1).split(/[ \r\n]/)[0],
      );
      const isLetter = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
      if (!isLetter || inName) continue;
      const changed = first.slice(0, i) + (c === 0x61 ? "b" : "a") + first.slice(i + 1);
      for (const text of [first, changed, changed, first]) {
        buf.set(latin1Bytes(text), at);
        parser.reset();
        strictEqual(parser.feed(buf.subarray(at, at + text.length)), text.length);
        deepStrictEqual(summarize(parser.head!), headsAlone([text])[0], `at ${at}, byte ${i}`);
      }
    }
  }
});

Deno.test("RequestParser.feed() gives random pipelined requests as alone, for random reads into one buffer", () => {
  const parser = new RequestParser();
  fc.assert(
    fc.property(
      fc.array(request, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (rs, points) => {
        const texts = rs.map((r) => {
          const { head } = serialize(r);
          // Only a Content-Length body is skipped by feedStream.
          const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
          const chunked = /\r\ntransfer-encoding:/i.test(head);
          return { head, body: chunked ? null : r.body.slice(0, m === null ? 0 : Number(m[1])) };
        }).filter((t) => t.body !== null && latin1Bytes(t.head).length > 0);
        const ok = texts.filter((t) =>
          !/\r\ncontent-length:[ \t]*(\d+)/i.test(t.head) ||
          Number(/\r\ncontent-length:[ \t]*(\d+)/i.exec(t.head)![1]) === t.body!.length
        );
        const bytes = latin1Bytes(ok.map((t) => t.head + t.body).join(""));
        const want = headsAlone(ok.map((t) => t.head));
        parser.reset();
        deepStrictEqual(feedStream(parser, bytes, sizesFromPoints(bytes.length, points)), want);
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});

Deno.test("RequestParser.feed() decodes pipelined heads of one chunk once, and a changed one again", () => {
  const heads = ["GET /a HTTP/1.1\r\nHost: h\r\n\r\n", "GET /bb HTTP/1.1\r\nHost: h\r\n\r\n"];
  const stream = Array.from({ length: 16 }, (_, i) => heads[i % 2]!).join("");
  const decode = headDecoder.decode;
  let decodes = 0;
  headDecoder.decode = (buf, start, end) => {
    decodes++;
    return decode(buf, start, end);
  };
  try {
    const rows: [string, (buf: Uint8Array) => void, number][] = [
      ["as read", () => {}, 1],
      // The fifth head changes in its buffer after the first was decoded.
      ["changed", (buf) => buf[heads[0]!.length * 2 + heads[1]!.length * 2 + 5] = 0x63, 2],
    ];
    // Fed as views of the rest, and as ranges of the read buffer (as the
    // server feeds it), with and without an empty line before the first.
    for (const ranges of [false, true]) {
      for (const lead of ["", "\r\n"]) {
        for (const [what, change, want] of rows) {
          const buf = latin1Bytes(lead + stream);
          const parser = new RequestParser();
          decodes = 0;
          const targets = [];
          for (let at = 0; at < buf.length;) {
            parser.reset();
            at += ranges ? parser.feed(buf, at, buf.length) : parser.feed(buf.subarray(at));
            targets.push(parser.head!.target);
            if (targets.length === 1) change(buf.subarray(lead.length));
          }
          const how = `${what}, ${ranges ? "ranges" : "views"}, lead ${JSON.stringify(lead)}`;
          strictEqual(decodes, want, how);
          deepStrictEqual(
            targets,
            Array.from(
              { length: 16 },
              (_, i) => (i === 4 && what === "changed" ? "/c" : ["/a", "/bb"][i % 2]),
            ),
            how,
          );
        }
      }
    }
  } finally {
    headDecoder.decode = decode;
  }
});

Deno.test("RequestParser.feed() decodes a head with a body without the bytes behind it", () => {
  const post = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const get = "GET /g HTTP/1.1\r\nHost: h\r\n\r\n";
  const chunked = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const rows: [string, string, number][] = [
    ["Content-Length", post + "hello" + get, post.length],
    ["chunked", chunked + "0\r\n\r\n" + get, chunked.length],
    ["no body", get + get, 2 * get.length],
  ];
  const decode = headDecoder.decode;
  const lengths: number[] = [];
  headDecoder.decode = (buf, start, end) => {
    lengths.push(end - start);
    return decode(buf, start, end);
  };
  try {
    for (const [what, stream, want] of rows) {
      lengths.length = 0;
      const parser = new RequestParser();
      parser.feed(latin1Bytes(stream));
      deepStrictEqual(lengths, [want], what);
    }
  } finally {
    headDecoder.decode = decode;
  }
});

Deno.test("RequestParser.feed() of two parsers taking turns gives each its own pipelined heads", () => {
  // The kept text is one for the isolate: a parser whose text another took
  // over decodes its next head itself.
  const a = latin1Bytes(PIPELINED.slice(0, 6).join(""));
  const b = latin1Bytes(
    ["GET /b1 HTTP/1.1\r\nHost: b\r\n\r\n", "GET /b2 HTTP/1.1\r\nHost: b\r\nX: y\r\n\r\n"].join("")
      .repeat(3),
  );
  const parsers = [new RequestParser(), new RequestParser()];
  const got: string[][] = [[], []];
  const at = [0, 0];
  const bufs = [a, b];
  const bodies = (head: RequestHead) => head.contentLength > 0 ? head.contentLength : 0;
  for (let turn = 0; at[0]! < a.length || at[1]! < b.length; turn++) {
    const k = turn % 2;
    if (at[k]! >= bufs[k]!.length) continue;
    const p = parsers[k]!;
    p.reset();
    at[k]! += p.feed(bufs[k]!.subarray(at[k]!));
    got[k]!.push(`${p.head!.target} ${p.head!.headers.get("host")}`);
    at[k]! += bodies(p.head!);
  }
  const alone = (bytes: Uint8Array) => {
    const out: string[] = [];
    for (let i = 0; i < bytes.length;) {
      const p = new RequestParser();
      i += p.feed(bytes.slice(i));
      out.push(`${p.head!.target} ${p.head!.headers.get("host")}`);
      i += bodies(p.head!);
    }
    return out;
  };
  deepStrictEqual(got, [alone(a), alone(b)]);
});

Deno.test("RequestParser.feed() keeps no read buffer once the pipelined heads decoded with it are all cut", () => {
  const get = "GET /g HTTP/1.1\r\nHost: h\r\n\r\n";
  const parser = new RequestParser();
  const feedAll = (buf: Uint8Array, heads: number) => {
    for (let at = 0, n = 0; n < heads; n++) {
      parser.reset();
      at += parser.feed(buf.subarray(at));
      strictEqual(parser.head!.target, "/g");
    }
  };
  const both = latin1Bytes(get + get);
  feedAll(both, 2);
  strictEqual(keptBuffer(), null, "two heads, both cut");
  // A partial head behind the last complete one keeps the text (and the
  // buffer, which the reader holds too, for those bytes) ...
  const partial = latin1Bytes(get + get + "GET /g HT");
  feedAll(partial, 2);
  strictEqual(keptBuffer(), partial.buffer, "a partial head behind");
  // ... until the next head is read from elsewhere (the reader compacted).
  feedAll(latin1Bytes(get), 1);
  strictEqual(keptBuffer(), null, "a head alone, read from another buffer");
});
