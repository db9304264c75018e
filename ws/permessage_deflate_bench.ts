// permessage-deflate engine: time per message for 1 KiB (and 16 KiB) of
// JSON-like text, compress and decompress, in each mode. The messages cycle
// through 64 different ones (a stream of similar, not identical, messages:
// what dedicated mode's context takeover is for). The machine is shared and
// has 2 cores: expect noise, compare within one run.
import { type DeflateParams, PerMessageDeflate } from "./permessage_deflate.ts";

function jsonLike(size: number, seed: number): Uint8Array {
  let s = "";
  for (let i = seed * 131; s.length < size; i++) {
    s += `{"id":${i * 7919 % 100000},"user":"user${i % 37}","text":"message ${i} in room ${
      i % 5
    }","ts":${1700000000000 + i * 1013}},`;
  }
  return new TextEncoder().encode(s.slice(0, size));
}

const shared: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const dedicated: DeflateParams = { ...shared, serverNoContextTakeover: false };

for (const size of [1024, 16384]) {
  const msgs = Array.from({ length: 64 }, (_, k) => jsonLike(size, k));
  for (
    const [name, params, options] of [
      ["shared", shared, { mode: "shared" }],
      ["dedicated 15/8", dedicated, { mode: "dedicated" }],
      ["dedicated 12/4", { ...dedicated, serverMaxWindowBits: 12 }, {
        mode: "dedicated",
        memLevel: 4,
      }],
    ] as const
  ) {
    const server = new PerMessageDeflate(params, options);
    const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    let c = 0;
    Deno.bench(`compress ${size} B, ${name}`, { group: `compress ${size}` }, () => {
      server.compress(msgs[c++ & 63]!);
    });
    // Decompress reads one sender's stream in order (context takeover): a
    // sender of its own compresses batches ahead, the client inflates them
    // one by one.
    const sender = new PerMessageDeflate(params, options);
    const batch: Uint8Array[] = [];
    let next = 0;
    Deno.bench(`decompress ${size} B, ${name}`, { group: `decompress ${size}` }, (b) => {
      if (next === batch.length) {
        batch.length = 0;
        next = 0;
        for (let k = 0; k < 2048; k++) batch.push(sender.compress(msgs[k & 63]!));
      }
      const packed = batch[next++]!;
      b.start();
      const out = client.decompress(packed, 1 << 20);
      b.end();
      if (!(out instanceof Uint8Array)) throw new Error("decompress failed");
    });
  }
}
