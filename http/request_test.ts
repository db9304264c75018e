import {
  deepStrictEqual as deepEqual,
  ok as assert,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { HttpError, HttpErrorCode } from "@coroio/core/http1";
import type { RequestBody } from "./request.ts";
import { dec, exchangeInMemory } from "./_test_util.ts";

const post = (headers: string) => `POST /p?x=1 HTTP/1.1\r\nHost: h\r\n${headers}\r\n`;
const CL = (n: number) => post(`Content-Length: ${n}\r\n`);
const CHUNKED = post("Transfer-Encoding: chunked\r\n");

/** The body of a request with `head`, arriving in `pieces`. */
function body(head: string, pieces: string[], limit?: number): RequestBody {
  return exchangeInMemory(head, pieces, limit).req.body;
}

/** Reads with read() until the end; returns the pieces as strings. */
async function readAll(b: RequestBody): Promise<string[]> {
  const out: string[] = [];
  for (let c; (c = await b.read()) !== null;) out.push(dec(c));
  return out;
}

// [name, head, pieces on the wire, body text]
const bodies: [string, string, string[], string][] = [
  ["no body", post(""), [], ""],
  ["Content-Length in one piece", CL(5), ["hello"], "hello"],
  ["Content-Length split", CL(11), ["hel", "lo w", "orld"], "hello world"],
  ["Content-Length with the next request behind it", CL(2), ["hiGET / HTTP/1.1\r\n"], "hi"],
  ["chunked in one piece", CHUNKED, ["5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"], "hello world"],
  [
    "chunked split inside sizes and data",
    CHUNKED,
    ["5\r", "\nhel", "lo\r\n0", "\r\n\r\n"],
    "hello",
  ],
  ["chunked with extensions", CHUNKED, ["3;a=b\r\nabc\r\n0;c\r\n\r\n"], "abc"],
  ["empty chunked", CHUNKED, ["0\r\n\r\n"], ""],
  ["UTF-8", CL(4), ["\u20ac!"], "\u20ac!"],
];

Deno.test("RequestBody.text() reads Content-Length and chunked bodies however they arrive", async () => {
  for (const [name, head, pieces, want] of bodies) {
    const b = body(head, pieces);
    equal(await b.text(), want, name);
    equal(b.done, true, name);
    equal(b.received, new TextEncoder().encode(want).length, name);
  }
});

Deno.test("RequestBody.read() returns pieces, then null at the end", async () => {
  for (const [name, head, pieces, want] of bodies) {
    const b = body(head, pieces);
    equal((await readAll(b)).join(""), want, name);
    equal(await b.read(), null, name);
  }
});

Deno.test("RequestBody.bytes() returns an array that owns its buffer", async () => {
  for (const size of [1, 100, 1024, 4096, 5000]) {
    const text = "x".repeat(size);
    const a = await body(CL(size), [text]).bytes();
    const b = await body(CL(size), [text]).bytes();
    equal(a.byteOffset, 0);
    equal(a.buffer.byteLength, size);
    assert(a.buffer !== b.buffer);
  }
  const chunked = await body(CHUNKED, ["2\r\nab\r\n", "1\r\nc\r\n0\r\n\r\n"]).bytes();
  equal(chunked.buffer.byteLength, 3);
});

Deno.test("RequestBody.json() parses JSON and refuses what is not", async () => {
  deepEqual(await body(CL(13), ['{"a":[1,true]']).json().catch((e) => e.code), "invalid-body");
  deepEqual(await body(CL(14), ['{"a":[1,true]}']).json(), { a: [1, true] });
  await rejects(
    body(CL(3), ["{x}"]).json(),
    (e: unknown) =>
      e instanceof HttpError && e.code === HttpErrorCode.InvalidBody && e.status === 400,
  );
});

Deno.test("RequestBody.stream() yields copies of the body", async () => {
  const b = body(CL(11), ["hello", " world"]);
  const chunks: Uint8Array[] = [];
  for await (const c of b.stream()) chunks.push(c);
  equal(chunks.map(dec).join(""), "hello world");
  equal(b.done, true);
});

Deno.test("RequestBody.bytes() refuses a body over the limit with 413", async () => {
  const cases: [string, RequestBody, number | undefined][] = [
    ["declared over the server limit", body(CL(10), ["0123456789"], 5), undefined],
    ["declared over the call's limit", body(CL(10), ["0123456789"]), 4],
    [
      "chunked over the server limit",
      body(CHUNKED, ["4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"], 6),
      undefined,
    ],
    ["chunked over the call's limit", body(CHUNKED, ["4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"]), 6],
  ];
  for (const [name, b, limit] of cases) {
    await rejects(
      b.bytes(limit),
      (e: unknown) =>
        e instanceof HttpError && e.code === HttpErrorCode.BodyTooLarge && e.status === 413,
      name,
    );
    assert(b.error instanceof HttpError, name);
    // A broken body stays broken.
    await rejects(b.read(), (e: unknown) => e === b.error, name);
  }
});

Deno.test("RequestBody.read() refuses a body cut short or a malformed chunk with 400", async () => {
  const cases: [string, string, string[], string][] = [
    ["Content-Length cut short", CL(10), ["abc"], HttpErrorCode.IncompleteRequest],
    ["chunked cut short", CHUNKED, ["5\r\nab"], HttpErrorCode.IncompleteRequest],
    ["bad chunk size", CHUNKED, ["zz\r\nab\r\n0\r\n\r\n"], HttpErrorCode.InvalidChunk],
    ["missing CRLF after data", CHUNKED, ["2\r\nabX\r\n0\r\n\r\n"], HttpErrorCode.InvalidChunk],
  ];
  for (const [name, head, pieces, code] of cases) {
    const b = body(head, pieces);
    await rejects(
      readAll(b),
      (e: unknown) => e instanceof HttpError && e.code === code && e.status === 400,
      name,
    );
  }
});

Deno.test("RequestBody.drain() skips what is left up to a limit", async () => {
  const cases: [string, string, string[], number, boolean][] = [
    ["whole body under the limit", CL(5), ["hello"], 10, true],
    ["declared over the limit", CL(11), ["hello world"], 10, false],
    ["chunked over the limit", CHUNKED, ["b\r\nhello world\r\n0\r\n\r\n"], 10, false],
    ["chunked under the limit", CHUNKED, ["5\r\nhello\r\n0\r\n\r\n"], 10, true],
    ["cut short", CL(5), ["he"], 10, false],
    ["no body", post(""), [], 0, true],
  ];
  for (const [name, head, pieces, max, want] of cases) {
    equal(await body(head, pieces).drain(max), want, name);
  }
});

Deno.test("RequestBody.trailers holds a chunked body's trailer fields once read", async () => {
  const b = body(CHUNKED, ["1\r\na\r\n0\r\nX-Sum: 9\r\nX-Other: y\r\n\r\n"]);
  const before = b.trailers;
  equal(await b.text(), "a");
  equal(before, null);
  const trailers = b.trailers;
  equal(trailers?.get("x-sum"), "9");
  equal(trailers?.size, 2);
  equal(body(CL(1), ["a"]).trailers, null);
});

Deno.test("RequestBody.length, started and received describe the body", async () => {
  const b = body(CL(5), ["he", "llo"]);
  equal(b.length, 5);
  equal(b.started, false);
  await b.read();
  equal(b.started, true);
  equal(b.received, 2);
  equal(body(CHUNKED, []).length, null);
  equal(body(post(""), []).length, 0);
});

Deno.test("RequestBody.read() asks the connection for 100 Continue once, before reading", async () => {
  const ex = exchangeInMemory(post("Content-Length: 2\r\nExpect: 100-continue\r\n"), ["ok"]);
  equal(ex.host.continues, 0);
  equal(await ex.req.body.text(), "ok");
  equal(ex.host.continues, 1);
});

Deno.test("HttpRequest exposes the head's method, target, path, query and headers", () => {
  const { req } = exchangeInMemory("GET /a/b?c=d&e HTTP/1.1\r\nHost: h\r\nX-Y: z\r\n\r\n");
  equal(req.method, "GET");
  equal(req.target, "/a/b?c=d&e");
  equal(req.path, "/a/b");
  equal(req.query, "c=d&e");
  equal(req.headers.get("x-y"), "z");
  deepEqual(req.params, {});
  equal(req.body.done, true);
});

Deno.test("RequestBody.borrow() returns the body however it arrives, as bytes() would", async () => {
  for (const [name, head, pieces, want] of bodies) {
    const b = body(head, pieces);
    equal(dec(await b.borrow()), want, name);
    equal(b.done, true, name);
    equal(await b.read(), null, name);
  }
});

Deno.test("RequestBody.borrow() lends a Content-Length body from the read buffer, and owns a chunked one", async () => {
  const ex = exchangeInMemory(CL(1000), ["a".repeat(300), "b".repeat(700)]);
  const view = await ex.req.body.borrow();
  equal(view.length, 1000);
  equal(view.buffer, ex.host.reader.peek().buffer);
  equal(ex.req.body.received, 1000);
  const chunked = await body(CHUNKED, ["2\r\nab\r\n0\r\n\r\n"]).borrow();
  equal(chunked.buffer.byteLength, 2);
  const big = 64 * 1024 + 1;
  const large = await body(CL(big), ["x".repeat(big)]).borrow();
  equal(large.buffer.byteLength, big);
});

Deno.test("RequestBody.borrow() refuses a body over the limit with 413 and a short one with 400", async () => {
  const over = body(CL(10), ["0123456789"], 5);
  await rejects(
    over.borrow(),
    (e: unknown) =>
      e instanceof HttpError && e.status === 413 && e.code === HttpErrorCode.BodyTooLarge,
  );
  equal(over.error instanceof HttpError, true);
  await rejects(
    body(CL(10), ["0123456789"]).borrow(4),
    (e: unknown) => e instanceof HttpError && e.status === 413,
  );
  const short = body(CL(10), ["abc"]);
  await rejects(
    short.borrow(),
    (e: unknown) =>
      e instanceof HttpError && e.status === 400 && e.code === HttpErrorCode.IncompleteRequest,
  );
  await rejects(short.read(), (e: unknown) => e === short.error);
});

Deno.test("RequestBody.borrow() asks for 100 Continue before reading", async () => {
  const ex = exchangeInMemory(post("Content-Length: 2\r\nExpect: 100-continue\r\n"), ["ok"]);
  equal(dec(await ex.req.body.borrow()), "ok");
  equal(ex.host.continues, 1);
});

Deno.test("RequestBody.borrow() of a body already buffered lends it, asking for 100 Continue only if expected", async () => {
  for (const [expect, continues] of [["", 0], ["Expect: 100-continue\r\n", 1]] as const) {
    const ex = exchangeInMemory(post(`Content-Length: 4\r\n${expect}`), ["okay", "next"]);
    // The body (and more) is in the read buffer before the handler asks.
    await ex.host.reader.fill();
    await ex.host.reader.fill();
    equal(ex.host.reader.buffered, 8);
    const b = ex.req.body;
    equal(dec(await b.borrow()), "okay");
    equal(ex.host.continues, continues);
    equal(b.done, true);
    equal(b.received, 4);
    equal(await b.read(), null);
    equal(dec(ex.host.reader.peek()), "next");
  }
  // Past the limit even when buffered: 413.
  const ex = exchangeInMemory(post("Content-Length: 4\r\n"), ["okay"]);
  await ex.host.reader.fill();
  await rejects(ex.req.body.borrow(3), (e: unknown) => e instanceof HttpError && e.status === 413);
});

Deno.test("RequestBody.tryBorrow() lends a body that is all buffered, as borrow() would", async () => {
  for (const [size, piece] of [[4, "okay"], [1000, "x".repeat(1000)], [65536, "y".repeat(65536)]]) {
    const ex = exchangeInMemory(CL(size as number), [piece as string, "next"]);
    while (ex.host.reader.buffered < (size as number) + 4) await ex.host.reader.fill();
    const b = ex.req.body;
    const view = b.tryBorrow();
    equal(view === null ? null : dec(view), piece, `${size} bytes`);
    // A view of the read buffer, not a copy; the body is read.
    equal(view!.buffer, ex.host.reader.peek().buffer);
    equal(b.done, true);
    equal(b.started, true);
    equal(b.received, size);
    equal(await b.read(), null);
    equal(dec(ex.host.reader.peek()), "next");
  }
  // No body: an empty array, at once.
  equal(body(post(""), []).tryBorrow()?.length, 0);
  equal(body(CL(0), []).tryBorrow()?.length, 0);
});

// [name (why null), head, pieces (all buffered before tryBorrow()), limit given to it, server limit]
const notNow: [string, string, string[], number | undefined, number | undefined][] = [
  ["part of the body", CL(10), ["01234"], undefined, undefined],
  ["nothing of the body", CL(10), [], undefined, undefined],
  ["chunked", CHUNKED, ["2\r\nab\r\n0\r\n\r\n"], undefined, undefined],
  ["over 64 KiB", CL(65537), ["z".repeat(65537)], undefined, undefined],
  [
    "100 Continue due",
    post("Content-Length: 2\r\nExpect: 100-continue\r\n"),
    ["ok"],
    undefined,
    undefined,
  ],
  ["over the limit given", CL(4), ["okay"], 3, undefined],
  ["over the server's limit", CL(10), ["0123456789"], 100, 5],
];

Deno.test("RequestBody.tryBorrow() returns null when it cannot lend at once, and leaves the body to borrow()", async () => {
  for (const [name, head, pieces, limit, serverLimit] of notNow) {
    const ex = exchangeInMemory(head, pieces, serverLimit);
    const total = pieces.join("").length;
    while (ex.host.reader.buffered < total && await ex.host.reader.fill() !== null);
    equal(ex.host.reader.buffered, total, name);
    const b = ex.req.body;
    // (=== null: a diff of a 64 KiB view would take long to print)
    equal(b.tryBorrow(limit) === null, true, name);
    equal(b.started, false, name);
    equal(b.received, 0, name);
    equal(ex.host.continues, 0, name);
    if (limit !== undefined) {
      // borrow() with the same limit answers as it does: 413.
      await rejects(b.borrow(limit), (e: unknown) => e instanceof HttpError && e.status === 413);
      continue;
    }
    if (name === "nothing of the body" || name === "part of the body") {
      // The rest never comes: borrow() finds the body cut short.
      await rejects(b.borrow(), (e: unknown) => e instanceof HttpError && e.status === 400);
      continue;
    }
    const want = pieces.join("").replace("2\r\nab\r\n0\r\n\r\n", "ab");
    equal(dec(await b.borrow()) === want, true, name);
    if (name === "100 Continue due") equal(ex.host.continues, 1, name);
  }
});

Deno.test("RequestBody.tryBorrow() returns null once the body was read or failed", async () => {
  const read = body(CL(4), ["okay"]);
  equal(dec((await read.read())!), "okay");
  equal(read.tryBorrow(), null);
  const lent = exchangeInMemory(CL(4), ["okay"]);
  await lent.host.reader.fill();
  equal(dec(lent.req.body.tryBorrow()!), "okay");
  equal(lent.req.body.tryBorrow(), null);
  const short = body(CL(10), ["abc"]);
  await rejects(short.text());
  equal(short.tryBorrow(), null);
});

// [name, request head, req.url]
const urls: [string, string, string][] = [
  [
    "origin form",
    "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    "http://example.com:8080/a/b?x=1",
  ],
  [
    "absolute form, as sent",
    "GET http://other.test/p?q HTTP/1.1\r\nHost: x\r\n\r\n",
    "http://other.test/p?q",
  ],
  ["asterisk form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "http://h/"],
  [
    "authority form",
    "CONNECT db.test:5432 HTTP/1.1\r\nHost: db.test:5432\r\n\r\n",
    "http://db.test:5432/",
  ],
  ["HTTP/1.0 without Host", "GET /old HTTP/1.0\r\n\r\n", "http://localhost/old"],
  ["IPv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "http://[::1]:80/"],
];

Deno.test("HttpRequest.url is built from Host and the target, once", () => {
  for (const [name, head, url] of urls) {
    const { req } = exchangeInMemory(head);
    equal(req.url, url, name);
    equal(req.url, url, name);
    equal(new URL(req.url).href.startsWith("http://"), true, name);
  }
});

Deno.test("HttpRequest.searchParams parses the query once, lazily", () => {
  const { req } = exchangeInMemory(
    "GET /s?q=a%20b&t=1&t=2&e=&plus=x+y HTTP/1.1\r\nHost: h\r\n\r\n",
  );
  const p = req.searchParams;
  deepEqual([p.get("q"), p.getAll("t"), p.get("e"), p.get("plus"), p.get("none")], [
    "a b",
    ["1", "2"],
    "",
    "x y",
    null,
  ]);
  equal(req.searchParams, p);
  equal(exchangeInMemory("GET / HTTP/1.1\r\nHost: h\r\n\r\n").req.searchParams.size, 0);
});
