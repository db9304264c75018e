// Interop tests: bytes both ways with npm ws's PerMessageDeflate and with
// pako, each under the parameters both sides negotiated.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { Buffer } from "node:buffer";
// npm ws: a second implementation for byte interop and its header formatter.
import { extension as wsExtension, PerMessageDeflate as WsPerMessageDeflate } from "npm:ws@8.23.0";
// pako: a zlib port in plain JavaScript, a third implementation sharing no
// code with Deno's zlib-ng.
import pako from "npm:pako@2.1.0";
import {
  type ClientDeflateOptions,
  clientOffer,
  negotiateClient,
  negotiateServer,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
} from "./permessage_deflate.ts";
import { adversarial, jsonLike, P, parseExtensions } from "./_deflate_test_util.ts";

// ---------------------------------------------------------------------------
// Interop with npm ws's PerMessageDeflate (bytes both ways)

type WsPmd = {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): unknown;
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
  cleanup(): void;
};

function wsCall(
  pmd: WsPmd,
  op: "compress" | "decompress",
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pmd[op](Buffer.from(data), true, (err, out) => {
      if (err) reject(err);
      else resolve(new Uint8Array(out!));
    });
  });
}

const WS_MATRIX: Array<
  { what: string; ws: Record<string, unknown>; server?: PerMessageDeflateOptions }
> = [
  { what: "defaults, shared", ws: {} },
  { what: "defaults, dedicated", ws: {}, server: { mode: "dedicated" } },
  {
    what: "server no context takeover",
    ws: { serverNoContextTakeover: true },
    server: { mode: "dedicated" },
  },
  {
    what: "client no context takeover",
    ws: { clientNoContextTakeover: true },
    server: { mode: "dedicated" },
  },
  { what: "server window 9", ws: { serverMaxWindowBits: 9 }, server: { mode: "dedicated" } },
  { what: "server window 12", ws: { serverMaxWindowBits: 12 } },
  { what: "server window 8", ws: { serverMaxWindowBits: 8 }, server: { mode: "dedicated" } },
  { what: "client window 9", ws: { clientMaxWindowBits: 9 }, server: { mode: "dedicated" } },
  {
    what: "client window asked by the server",
    ws: { clientMaxWindowBits: true },
    server: { mode: "dedicated", clientMaxWindowBits: 10 },
  },
];

for (const c of WS_MATRIX) {
  Deno.test(`PerMessageDeflate interoperates with npm ws as client: ${c.what}`, async () => {
    const wsClient = new WsPerMessageDeflate({ ...c.ws, threshold: 0 }) as WsPmd;
    const offer = wsExtension.format({ "permessage-deflate": [wsClient.offer()] });
    const accepted = negotiateServer(parseExtensions(offer), c.server);
    ok(accepted !== null, offer);
    wsClient.accept(wsExtension.parse(accepted.response)["permessage-deflate"]);
    const server = new PerMessageDeflate(accepted.params, { mode: c.server?.mode ?? "shared" });
    try {
      for (const size of [16, 64, 256, 1024, 4096, 16384, 65536, 131072]) {
        for (const msg of [jsonLike(size, size), adversarial(size, size)]) {
          deepEqual(await wsCall(wsClient, "decompress", server.compress(msg)), msg);
          deepEqual(server.decompress(await wsCall(wsClient, "compress", msg), 1 << 20), msg);
        }
      }
    } finally {
      server.close();
      wsClient.cleanup();
    }
  });
}

Deno.test("PerMessageDeflate interoperates with npm ws as server", async () => {
  for (
    const options of [
      {},
      { clientMaxWindowBits: 10 },
      { clientNoContextTakeover: true, serverMaxWindowBits: 9 },
    ] as ClientDeflateOptions[]
  ) {
    const wsServer8 = new WsPerMessageDeflate({ threshold: 0, isServer: true }) as WsPmd;
    const offer = clientOffer(options);
    const answer = wsServer8.accept(wsExtension.parse(offer)["permessage-deflate"]);
    const response = wsExtension.format({ "permessage-deflate": answer });
    const params = negotiateClient(parseExtensions(response), options);
    ok(params !== null);
    const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    try {
      for (const size of [16, 1024, 65536]) {
        const msg = jsonLike(size, size);
        deepEqual(await wsCall(wsServer8, "decompress", client.compress(msg)), msg);
        deepEqual(client.decompress(await wsCall(wsServer8, "compress", msg), 1 << 20), msg);
      }
    } finally {
      client.close();
      wsServer8.cleanup();
    }
  }
});

// ---------------------------------------------------------------------------
// Interop with pako (a JavaScript zlib port): bytes both ways, same window

interface PakoStream {
  push(data: Uint8Array, mode: number): boolean;
  chunks: Uint8Array[];
  err: number;
  msg: string;
  strm: { output: Uint8Array; "next_out": number; "avail_out": number };
}

const Z_SYNC_FLUSH = 2;

function pakoTake(s: PakoStream): Uint8Array {
  // pako's Inflate hands out output only when its buffer is full; take what a
  // sync flush left in it, and make it start a new buffer on the next push
  // (its window is kept apart, in the inflate state).
  if (s.strm.next_out > 0 && s.strm.avail_out > 0) {
    s.chunks.push(s.strm.output.slice(0, s.strm.next_out));
    s.strm.avail_out = 0;
  }
  const n = s.chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of s.chunks) {
    out.set(c, o);
    o += c.length;
  }
  s.chunks.length = 0;
  return out;
}

for (const window of [8, 9, 10, 12, 15]) {
  Deno.test(`PerMessageDeflate interoperates with pako, window ${window}, context takeover`, () => {
    const params = P(false, false, window, window);
    const ours = new PerMessageDeflate(params, { mode: "dedicated" });
    const pakoInflate = new pako.Inflate({ raw: true, windowBits: window }) as PakoStream;
    const sizes = [0, 1, 100, 1000, 5000, 20000, 65536, 131072];
    for (const level of [1, 6, 9]) {
      // (pako, like zlib, cannot deflate raw with 8 bits: a peer granted 8
      // would deflate with 9, which our 9-bit inflater takes)
      const pakoDeflate = new pako.Deflate({
        raw: true,
        windowBits: Math.max(window, 9),
        level,
        memLevel: 8,
      }) as PakoStream;
      for (const size of sizes) {
        for (const msg of [jsonLike(size, size + level), adversarial(size, size + level)]) {
          // pako -> ours (pako writes nothing for an empty input: no message)
          if (size > 0) {
            ok(pakoDeflate.push(msg, Z_SYNC_FLUSH), pakoDeflate.msg);
            const packed = pakoTake(pakoDeflate);
            deepEqual([...packed.subarray(-4)], [0, 0, 0xff, 0xff]);
            const got = ours.decompress(packed.subarray(0, -4), 1 << 20);
            deepEqual(got, msg, `pako level ${level} -> ours, size ${size}`);
          }
          // ours -> pako
          const mine = ours.compress(msg);
          const withTail = new Uint8Array(mine.length + 4);
          withTail.set(mine);
          withTail.set([0, 0, 0xff, 0xff], mine.length);
          ok(pakoInflate.push(withTail, Z_SYNC_FLUSH), pakoInflate.msg);
          equal(pakoInflate.err, 0, pakoInflate.msg);
          deepEqual(pakoTake(pakoInflate), msg, `ours -> pako, size ${size}`);
        }
      }
    }
    ours.close();
  });
}
