import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { ErrorCode, protocolError, WebSocketError } from "./errors.ts";

Deno.test("ErrorCode values are kebab-case and distinct", () => {
  const values = Object.values(ErrorCode);
  for (const v of values) equal(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(v), true, v);
  equal(new Set(values).size, values.length);
});

Deno.test("protocolError() maps every code to one close code and message", () => {
  const closeCodes = new Set([1002, 1006, 1007, 1008, 1009, 1011]);
  for (const code of Object.values(ErrorCode)) {
    const err = protocolError(code);
    equal(err instanceof WebSocketError, true);
    equal(err.code, code);
    equal(closeCodes.has(err.closeCode), true, `${code}: ${err.closeCode}`);
    equal(err.message.length > 0, true);
    equal(protocolError(code).closeCode, err.closeCode, "the same code gives the same close code");
  }
});

Deno.test("protocolError() appends the detail and keeps the cause", () => {
  const cause = new Error("boom");
  const err = protocolError(ErrorCode.IoError, "read", cause);
  deepEqual([err.closeCode, err.message, err.cause], [1006, "Socket I/O failed: read", cause]);
  equal(protocolError(ErrorCode.IoError).cause, undefined);
});
