import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import zlib from "node:zlib";
import {
  type Invalid,
  liveStreams,
  MAX_STEP_OUTPUT,
  RawDeflater,
  RawInflater,
  type TooBig,
  zlibBackend,
} from "./_zlib.ts";

function random(size: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    b[i] = a >>> 24;
  }
  return b;
}

const text = (n: number): Uint8Array =>
  new TextEncoder().encode("lorem ipsum dolor sit amet, ".repeat(Math.ceil(n / 28)).slice(0, n));

/** node:zlib's documented one-shot inflate, with the tail appended. */
function reference(compressed: Uint8Array): Uint8Array {
  const withTail = new Uint8Array(compressed.length + 4);
  withTail.set(compressed);
  withTail.set([0, 0, 0xff, 0xff], compressed.length);
  return new Uint8Array(
    zlib.inflateRawSync(withTail, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  );
}

function kind(x: Uint8Array | TooBig | Invalid | null): string {
  return x === null ? "null" : x instanceof Uint8Array ? "data" : x.kind;
}

// If this test fails, Deno changed the private node:zlib handle API that
// _zlib.ts drives; compression must then fall back (zlibBackend() "none":
// the server declines permessage-deflate) until _zlib.ts is adapted.
Deno.test("zlibBackend() finds node:zlib's native handle with the binding shape _zlib.ts relies on", () => {
  equal(zlibBackend(), "handle");
  // deno-lint-ignore no-explicit-any
  const stream = zlib.createInflateRaw({ chunkSize: 64 }) as any;
  const h = stream._handle;
  const state = stream._writeState;
  try {
    for (const m of ["writeSync", "reset", "close"]) equal(typeof h[m], "function", m);
    ok(state instanceof Uint32Array && state.length === 2, "_writeState is Uint32Array(2)");
    // writeSync runs synchronously and leaves [availOut, availIn] in _writeState
    const msg = zlib.deflateRawSync(new Uint8Array(1000)); // 1000 zeros, BFINAL
    const out = new Uint8Array(100);
    h.writeSync(zlib.constants.Z_SYNC_FLUSH, msg, 0, msg.length, out, 0, out.length);
    equal(state[0], 0, "output full");
    ok(state[1]! < msg.length, "some input consumed");
    // errors are reported synchronously through handle.onerror(message, errno)
    const seen: unknown[] = [];
    h.onerror = (message: string, errno: number) => seen.push([message, errno]);
    h.reset();
    const bad = new Uint8Array([0xff, 0xff]);
    h.writeSync(zlib.constants.Z_SYNC_FLUSH, bad, 0, 2, out, 0, out.length);
    deepEqual(seen, [["invalid block type", -3]]);
  } finally {
    h.close();
  }
});

Deno.test("RawDeflater.compress() strips the sync-flush tail; node:zlib inflates the result", () => {
  const d = new RawDeflater();
  for (const size of [1, 100, 5000, 70_000, 300_000]) {
    for (const data of [text(size), random(size, size)]) {
      const c = d.compress(data);
      deepEqual(reference(c), data, `size ${size}`);
      d.reset();
    }
  }
  d.close();
});

Deno.test("RawDeflater.compress() stitches output across 64 KiB steps at every boundary", () => {
  // Level 0 stores: output = input + 5 bytes per stored block + the flush.
  // Sizes around one and two scratch buffers hit the exact-fill cases.
  const d = new RawDeflater({ level: 0 });
  for (let size = MAX_STEP_OUTPUT - 20; size <= MAX_STEP_OUTPUT + 20; size++) {
    const data = random(size, size);
    deepEqual(reference(d.compress(data)), data, `size ${size}`);
    d.reset();
  }
  for (let size = 2 * MAX_STEP_OUTPUT - 20; size <= 2 * MAX_STEP_OUTPUT + 20; size += 3) {
    const data = random(size, size);
    deepEqual(reference(d.compress(data)), data, `size ${size}`);
    d.reset();
  }
  d.close();
});

Deno.test("RawDeflater.compress() takes a message in pieces, empty ones included", () => {
  const data = text(50_000);
  const d = new RawDeflater();
  const pieces = [
    new Uint8Array(0),
    data.subarray(0, 1),
    data.subarray(1, 30_000),
    data.subarray(30_000),
    new Uint8Array(0),
  ];
  deepEqual(reference(d.compress(pieces)), data);
  d.close();
});

Deno.test("RawDeflater.compress() writes empty messages as 00 and keeps the context around them", () => {
  const d = new RawDeflater();
  const i = new RawInflater();
  const msg = text(200);
  for (let k = 0; k < 3; k++) {
    deepEqual(d.compress(new Uint8Array(0)), new Uint8Array([0]));
    deepEqual(d.compress([]), new Uint8Array([0]));
    deepEqual(i.inflate(new Uint8Array([0]), 10), new Uint8Array(0));
    deepEqual(i.inflate(d.compress(msg), 1000), msg);
  }
  d.close();
  i.close();
});

Deno.test("RawDeflater() checks its options and runs 8-bit windows with 9 bits", () => {
  for (
    const o of [
      { level: -1 },
      { level: 10 },
      { windowBits: 7 },
      { windowBits: 16 },
      { memLevel: 0 },
      {
        memLevel: 10,
      },
      { strategy: 5 },
      { level: 1.5 },
    ]
  ) {
    throws(() => new RawDeflater(o), RangeError, JSON.stringify(o));
  }
  const d = new RawDeflater({ windowBits: 8 });
  equal(d.windowBits, 9);
  d.close();
  throws(() => new RawInflater(7), RangeError);
  throws(() => new RawInflater(16), RangeError);
});

Deno.test("RawInflater.pull() produces output in pieces of at most 64 KiB and at most maxBytes", () => {
  const d = new RawDeflater();
  const i = new RawInflater();
  const data = text(1_000_000);
  i.push(d.compress(data), true);
  let total = 0;
  let steps = 0;
  for (;;) {
    const max = steps % 2 === 0 ? MAX_STEP_OUTPUT * 4 : 1000;
    const got = i.pull(max);
    if (got === null) break;
    ok(got instanceof Uint8Array);
    ok(got.length > 0 && got.length <= Math.min(max, MAX_STEP_OUTPUT), `${got.length}`);
    deepEqual(got, data.subarray(total, total + got.length));
    total += got.length;
    steps++;
  }
  equal(total, data.length);
  ok(steps >= 16, `${steps} steps`);
  d.close();
  i.close();
});

Deno.test("RawInflater.inflate() allows exactly maxOutput and stops one byte past it", () => {
  const d = new RawDeflater();
  const i = new RawInflater();
  for (const size of [0, 1, 1000, MAX_STEP_OUTPUT, MAX_STEP_OUTPUT + 1, 200_000]) {
    const c = d.compress(new Uint8Array(size));
    deepEqual(i.inflate(c, size), new Uint8Array(size));
    if (size > 0) {
      // the inflater lost its window: start a fresh pair
      deepEqual(i.inflate(d.compress(new Uint8Array(size)), size - 1), {
        kind: "too-big",
        limit: size - 1,
      });
      d.reset();
    }
  }
  d.close();
  i.close();
});

Deno.test("RawInflater.inflate() reports invalid data and works again after it", () => {
  const i = new RawInflater();
  const r = i.inflate([new Uint8Array([0x05]), new Uint8Array([0xff, 0xff, 0xff])], 100);
  equal(kind(r), "invalid");
  ok(!(r instanceof Uint8Array) && r.kind === "invalid" && r.reason.length > 0);
  const d = new RawDeflater();
  deepEqual(i.inflate(d.compress(text(100)), 100), text(100));
  d.close();
  i.close();
});

Deno.test("RawInflater.push() refuses new input while output is pending", () => {
  const d = new RawDeflater();
  const i = new RawInflater();
  i.push(d.compress(text(200_000)), true);
  ok(i.pull(1000) instanceof Uint8Array);
  throws(() => i.push(new Uint8Array([0]), true), /not consumed/);
  i.reset();
  i.push(new Uint8Array([0]), true);
  equal(kind(i.pull(10)), "null");
  d.close();
  i.close();
  throws(() => i.pull(10), /closed/);
});

Deno.test("liveStreams() counts open deflaters and inflaters", () => {
  const base = liveStreams();
  const d = new RawDeflater();
  const i = new RawInflater(9);
  equal(liveStreams(), base + 2);
  d.close();
  i.close();
  i.close();
  equal(liveStreams(), base);
});

Deno.test("RawInflater.inflate() survives corrupted input: data, invalid or too-big, never a throw", () => {
  const d = new RawDeflater();
  const i = new RawInflater(10);
  let a = 12345;
  const next = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0);
  const seen = new Set<string>();
  for (let k = 0; k < 500; k++) {
    const msg = k % 2 === 0 ? text(100 + (next() % 5000)) : random(100 + (next() % 5000), k);
    const c = d.compress(msg).slice();
    d.reset();
    // flip 1-4 random bits
    for (let f = 0, n = 1 + (next() % 4); f < n; f++) {
      const bit = next() % (c.length * 8);
      c[bit >> 3]! ^= 1 << (bit & 7);
    }
    const r = i.inflate(c, 8192);
    seen.add(kind(r));
    i.reset();
  }
  ok(seen.has("invalid"), [...seen].join());
  // still sound afterwards
  deepEqual(i.inflate(d.compress(text(300)), 1000), text(300));
  d.close();
  i.close();
});
