import { strictEqual as equal } from "node:assert/strict";
import { computeAcceptKey } from "./accept_key.ts";
import { acceptKeySync } from "./_accept_key_sync.ts";

function randomKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

const CASES: { name: string; key: string; accept?: string }[] = [
  {
    name: "the RFC 6455 example",
    key: "dGhlIHNhbXBsZSBub25jZQ==",
    accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  },
  { name: "all zero bytes", key: "AAAAAAAAAAAAAAAAAAAAAA==" },
  { name: "all one bytes", key: "/////////////////////w==" },
  ...Array.from({ length: 32 }, (_, i) => ({ name: `random key ${i}`, key: randomKey() })),
];

for (const c of CASES) {
  Deno.test(`acceptKeySync() agrees with computeAcceptKey() on ${c.name}`, async () => {
    const expected = c.accept ?? await computeAcceptKey(c.key);
    equal(acceptKeySync(c.key), expected);
    equal(await computeAcceptKey(c.key), expected);
  });
}
