// Engine tests: round trips and the window bound, receiving (empty messages,
// fragments, BFINAL, garbage, bombs), memory and lifetime.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import {
  closeSharedDeflaters,
  deflateCount,
  liveStreams,
  PerMessageDeflate,
} from "./permessage_deflate.ts";
import { RawDeflater } from "./_zlib.ts";
import { adversarial, jsonLike, P, randomBytes, rng, Walker } from "./_deflate_test_util.ts";

// ---------------------------------------------------------------------------
// Round trips and the window bound

const SIZES = [0, 1, 16, 64, 125, 126, 256, 1024, 4096, 16384, 65535, 65536, 65537, 131072];

for (const mode of ["shared", "dedicated"] as const) {
  for (const window of [8, 9, 12, 15]) {
    Deno.test(`PerMessageDeflate.compress() round trips 0-128 KiB in ${mode} mode, window ${window}`, () => {
      const params = P(mode === "shared", false, window, window);
      const server = new PerMessageDeflate(params, { mode, threshold: 0 });
      const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
      const walker = new Walker();
      try {
        for (const size of SIZES) {
          for (const data of [jsonLike(size, size), randomBytes(size, size + 1)]) {
            const packed = server.compress(data);
            deepEqual(client.decompress(packed, 1 << 20), data, `size ${size}`);
            // The independent decoder agrees on the bytes and on the window.
            const from = walker.outLen;
            walker.feed(packed);
            deepEqual(walker.take(from), data, `walker, size ${size}`);
            // and the other way
            deepEqual(server.decompress(client.compress(data), 1 << 20), data);
          }
        }
        ok(
          walker.maxDist <= (1 << Math.max(window, 9)) - 262,
          `max distance ${walker.maxDist} for window ${window}`,
        );
      } finally {
        server.close();
        client.close();
      }
    });
  }
}

Deno.test("PerMessageDeflate.compress() with an 8-bit window never reaches back more than 250 bytes", () => {
  // Every level, several memLevels and strategies, random and adversarial
  // inputs, one message at a time and as a context-takeover sequence: each
  // match the deflater emits is checked by the independent decoder.
  let checked = 0;
  let farthest = 0;
  for (let level = 1; level <= 9; level++) {
    for (const memLevel of [1, 4, 8, 9]) {
      for (const strategy of [0, 1, 3]) {
        const d = new RawDeflater({ level, windowBits: 8, memLevel, strategy });
        equal(d.windowBits, 9);
        const w = new Walker();
        for (let seed = 0; seed < 8; seed++) {
          const size = 200 + seed * 700;
          for (
            const data of [adversarial(size, seed), randomBytes(size, seed), jsonLike(size, seed)]
          ) {
            const from = w.outLen;
            w.feed(d.compress(data));
            deepEqual(w.take(from), data);
            checked++;
          }
        }
        d.close();
        ok(w.maxDist <= 250, `level ${level} memLevel ${memLevel}: distance ${w.maxDist}`);
        if (w.maxDist > farthest) farthest = w.maxDist;
      }
    }
  }
  ok(checked > 2000);
  // The bound is reached, so the check is not vacuous.
  ok(farthest >= 240, `farthest match ${farthest}`);
});

Deno.test("PerMessageDeflate.compress() in shared mode gives every session the same bytes", () => {
  const params = P(true, false, 15, 15);
  const sessions = Array.from({ length: 5 }, () => new PerMessageDeflate(params));
  const msg = jsonLike(1024, 7);
  const first = sessions[0]!.compress(msg);
  for (const s of sessions) deepEqual(s.compress(msg), first);
  // the shared deflater is reset per message: the same message twice gives the same bytes
  deepEqual(sessions[0]!.compress(msg), first);
  equal(new Set(sessions.map((s) => s.sharedKey)).size, 1);
  for (const s of sessions) s.close();
});

Deno.test("PerMessageDeflate.sharedKey lets a publisher deflate once for 1000 subscribers", () => {
  // a hub's fan-out: one compressed form per shared key, one deflate per message
  const shared = P(true, false, 15, 15);
  const narrow = P(true, false, 10, 15);
  const subscribers = Array.from(
    { length: 1000 },
    (_, k) => new PerMessageDeflate(k % 10 === 9 ? narrow : shared),
  );
  const msg = jsonLike(2048, 2);
  const before = deflateCount();
  const byKey = new Map<string, Uint8Array>();
  const peer = new PerMessageDeflate(shared, { role: "client" });
  for (const s of subscribers) {
    const key = s.sharedKey!;
    let packed = byKey.get(key);
    if (packed === undefined) byKey.set(key, packed = s.compress(msg));
    deepEqual(peer.decompress(packed, 1 << 20), msg);
  }
  // two windows among the subscribers: two deflates, not 1000
  equal(deflateCount() - before, 2);
  equal(byKey.size, 2);
  for (const s of subscribers) s.close();
  peer.close();
});

Deno.test("PerMessageDeflate.compress() in dedicated mode keeps context between messages", () => {
  const params = P(false, false, 15, 15);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client" });
  equal(server.sharedKey, null);
  const msg = jsonLike(1024, 3);
  const a = server.compress(msg);
  const b = server.compress(msg);
  ok(b.length < a.length / 4, `${b.length} vs ${a.length}`);
  deepEqual(client.decompress(a, 4096), msg);
  deepEqual(client.decompress(b, 4096), msg);
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.compress() takes a message in pieces", () => {
  const params = P(true, false, 15, 15);
  const pmd = new PerMessageDeflate(params);
  const msg = jsonLike(100_000, 5);
  const whole = pmd.compress([msg.subarray(0, 10), msg.subarray(10, 70_000), msg.subarray(70_000)]);
  deepEqual(pmd.decompress(whole, 1 << 20), msg);
  pmd.close();
});

Deno.test("PerMessageDeflate.shouldCompress() applies the threshold", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15), { threshold: 1000 });
  equal(pmd.shouldCompress(999), false);
  equal(pmd.shouldCompress(1000), true);
  equal(pmd.shouldCompress(1 << 20), true);
  equal(pmd.shouldCompress((1 << 20) + 1), false);
  pmd.close();
  const all = new PerMessageDeflate(P(true, false, 15, 15), { maxCompressSize: Infinity });
  equal(all.shouldCompress(1 << 30), true);
  all.close();
  throws(() => new PerMessageDeflate(P(true, false, 15, 15), { threshold: -1 }), RangeError);
});

// ---------------------------------------------------------------------------
// Receiving: empty messages, fragments, BFINAL, garbage, bombs

Deno.test("PerMessageDeflate.decompress() reads the empty message, whole or as a last 00 fragment", () => {
  const params = P(false, false, 15, 15);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
  deepEqual(server.decompress(new Uint8Array([0]), 10), new Uint8Array(0));
  deepEqual(server.decompress([new Uint8Array(0), new Uint8Array([0])], 10), new Uint8Array(0));
  // the context goes on across empty messages
  const hello = new TextEncoder().encode("hello hello hello");
  for (let k = 0; k < 3; k++) {
    const packed = client.compress(hello);
    // split so that the last fragment is a single byte
    deepEqual(server.decompress([packed.subarray(0, -1), packed.subarray(-1)], 100), hello);
    deepEqual(server.decompress(client.compress(new Uint8Array(0)), 10), new Uint8Array(0));
  }
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.decompress() takes any fragmentation", () => {
  const params = P(false, false, 12, 12);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
  const r = rng(9);
  for (let k = 0; k < 30; k++) {
    const msg = jsonLike(1 + ((r() * 20000) | 0), k);
    const packed = client.compress(msg);
    const frags: Uint8Array[] = [];
    for (let at = 0; at < packed.length;) {
      const n = 1 + ((r() * 300) | 0);
      frags.push(packed.subarray(at, at + n));
      at += n;
    }
    deepEqual(server.decompress(frags, 1 << 20), msg);
  }
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.decompress() starts a fresh stream after a BFINAL message", () => {
  const params = P(false, false, 15, 15);
  const pmd = new PerMessageDeflate(params, { mode: "dedicated" });
  for (let k = 0; k < 4; k++) {
    const msg = jsonLike(500 + k * 100, k);
    // a sender that ends each message with Z_FINISH (BFINAL=1, no tail)
    const final = new Uint8Array(deflateRawSync(msg));
    deepEqual(pmd.decompress(final, 1 << 16), msg, `BFINAL message ${k}`);
    // split so that the stream ends exactly at a fragment boundary
    deepEqual(pmd.decompress([final, new Uint8Array(0)], 1 << 16), msg);
    // then context-takeover messages from a fresh stream (the sender forgot
    // its window with the final block): the first one must not be read as
    // the continuation of the ended stream (Bun PR #34105 read it as empty)
    const peer = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    deepEqual(pmd.decompress(peer.compress(msg), 1 << 16), msg);
    deepEqual(pmd.decompress(peer.compress(msg), 1 << 16), msg);
    peer.close();
    // and a BFINAL message ending a context-takeover stream
    const more = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    deepEqual(pmd.decompress(more.compress(msg), 1 << 16), msg);
    more.close();
    const z = new RawDeflater();
    const start = z.compress(msg);
    z.close();
    deepEqual(pmd.decompress(start, 1 << 16), msg);
  }
  pmd.close();
});

Deno.test("PerMessageDeflate.decompress() fails data after the end of a BFINAL stream", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const final = new Uint8Array(deflateRawSync(new TextEncoder().encode("the end")));
  const trailing = new Uint8Array([...final, 0x01, 0x02]);
  equal(kindOf(pmd.decompress(trailing, 1024)), "invalid");
  equal(kindOf(pmd.decompress([final, new Uint8Array([7])], 1024)), "invalid");
  // the engine recovers for the next (fresh) stream
  deepEqual(pmd.decompress(final, 1024), new TextEncoder().encode("the end"));
  pmd.close();
});

function kindOf(x: Uint8Array | { kind: string }): string {
  return x instanceof Uint8Array ? "data" : x.kind;
}

Deno.test("PerMessageDeflate.decompress() reports garbage as invalid", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const garbage: Uint8Array[] = [
    new Uint8Array([0xff]),
    new Uint8Array([0x07, 0x00]), // block type 3
    new Uint8Array([0x00, 0x05, 0x00, 0x00, 0x00]), // stored length and its complement disagree
    randomBytes(64, 1),
  ];
  for (const g of garbage) {
    const got = pmd.decompress(g, 1 << 16);
    equal(kindOf(got), "invalid", `input ${[...g.subarray(0, 8)]}`);
  }
  // a fixed block: literal 0x00, then a match at distance 2, before the
  // start of the stream ("invalid distance too far back")
  equal(kindOf(pmd.decompress(new Uint8Array([0x62, 0x00, 0x42, 0x00]), 100)), "invalid");
  pmd.close();
});

Deno.test("PerMessageDeflate.decompress() stops a 64 MiB bomb at the limit with bounded memory", () => {
  // 64 MiB of zeros compresses to ~64 KiB; build it without holding 64 MiB
  const d = new RawDeflater({ level: 9 });
  const zeros = new Uint8Array(1 << 20);
  const chunks = Array.from({ length: 64 }, () => zeros);
  const bomb = d.compress(chunks);
  d.close();
  ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`);
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const frags: Uint8Array[] = [];
  for (let at = 0; at < bomb.length; at += 1024) frags.push(bomb.subarray(at, at + 1024));
  for (const input of [bomb, frags]) {
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    const got = pmd.decompress(input, 1 << 20);
    const ms = performance.now() - t0;
    const grew = Deno.memoryUsage().rss - rss0;
    deepEqual(got, { kind: "too-big", limit: 1 << 20 });
    // the work stops one 64 KiB step past 1 MiB: far less than inflating 64 MiB
    // (a loose bound: RSS is shared with tests running in parallel; inflating
    // the whole bomb would cost over 64 MiB)
    ok(grew < 48 << 20, `RSS grew ${grew} bytes`);
    ok(ms < 2000, `took ${ms} ms`);
  }
  // the same bomb under a 128 MiB limit inflates completely (the limit is what stopped it)
  const all = pmd.decompress(bomb, 128 << 20);
  ok(all instanceof Uint8Array && all.length === 64 << 20);
  pmd.close();
});

/** Streams a message through pushCompressed()/pullDecompressed(). */
function streamed(
  pmd: PerMessageDeflate,
  frames: Uint8Array[],
  max: number,
): Uint8Array | { kind: string } {
  const out: number[] = [];
  for (let f = 0; f < frames.length; f++) {
    pmd.pushCompressed(frames[f]!, f === frames.length - 1);
    for (;;) {
      const got = pmd.pullDecompressed(max);
      if (got === null) break;
      if (!(got instanceof Uint8Array)) return got;
      ok(got.length <= 65536);
      for (const b of got) out.push(b);
    }
  }
  return new Uint8Array(out);
}

Deno.test("PerMessageDeflate.pullDecompressed() gives what decompress() gives, frame by frame", () => {
  for (const clientNoContextTakeover of [false, true]) {
    const params = P(false, clientNoContextTakeover, 15, 11);
    const server = new PerMessageDeflate(params, { mode: "dedicated" });
    const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    const r = rng(11);
    for (let k = 0; k < 20; k++) {
      const msg = k % 5 === 4 ? new Uint8Array(0) : jsonLike(1 + ((r() * 150_000) | 0), k);
      const packed = client.compress(msg);
      const frames: Uint8Array[] = [];
      for (let at = 0; at < packed.length;) {
        const n = 1 + ((r() * 5000) | 0);
        frames.push(packed.subarray(at, at + n));
        at += n;
      }
      deepEqual(streamed(server, frames, 1 << 20), msg, `message ${k}`);
    }
    server.close();
    client.close();
  }
});

Deno.test("PerMessageDeflate.pullDecompressed() stops a fragmented bomb at the limit", () => {
  const d = new RawDeflater({ level: 9 });
  const zeros = new Uint8Array(1 << 20);
  const bomb = d.compress(Array.from({ length: 64 }, () => zeros));
  d.close();
  const frames: Uint8Array[] = [];
  for (let at = 0; at < bomb.length; at += 1000) frames.push(bomb.subarray(at, at + 1000));
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  let pulled = 0;
  let result: unknown = null;
  outer: for (let f = 0; f < frames.length; f++) {
    pmd.pushCompressed(frames[f]!, f === frames.length - 1);
    for (;;) {
      const got = pmd.pullDecompressed(1 << 20);
      if (got === null) break;
      if (!(got instanceof Uint8Array)) {
        result = got;
        break outer;
      }
      pulled += got.length;
    }
  }
  deepEqual(result, { kind: "too-big", limit: 1 << 20 });
  ok(pulled <= 1 << 20, `${pulled} bytes handed out before the verdict`);
  // the session would close 1009; the engine is still usable for a fresh stream
  const fresh = new RawDeflater();
  const hello = new TextEncoder().encode("hello");
  deepEqual(streamed(pmd, [fresh.compress(hello)], 100), hello);
  fresh.close();
  pmd.close();
});

Deno.test("PerMessageDeflate.pullDecompressed() reports garbage as invalid", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  equal(
    kindOf(streamed(pmd, [new Uint8Array([0x02]), new Uint8Array([0xff, 0xff])], 100)),
    "invalid",
  );
  equal(pmd.pullDecompressed(100), null);
  pmd.close();
  throws(() => pmd.pushCompressed(new Uint8Array([0]), true), /closed/);
});

// ---------------------------------------------------------------------------
// Memory and lifetime

Deno.test("PerMessageDeflate() sessions in shared mode hold no zlib stream until they receive", () => {
  closeSharedDeflaters();
  const base = liveStreams();
  const params = P(true, false, 15, 15);
  const N = 10_000;
  const rss0 = Deno.memoryUsage().rss;
  const sessions: PerMessageDeflate[] = [];
  const msg = jsonLike(1024, 1);
  for (let k = 0; k < N; k++) {
    const s = new PerMessageDeflate(params);
    s.compress(msg);
    sessions.push(s);
  }
  // one shared deflater for all of them, no inflater
  equal(liveStreams(), base + 1);
  ok(sessions.every((s) => !s.hasInflater));
  // RSS is shared with tests running in parallel, so the bound is loose: it
  // catches a deflater per session (~140 KiB each), not small growth (the
  // measured figure, ~0.7 KiB per session, is in the notes of the change).
  const perSession = (Deno.memoryUsage().rss - rss0) / N;
  ok(perSession < 32768, `${perSession} bytes per idle session`);
  // the first compressed message from a peer creates that session's inflater
  const packed = sessions[0]!.compress(msg);
  deepEqual(sessions[1]!.decompress(packed, 4096), msg);
  equal(liveStreams(), base + 2);
  for (const s of sessions) s.close();
  equal(liveStreams(), base + 1);
  closeSharedDeflaters();
  equal(liveStreams(), base);
});

Deno.test("PerMessageDeflate.close() frees the dedicated deflater and the inflater", () => {
  const base = liveStreams();
  const pmd = new PerMessageDeflate(P(false, false, 10, 10), { mode: "dedicated", memLevel: 4 });
  pmd.compress(jsonLike(300, 1));
  equal(liveStreams(), base + 1);
  pmd.decompress(new Uint8Array([0]), 10);
  equal(liveStreams(), base + 2);
  pmd.close();
  equal(liveStreams(), base);
  throws(() => pmd.decompress(new Uint8Array([0]), 10));
});
