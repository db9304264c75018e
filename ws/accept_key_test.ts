import { strictEqual as equal } from "node:assert/strict";
import { computeAcceptKey, isValidKey } from "./accept_key.ts";

Deno.test("computeAcceptKey() computes the RFC 6455 example", async () => {
  equal(await computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("isValidKey() accepts only base64 of 16 bytes", () => {
  equal(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="), true);
  equal(isValidKey(crypto.getRandomValues(new Uint8Array(16)).toBase64()), true);
  equal(isValidKey(""), false);
  equal(isValidKey("dGhlIHNhbXBsZSBub25jZQ="), false); // bad padding
  equal(isValidKey("dGhlIHNhbXBsZSBub25jZR=="), false); // non-zero pad bits
  equal(isValidKey(new Uint8Array(15).toBase64()), false);
  equal(isValidKey(new Uint8Array(17).toBase64()), false);
  equal(isValidKey(" dGhlIHNhbXBsZSBub25jZQ=="), false);
  equal(isValidKey("dGhlIHNhbXBsZSBub25jZQ!="), false);
});
