import { ok, strictEqual } from "node:assert/strict";
import { HttpError, HttpErrorCode } from "./errors.ts";

Deno.test("HttpError() carries status, code, message and cause", () => {
  const cause = new Error("inner");
  const err = new HttpError(
    HttpErrorCode.HeadTooLarge,
    "Cannot parse request head: too large",
    { cause },
  );
  ok(err instanceof Error);
  strictEqual(err.name, "HttpError");
  strictEqual(err.status, 431);
  strictEqual(err.code, "head-too-large");
  strictEqual(err.message, "Cannot parse request head: too large");
  strictEqual(err.cause, cause);
});

Deno.test("HttpErrorCode values are unique kebab-case strings", () => {
  const values = Object.values(HttpErrorCode);
  strictEqual(new Set(values).size, values.length);
  for (const v of values) ok(/^[a-z0-9]+(-[a-z0-9]+)*$/.test(v), v);
});
