import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { HeaderList } from "./header_list.ts";
import { RequestParser } from "./parser.ts";

function parsed(fields: string): HeaderList {
  const parser = new RequestParser();
  parser.feed(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`));
  return parser.head!.headers;
}

Deno.test("HeaderList.get() looks names up ignoring case and joins repeated fields with a comma", () => {
  const list = parsed("Accept: a\r\nX-Tag: 1\r\nACCEPT: b\r\n");
  strictEqual(list.get("accept"), "a, b");
  strictEqual(list.get("Accept"), "a, b");
  strictEqual(list.get("X-TAG"), "1");
  strictEqual(list.get("host"), "h");
  strictEqual(list.get("missing"), null);
  strictEqual(list.get(""), null);
});

Deno.test("HeaderList.get() folds only ASCII letters", () => {
  const list = parsed("a^b: caret\r\nk: kay\r\n");
  strictEqual(list.get("a~b"), null); // "^" | 0x20 === "~": must not match
  strictEqual(list.get("a^b"), "caret");
  strictEqual(list.get("\u212a"), null); // KELVIN SIGN lowercases to "k" in Unicode
  strictEqual(list.get("K"), "kay");
});

Deno.test("HeaderList.getAll() returns every value in order", () => {
  const list = parsed("Set-Cookie: a=1; Path=/\r\nX: y\r\nset-cookie: b=2\r\n");
  deepStrictEqual(list.getAll("set-cookie"), ["a=1; Path=/", "b=2"]);
  deepStrictEqual(list.getAll("nope"), []);
});

Deno.test("HeaderList.has() and size count field lines", () => {
  const list = parsed("A: 1\r\na: 2\r\n");
  strictEqual(list.has("A"), true);
  strictEqual(list.has("host"), true);
  strictEqual(list.has("b"), false);
  strictEqual(list.size, 3);
  strictEqual(new HeaderList().size, 0);
});

Deno.test("HeaderList[Symbol.iterator]() yields lowercased names and values in order", () => {
  deepStrictEqual([...parsed("X-One: 1\r\nx-TWO:  two  \r\n")], [["host", "h"], ["x-one", "1"], [
    "x-two",
    "two",
  ]]);
});

Deno.test("HeaderList.toHeaders() copies every field into a Headers object", () => {
  const headers = parsed("Accept: a\r\nAccept: b\r\nX-Name: caf\u00e9\r\n".replace("\u00e9", "e"))
    .toHeaders();
  strictEqual(headers.get("accept"), "a, b");
  strictEqual(headers.get("host"), "h");
  strictEqual(headers.get("x-name"), "cafe");
});

Deno.test("HeaderList() builds a list from pairs, trimming values", () => {
  const list = new HeaderList([["Content-Type", " text/plain \t"], ["X-A", "1"], ["x-a", "2"]]);
  strictEqual(list.get("content-type"), "text/plain");
  deepStrictEqual([...list], [["content-type", "text/plain"], ["x-a", "1"], ["x-a", "2"]]);
  strictEqual(list.toHeaders().get("x-a"), "1, 2");
});

Deno.test("HeaderList() rejects names that are not tokens and values with forbidden characters", () => {
  throws(() => new HeaderList([["", "x"]]), TypeError);
  throws(() => new HeaderList([["Bad Name", "x"]]), TypeError);
  throws(() => new HeaderList([["X-\u00e9", "x"]]), TypeError);
  throws(() => new HeaderList([["X", "a\r\nInjected: 1"]]), TypeError);
  throws(() => new HeaderList([["X", "a\u0000"]]), TypeError);
  throws(() => new HeaderList([["X", "\u20ac"]]), TypeError);
  strictEqual(new HeaderList([["X", "caf\u00e9"]]).get("x"), "caf\u00e9");
});
