import {
  deepStrictEqual as assertEquals,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import { BufWriter } from "./buf_writer.ts";
import { StreamClosedError } from "./errors.ts";
import { dec, enc, RecordingWriter } from "./_test_util.ts";

Deno.test("BufWriter.flush() writes staged bytes in one call", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  w.write(enc("a"));
  w.writeLatin1("bc");
  w.reserve(2).set(enc("de"));
  await w.flush();
  assertEquals(sink.calls.length, 1);
  assertEquals(dec(sink.bytes), "abcde");
});

Deno.test("BufWriter.flush() loops over partial writes", async () => {
  const sink = new RecordingWriter(3);
  const w = new BufWriter(sink);
  w.write(enc("0123456789"));
  await w.flush();
  assertEquals(dec(sink.bytes), "0123456789");
  assertEquals(sink.calls.length, 4);
  assertEquals(w.buffered, 0);
});

Deno.test("BufWriter coalesces writes made during a flush into the next syscall", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  w.write(enc("first"));
  const p1 = w.flush();
  w.write(enc("second"));
  w.write(enc("third"));
  const p2 = w.flush();
  assertEquals(p1 === p2, true);
  await p2;
  assertEquals(sink.calls.map(dec), ["first", "secondthird"]);
});

Deno.test("BufWriter.buffered counts staged and in-flight bytes", async () => {
  let release!: (n: number) => void;
  const sink = {
    write: (p: Uint8Array) => new Promise<number>((r) => (release = () => r(p.length))),
  };
  const w = new BufWriter(sink);
  w.write(new Uint8Array(10));
  const p = w.flush();
  w.write(new Uint8Array(5));
  assertEquals(w.buffered, 15);
  release(10);
  await new Promise((r) => setTimeout(r, 0));
  release(5);
  await p;
  assertEquals(w.buffered, 0);
});

Deno.test("BufWriter grows for writes larger than its buffer", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink, { bufferSize: 64 });
  const big = new Uint8Array(1000).map((_, i) => i & 0xff);
  w.write(enc("x"));
  w.write(big);
  await w.flush();
  assertEquals(sink.bytes.length, 1001);
  assertEquals(sink.bytes.subarray(1), big);
});

Deno.test("BufWriter reuses a grown buffer once it was written", async () => {
  const buffers: ArrayBufferLike[] = [];
  const sink = {
    write(p: Uint8Array): Promise<number> {
      buffers.push(p.buffer);
      return Promise.resolve(p.length);
    },
  };
  const w = new BufWriter(sink, { bufferSize: 64 });
  const big = new Uint8Array(1000).fill(7);
  for (let i = 0; i < 3; i++) {
    w.write(big);
    await w.flush();
  }
  assertEquals(buffers.length, 3);
  assertEquals(buffers[0]!.byteLength, 1024);
  assertEquals(buffers[1] === buffers[0] && buffers[2] === buffers[0], true);
});

Deno.test("BufWriter.flush() rejects after a failed write and later writes throw", async () => {
  const sink = new RecordingWriter();
  sink.fail = new Deno.errors.BrokenPipe("gone");
  const w = new BufWriter(sink);
  w.write(enc("x"));
  await assertRejects(() => w.flush(), (err: unknown) => {
    return err instanceof StreamClosedError && err.cause === sink.fail;
  });
  assertThrows(() => w.write(enc("y")), StreamClosedError);
  await assertRejects(() => w.flush(), StreamClosedError);
});

Deno.test("BufWriter.close() drops staged bytes and refuses writes", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  w.write(enc("x"));
  w.close();
  assertEquals(w.buffered, 0);
  await w.flush();
  assertEquals(sink.calls.length, 0);
  assertThrows(() => w.write(enc("y")), StreamClosedError);
});

Deno.test("BufWriter.writeLatin1() replaces characters above 0xFF", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  w.writeLatin1("a\u00e9\u20ac");
  await w.flush();
  assertEquals([...sink.bytes], [0x61, 0xe9, 0x3f]);
});

Deno.test("utf8Length() matches TextEncoder for mixed and broken strings", async () => {
  const { utf8Length } = await import("./buf_writer.ts");
  const fc = (await import("npm:fast-check@4.10.2")).default;
  const enc = new TextEncoder();
  for (
    const s of ["", "abc", "\u00e9", "\u2603", "\u{1F600}", "\ud800", "\udc00x", "a\ud800\ud800b"]
  ) {
    assertEquals(utf8Length(s), enc.encode(s).length);
  }
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => utf8Length(s) === enc.encode(s).length),
  );
});

Deno.test("BufWriter.writeUtf8() encodes in place and rejects a wrong length", async () => {
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  w.writeUtf8("h\u00e9", 3);
  assertThrows(() => w.writeUtf8("h\u00e9", 2), RangeError);
  w.writeLatin1("0123456789abcdef-ascii-long-enough");
  w.writeLatin1("0123456789abcdef-latin1-\u00e9\u00ff");
  await w.flush();
  const bytes = sink.bytes;
  assertEquals([...bytes.subarray(0, 3)], [0x68, 0xc3, 0xa9]);
  assertEquals(dec(bytes.subarray(3, 37)), "0123456789abcdef-ascii-long-enough");
  assertEquals([...bytes.subarray(bytes.length - 2)], [0xe9, 0xff]);
  assertEquals(bytes.length, 3 + 34 + 26);
});

Deno.test("BufWriter.startFlush() writes in the background and tells its listener once", async () => {
  // [what, max bytes per write, fail the write, stage more during the flush, expected writes]
  const cases: [string, number, boolean, boolean, string[]][] = [
    ["one write", Infinity, false, false, ["hello"]],
    ["short writes", 2, false, false, ["he", "ll", "o"]],
    ["staged meanwhile", Infinity, false, true, ["hello", "more"]],
    ["a failed write", Infinity, true, false, []],
  ];
  for (const [what, max, fail, more, writes] of cases) {
    const sink = new RecordingWriter(max);
    if (fail) sink.fail = new Error("reset");
    const w = new BufWriter(sink);
    let told = 0;
    const over = Promise.withResolvers<void>();
    const listener = {
      flushed() {
        told++;
        over.resolve();
      },
    };
    w.write(enc("hello"));
    w.startFlush(listener);
    assertEquals(w.flushing, true, what);
    if (more) w.write(enc("more"));
    await over.promise;
    assertEquals([told, w.buffered, w.flushing], [1, 0, false], what);
    assertEquals(sink.calls.map(dec), writes, what);
    if (fail) {
      // No unhandled rejection; the next write and flush report the failure.
      assertThrows(() => w.write(enc("x")), StreamClosedError, what);
      await assertRejects(() => w.flush(), (e: Error) => e.cause === sink.fail, what);
    } else {
      await w.flush();
    }
  }
});

Deno.test("BufWriter.flush() during startFlush() shares it and rejects when it fails", async () => {
  const sink = new RecordingWriter();
  sink.fail = new Error("reset");
  const w = new BufWriter(sink);
  w.write(enc("a"));
  w.startFlush();
  const p1 = w.flush();
  assertEquals(p1 === w.flush(), true);
  await assertRejects(
    () => p1,
    (e: Error) => e instanceof StreamClosedError && e.cause === sink.fail,
  );
  // Nothing staged: the listener is told at once.
  const w2 = new BufWriter(new RecordingWriter());
  let told = 0;
  w2.startFlush({ flushed: () => told++ });
  assertEquals(told, 1);
});

Deno.test("BufWriter.flush() writes each flush's bytes, however lengths repeat", async () => {
  // Flushes of one length reuse the view of the last; the bytes must be each flush's own.
  const sink = new RecordingWriter();
  const w = new BufWriter(sink);
  const texts = ["aaaa", "bbbb", "cc", "dddd", "eeee", "x".repeat(20000), "ffff", "gggg"];
  for (const t of texts) {
    w.write(enc(t));
    await w.flush();
  }
  assertEquals(sink.calls.map(dec), texts);
  // And from writers of one process sharing the pool, interleaved.
  const sink2 = new RecordingWriter();
  const w2 = new BufWriter(sink2);
  for (const [i, t] of ["1111", "2222", "3333"].entries()) {
    w.write(enc(t));
    w2.write(enc(t.repeat(2)));
    await Promise.all(i % 2 ? [w2.flush(), w.flush()] : [w.flush(), w2.flush()]);
  }
  assertEquals(sink.calls.slice(texts.length).map(dec), ["1111", "2222", "3333"]);
  assertEquals(sink2.calls.map(dec), ["11111111", "22222222", "33333333"]);
});
