import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { RequestHead } from "./head.ts";
import { RequestParser } from "./parser.ts";

function parse(target: string, method = "GET"): RequestHead {
  const parser = new RequestParser();
  parser.feed(new TextEncoder().encode(`${method} ${target} HTTP/1.1\r\nHost: h\r\n\r\n`));
  return parser.head!;
}

Deno.test("RequestHead.path and .query split each target form", () => {
  const cases: [string, string, string, string][] = [
    ["GET", "/", "/", ""],
    ["GET", "/a/b", "/a/b", ""],
    ["GET", "/a?x=1&y", "/a", "x=1&y"],
    ["GET", "/?", "/", ""],
    ["GET", "/a?b?c", "/a", "b?c"],
    ["GET", "http://h/p?q", "/p", "q"],
    ["GET", "http://h", "/", ""],
    ["GET", "https://h:8443?x", "/", "x"],
    ["GET", "http://h/", "/", ""],
    ["OPTIONS", "*", "*", ""],
    ["CONNECT", "h:443", "h:443", ""],
  ];
  for (const [method, target, path, query] of cases) {
    const head = parse(target, method);
    deepStrictEqual([head.path, head.query], [path, query], target);
    deepStrictEqual([head.query, head.path], [query, path], `${target} (query first)`);
  }
});

Deno.test("RequestHead.headers is built once and cached", () => {
  const head = parse("/");
  strictEqual(head.headers, head.headers);
  strictEqual(head.headers.get("host"), "h");
});

Deno.test("RequestHead() can be built directly from parts", () => {
  const raw = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  const head = new RequestHead(
    "GET",
    "/x",
    "HTTP/1.1",
    raw,
    [17, 21, 23, 24],
    -1,
    false,
    true,
    false,
    null,
  );
  strictEqual(head.headLength, raw.length);
  strictEqual(head.headers.get("HOST"), "h");
  strictEqual(head.path, "/x");
});
