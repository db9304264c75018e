import { strictEqual as equal, throws } from "node:assert/strict";
import { exchangeInMemory, parseWritten, type WrittenResponse } from "./_test_util.ts";
import type { HttpResponse } from "./response.ts";

const GET = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
const HEAD = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";
const GET10 = "GET / HTTP/1.0\r\n\r\n";

/** Runs `respond` on a fresh response to `head`; returns what it wrote. */
async function respond(
  head: string,
  respond: (res: HttpResponse) => void | Promise<void>,
  closeAfter = false,
): Promise<WrittenResponse & { res: HttpResponse }> {
  const { res, host } = exchangeInMemory(head);
  host.closeAfter = closeAfter;
  await respond(res);
  return { ...parseWritten(await host.written()), res };
}

// [name, request head, how to respond, status, body, Content-Length, Transfer-Encoding]
const cases: [
  string,
  string,
  (res: HttpResponse) => void | Promise<void>,
  number,
  string,
  string | null,
  string | null,
][] = [
  ["send(string)", GET, (r) => r.send("hi \u20ac"), 200, "hi \u20ac", "6", null],
  ["send(bytes)", GET, (r) => r.send(new Uint8Array([0x61, 0x62])), 200, "ab", "2", null],
  ["send()", GET, (r) => r.send(), 200, "", "0", null],
  ["send(null)", GET, (r) => r.send(null), 200, "", "0", null],
  [
    "send() of a long string",
    GET,
    (r) => r.send("y".repeat(20000)),
    200,
    "y".repeat(20000),
    "20000",
    null,
  ],
  ["send() on HEAD", HEAD, (r) => r.send("hidden"), 200, "", "6", null],
  [
    "204",
    GET,
    (r) => {
      r.status = 204;
      r.send("ignored");
    },
    204,
    "",
    null,
    null,
  ],
  [
    "304",
    GET,
    (r) => {
      r.status = 304;
      r.send("ignored");
    },
    304,
    "",
    null,
    null,
  ],
  [
    "write()/end() chunked",
    GET,
    async (r) => {
      await r.write("ab");
      await r.write(new Uint8Array([0x63]));
      await r.end("d");
    },
    200,
    "2\r\nab\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n",
    null,
    "chunked",
  ],
  [
    "write()/end() with a declared length",
    GET,
    async (r) => {
      r.setHeader("Content-Length", "3");
      await r.write("ab");
      await r.end("c");
    },
    200,
    "abc",
    "3",
    null,
  ],
  [
    "write()/end() on HEAD",
    HEAD,
    async (r) => {
      await r.write("ab");
      await r.end();
    },
    200,
    "",
    null,
    "chunked",
  ],
  [
    "write() with an empty piece",
    GET,
    async (r) => {
      await r.write("");
      await r.end();
    },
    200,
    "0\r\n\r\n",
    null,
    "chunked",
  ],
  ["end() alone is send()", GET, (r) => r.end("x"), 200, "x", "1", null],
  [
    "write() on HTTP/1.0 (no chunked: close delimits)",
    GET10,
    async (r) => {
      await r.write("ab");
      await r.end();
    },
    200,
    "ab",
    null,
    null,
  ],
];

Deno.test("HttpResponse.send(), write() and end() frame the body for GET, HEAD, 204 and 304", async () => {
  for (const [name, head, fn, status, body, length, te] of cases) {
    const got = await respond(head, fn);
    equal(got.status, status, name);
    equal(got.body, body, name);
    equal(got.headers.get("content-length") ?? null, length, name);
    equal(got.headers.get("transfer-encoding") ?? null, te, name);
    equal(got.res.finished, true, name);
    equal(got.res.headersSent, true, name);
  }
});

Deno.test("HttpResponse.send() sets a text Content-Type for strings unless one is set", async () => {
  equal(
    (await respond(GET, (r) => r.send("x"))).headers.get("content-type"),
    "text/plain; charset=utf-8",
  );
  const json = await respond(
    GET,
    (r) => r.setHeader("content-type", "application/json").send("{}"),
  );
  equal(json.headers.get("content-type"), "application/json");
  equal(
    (await respond(GET, (r) => r.send(new Uint8Array(1)))).headers.get("content-type"),
    undefined,
  );
  // Any spelling of the name, after other fields; json() too.
  for (const name of ["Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"]) {
    for (const send of [(r: HttpResponse) => r.send("x"), (r: HttpResponse) => r.json(1)]) {
      const got = await respond(GET, (r) => {
        r.setHeader("X-A", "1").setHeader(name, "text/x-mine");
        send(r);
      });
      // Repeated fields would be joined: one Content-Type, the one set.
      equal(got.headers.get("content-type"), "text/x-mine", name);
    }
  }
});

Deno.test("HttpResponse.bytesSent counts body bytes only", async () => {
  equal((await respond(GET, (r) => r.send("h\u00e9"))).res.bytesSent, 3);
  equal((await respond(HEAD, (r) => r.send("hello"))).res.bytesSent, 0);
});

Deno.test("HttpResponse Connection header: close from the host, a user's close, HTTP/1.0 keep-alive", async () => {
  const hostClose = await respond(GET, (r) => r.send("x"), true);
  equal(hostClose.headers.get("connection"), "close");
  equal(hostClose.res.closesConnection, true);
  const userClose = await respond(GET, (r) => r.setHeader("Connection", "close").send("x"));
  equal(userClose.headers.get("connection"), "close");
  equal(userClose.res.closesConnection, true);
  const http10 = await respond(GET10, (r) => r.send("x"));
  equal(http10.headers.get("connection"), "keep-alive");
  equal(http10.res.closesConnection, false);
  const plain = await respond(GET, (r) => r.send("x"));
  equal(plain.headers.get("connection"), undefined);
  equal(plain.res.closesConnection, false);
});

Deno.test("HttpResponse.end() closes the connection when a declared length was not met", async () => {
  const got = await respond(GET, async (r) => {
    r.setHeader("Content-Length", "5");
    await r.write("ab");
    await r.end();
  });
  equal(got.res.closesConnection, true);
});

Deno.test("HttpResponse.write() refuses bytes past a declared length", async () => {
  const { res } = exchangeInMemory(GET);
  res.setHeader("Content-Length", "2");
  await res.write("ab");
  let err: unknown = null;
  await res.write("c").catch((e) => err = e);
  equal(err instanceof RangeError, true);
});

Deno.test("HttpResponse.setHeader(), getHeader() and removeHeader() compare names ignoring letter case only", () => {
  const { res } = exchangeInMemory(GET);
  res.setHeader("X-Tag", "a");
  equal(res.getHeader("x-tag"), "a");
  equal(res.getHeader("X-TAG"), "a");
  res.setHeader("x-TAG", "b");
  equal(res.getHeader("X-Tag"), "b");
  // Only A-Z/a-z fold: '^' (0x5E) and '~' (0x7E) differ by 0x20 but are not letters.
  res.setHeader("X-a^b", "caret");
  equal(res.getHeader("X-a~b"), null);
  equal(res.getHeader("x-A^B"), "caret");
  res.appendHeader("Set-Cookie", "a=1").appendHeader("set-cookie", "b=2");
  equal(res.getHeader("SET-COOKIE"), "a=1");
  res.removeHeader("set-cookie");
  equal(res.getHeader("Set-Cookie"), null);
  res.removeHeader("X-a~b");
  equal(res.getHeader("X-a^b"), "caret");
});

Deno.test("HttpResponse.setHeader() refuses invalid names and values with TypeError", () => {
  const { res } = exchangeInMemory(GET);
  const bad: [string, string][] = [
    ["", "x"],
    ["Bad Name", "x"],
    ["X:Y", "x"],
    ["X-\u00e9", "x"],
    ["X", "a\r\nInjected: 1"],
    ["X", "a\nb"],
    ["X", "a\u0000b"],
    ["X", "\u20ac"],
  ];
  // Twice, with valid fields between: a field found valid before (the check
  // is skipped for the last valid one) lets no invalid one through.
  for (const round of [1, 2]) {
    for (const [name, value] of bad) {
      throws(() => res.setHeader(name, value), TypeError, JSON.stringify([name, value, round]));
      res.setHeader("X", "x");
      throws(() => res.setHeader(name, value), TypeError, JSON.stringify([name, value, round]));
    }
  }
  res.setHeader("X", "caf\u00e9\tok");
  equal(res.getHeader("x"), "caf\u00e9\tok");
});

Deno.test("HttpResponse refuses headers and bodies once the response is sent", async () => {
  const { res } = exchangeInMemory(GET);
  res.send("x");
  throws(() => res.setHeader("X", "y"), TypeError);
  throws(() => res.send("again"), TypeError);
  let err: unknown = null;
  await res.write("more").catch((e) => err = e);
  equal(err instanceof TypeError, true);
  err = null;
  await res.end("more").catch((e) => err = e);
  equal(err instanceof TypeError, true);
});

Deno.test("HttpResponse.send() refuses a status outside 200-599 with RangeError", () => {
  for (const status of [100, 199, 600, 200.5, NaN]) {
    const { res } = exchangeInMemory(GET);
    res.status = status;
    throws(() => res.send("x"), RangeError, String(status));
  }
});

const JSON_TYPE = "application/json; charset=utf-8";
// [name, request head, how to respond, status, body, Content-Type, Content-Length]
const jsonCases: [string, string, (r: HttpResponse) => void, number, string, string, string][] = [
  ["an object", GET, (r) => r.json({ a: [1, "x"] }), 200, '{"a":[1,"x"]}', JSON_TYPE, "13"],
  ["with a status", GET, (r) => r.json({ ok: false }, 422), 422, '{"ok":false}', JSON_TYPE, "12"],
  ["null", GET, (r) => r.json(null), 200, "null", JSON_TYPE, "4"],
  ["a string, UTF-8", GET, (r) => r.json("\u00e9"), 200, '"\u00e9"', JSON_TYPE, "4"],
  [
    "a Content-Type set before",
    GET,
    (r) => r.setHeader("Content-Type", "application/problem+json").json({ e: 1 }, 400),
    400,
    '{"e":1}',
    "application/problem+json",
    "7",
  ],
  ["on HEAD: the GET length, no body", HEAD, (r) => r.json([1, 2]), 200, "", JSON_TYPE, "5"],
];
Deno.test("HttpResponse.json() sends the value as JSON with its length and type", async () => {
  for (const [name, head, fn, status, body, type, length] of jsonCases) {
    const got = await respond(head, fn);
    equal(got.status, status, name);
    equal(got.body, body, name);
    equal(got.headers.get("content-type"), type, name);
    equal(got.headers.get("content-length"), length, name);
  }
});

Deno.test("HttpResponse.json() refuses values without a JSON form and leaves the response fresh", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const value of [undefined, () => 1, Symbol("s"), 1n, cyclic]) {
    const { res } = exchangeInMemory(GET);
    throws(() => res.json(value), TypeError, String(typeof value));
    equal(res.headersSent, false);
    equal(res.getHeader("content-type"), null);
  }
});

Deno.test("HttpResponse.send(), write() and end() refuse a body that is neither string nor bytes", async () => {
  const bad: unknown[] = [{ a: 1 }, 42, true, new ArrayBuffer(2), [1, 2], new Uint16Array(2)];
  for (const value of bad) {
    const sent = exchangeInMemory(GET);
    throws(() => sent.res.send(value as string), TypeError, String(value));
    equal(sent.res.headersSent, false, String(value));
    equal(await sent.host.written(), "", String(value));
    for (const method of ["write", "end"] as const) {
      const streamed = exchangeInMemory(GET);
      let err: unknown = null;
      await streamed.res[method](value as string).catch((e) => err = e);
      equal(err instanceof TypeError, true, `${method}(${String(value)})`);
      equal(streamed.res.headersSent, false, `${method}(${String(value)})`);
    }
  }
});

// [name, how to respond, Content-Length]
const headLengths: [string, (r: HttpResponse) => void | Promise<void>, string | undefined][] = [
  [
    "end() keeps the handler's Content-Length",
    (r) => r.setHeader("Content-Length", "5").end(),
    "5",
  ],
  [
    "send() keeps the handler's Content-Length",
    (r) => r.setHeader("Content-Length", "9").send(),
    "9",
  ],
  ["send(null) keeps it too", (r) => r.setHeader("content-length", "0").send(null), "0"],
  ["a body's own length wins", (r) => r.setHeader("Content-Length", "9").send("abc"), "3"],
  ["no Content-Length: 0", (r) => r.end(), "0"],
  ["204 has none", (r) => {
    r.status = 204;
    r.setHeader("Content-Length", "5").end();
  }, undefined],
];

Deno.test("HttpResponse.end() on HEAD answers the Content-Length the handler set", async () => {
  for (const [name, fn, length] of headLengths) {
    const got = await respond(HEAD, fn);
    equal(got.headers.get("content-length"), length, name);
    equal(got.body, "", name);
  }
  const { res } = exchangeInMemory(HEAD);
  res.setHeader("Content-Length", "five");
  throws(() => res.send(), TypeError, "five");
});

Deno.test("HttpResponse.send() writes the head a fresh build makes, however responses alternate", async () => {
  // Heads written again are reused from the last one; each row differs from
  // the first in one input of the head.
  const rows: [string, string, (r: HttpResponse) => void, boolean][] = [
    ["base", GET, (r) => r.send("hello"), false],
    ["status", GET, (r) => {
      r.status = 201;
      r.send("hello");
    }, false],
    ["length", GET, (r) => r.send("hello!"), false],
    ["a field", GET, (r) => r.setHeader("X-A", "1").send("hello"), false],
    ["a field's value", GET, (r) => r.setHeader("X-A", "2").send("hello"), false],
    ["content type", GET, (r) => r.setHeader("Content-Type", "text/html").send("hello"), false],
    ["closing", GET, (r) => r.send("hello"), true],
    ["Connection: close", GET, (r) => r.setHeader("Connection", "close, x-a").send("hello"), false],
    ["HTTP/1.0", GET10, (r) => r.send("hello"), false],
    ["HEAD", HEAD, (r) => r.send("hello"), false],
  ];
  /** What one response wrote (without its Date field) and whether it closes. */
  async function written(
    head: string,
    fn: (r: HttpResponse) => void,
    closing: boolean,
  ): Promise<[string, boolean]> {
    const { res, host } = exchangeInMemory(head);
    host.closeAfter = closing;
    fn(res);
    return [(await host.written()).replace(/\r\nDate: [^\r]*/, ""), res.closesConnection];
  }
  const fresh = new Map<string, [string, boolean]>();
  for (const [what, head, fn, closing] of rows) {
    // Cold: the row before was another one.
    await written(GET, (r) => r.send("something else"), false);
    fresh.set(what, await written(head, fn, closing));
  }
  // Each row three times in a row (the second keeps the bytes, the third
  // reuses them), in order and then reversed.
  for (const order of [rows, [...rows].reverse()]) {
    for (const [what, head, fn, closing] of order) {
      for (let i = 0; i < 3; i++) {
        const got = await written(head, fn, closing);
        equal(JSON.stringify(got), JSON.stringify(fresh.get(what)), `${what} #${i}`);
      }
    }
  }
  // Rows do differ from each other (the comparison above can fail).
  equal(new Set([...fresh.values()].map((v) => JSON.stringify(v))).size, rows.length);
});

Deno.test("HttpResponse.send() writes a string body sent again as a fresh encoding would", async () => {
  // The last string body is kept with its bytes once sent twice in a row;
  // each row three times in a row must write what a cold send writes.
  const bodies: [string, string][] = [
    ["ASCII", "Hello, World!\n"],
    ["same content, another string", ["Hello", "World!\n"].join(", ")],
    ["same length, other text", "Hello, world?\n"],
    ["non-ASCII", "h\u00e9llo \u2603 \u{1F600}"],
    ["lone surrogate", "a\ud800b"],
    ["empty", ""],
    ["long", "z".repeat(16384)],
    ["one past the inline limit", "q".repeat(16385)],
  ];
  async function written(head: string, body: string): Promise<string> {
    const { res, host } = exchangeInMemory(head);
    res.send(body);
    return (await host.written()).replace(/\r\nDate: [^\r]*/, "");
  }
  for (const head of [GET, HEAD]) {
    const fresh = new Map<string, string>();
    for (const [what, body] of bodies) {
      await written(GET, "something else");
      fresh.set(what, await written(head, body));
    }
    for (const order of [bodies, [...bodies].reverse()]) {
      for (const [what, body] of order) {
        for (let i = 0; i < 3; i++) {
          equal(await written(head, body), fresh.get(what), `${what} #${i}`);
        }
      }
    }
  }
  // The body is really there, in UTF-8 (the comparison above can fail).
  const { body, headers } = parseWritten(
    await (async () => {
      const { res, host } = exchangeInMemory(GET);
      res.send("h\u00e9llo");
      return await host.written();
    })(),
  );
  equal(body, "h\u00e9llo");
  equal(headers.get("content-length"), "6");
});

Deno.test("HttpResponse.removeHeader() and appendHeader() change only their own response's fields", async () => {
  // Responses with no fields, or only the default Content-Type, share their
  // field list until one of them changes it.
  const steps: [string, (r: HttpResponse) => void | Promise<void>][] = [
    ["send() then remove", (r) => {
      r.send("a");
      r.removeHeader("content-type");
    }],
    ["json() then remove", (r) => {
      r.json({ a: 1 });
      r.removeHeader("Content-Type");
    }],
    ["remove on a fresh one", (r) => {
      r.removeHeader("content-type");
      r.send("b");
    }],
    ["append on a fresh one", (r) => {
      r.appendHeader("X-A", "1");
      r.send("c");
    }],
  ];
  for (const [what, step] of steps) {
    const { res, host } = exchangeInMemory(GET);
    await step(res);
    await host.written();
    // Fresh responses after it still get the defaults, and no X-A.
    const text = await respond(GET, (r) => r.send("t"));
    equal(text.headers.get("content-type"), "text/plain; charset=utf-8", what);
    equal(text.headers.has("x-a"), false, what);
    const json = await respond(GET, (r) => r.json([1]));
    equal(json.headers.get("content-type"), "application/json; charset=utf-8", what);
    const fresh = exchangeInMemory(GET).res;
    equal(fresh.getHeader("content-type"), null, what);
    equal(fresh.getHeader("x-a"), null, what);
  }
});
