import { GUID } from "./_accept_key_sync.ts";

const encoder = new TextEncoder();

/**
 * Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: the base64 of
 * the SHA-1 of the key followed by the RFC 6455 GUID.
 *
 * @param key The `Sec-WebSocket-Key` header value, as sent.
 * @returns The `Sec-WebSocket-Accept` header value.
 *
 * @example The example of RFC 6455 section 1.3
 * ```ts
 * import { computeAcceptKey } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(await computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export async function computeAcceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return new Uint8Array(digest).toBase64();
}

const BASE64_22 = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * Whether a `Sec-WebSocket-Key` is valid: base64 (with padding) of exactly
 * 16 bytes, as RFC 6455 section 4.1 requires.
 *
 * @param key The header value (surrounding whitespace is not allowed).
 * @returns `true` if it decodes to 16 bytes.
 *
 * @example Usage
 * ```ts
 * import { isValidKey } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="), true);
 * equal(isValidKey("c2hvcnQ="), false); // "short"
 * ```
 */
export function isValidKey(key: string): boolean {
  return key.length === 24 && BASE64_22.test(key);
}
