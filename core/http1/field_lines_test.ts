import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { HttpError } from "./errors.ts";
import { RequestParser } from "./parser.ts";
import { parseResponseHead } from "./response_head.ts";
import { latin1Bytes } from "./_parser_cases.ts";
import { INVALID_FIELD_LINES, VALID_FIELD_LINES } from "./_field_line_cases.ts";

/** What RequestParser makes of the field lines: the fields after Host, or the error code. */
function viaRequest(lines: string): [string, string][] | string {
  const parser = new RequestParser();
  try {
    parser.feed(latin1Bytes(`GET / HTTP/1.1\r\nHost: x\r\n${lines}\r\n\r\n`));
  } catch (err) {
    if (err instanceof HttpError) return `${err.status} ${err.code}`;
    throw err;
  }
  if (parser.head === null) return "incomplete";
  return [...parser.head.headers].slice(1);
}

/** What parseResponseHead makes of the same field lines. */
function viaResponse(lines: string): [string, string][] | string {
  try {
    return [...parseResponseHead(latin1Bytes(`HTTP/1.1 101 OK\r\n${lines}\r\n\r\n`)).headers];
  } catch (err) {
    if (err instanceof HttpError) return `${err.status} ${err.code}`;
    throw err;
  }
}

for (const c of INVALID_FIELD_LINES) {
  Deno.test(`RequestParser.feed() and parseResponseHead() both reject ${c.name} with ${c.code}`, () => {
    equal(viaRequest(c.lines), `400 ${c.code}`, "RequestParser");
    equal(viaResponse(c.lines), `400 ${c.code}`, "parseResponseHead");
  });
}

for (const c of VALID_FIELD_LINES) {
  Deno.test(`RequestParser.feed() and parseResponseHead() both accept ${c.name}`, () => {
    deepEqual(viaRequest(c.lines), c.fields, "RequestParser");
    deepEqual(viaResponse(c.lines), c.fields, "parseResponseHead");
  });
}
