import {
  deepStrictEqual as assertEquals,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { BufReader } from "./buf_reader.ts";
import { BufferLimitError, StreamClosedError, UnexpectedEofError } from "./errors.ts";
import { ChunkReader, dec, enc, splitAt } from "./_test_util.ts";

const CRLF = enc("\r\n");

Deno.test("BufReader.readUntil() finds a delimiter split across reads", async () => {
  const br = new BufReader(new ChunkReader([enc("abc\r"), enc("\ndef\r\n")]));
  assertEquals(dec((await br.readUntil(CRLF, 100))!), "abc\r\n");
  assertEquals(dec((await br.readUntil(CRLF, 100))!), "def\r\n");
  assertEquals(await br.readUntil(CRLF, 100), null);
});

Deno.test("BufReader.readUntil() throws BufferLimitError past maxBytes", async () => {
  const br = new BufReader(new ChunkReader([enc("x".repeat(50)), enc("x".repeat(50))]));
  await assertRejects(() => br.readUntil(CRLF, 64), BufferLimitError);
});

Deno.test("BufReader.readUntil() rejects a delimiter that ends past maxBytes", async () => {
  const br = new BufReader(new ChunkReader([enc("abcd\r\n")]));
  await assertRejects(() => br.readUntil(CRLF, 5), BufferLimitError);
});

Deno.test("BufReader.readUntil() throws UnexpectedEofError on a partial line", async () => {
  const br = new BufReader(new ChunkReader([enc("partial")]));
  await assertRejects(() => br.readUntil(CRLF, 100), UnexpectedEofError);
});

Deno.test("BufReader.readExactly() grows past the initial size", async () => {
  const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const br = new BufReader(new ChunkReader(splitAt(data, [1, 7000, 50000])), { initialSize: 64 });
  const got = await br.readExactly(100_000);
  assertEquals(got, data);
  assertEquals(await br.readSome(), null);
});

Deno.test("BufReader.readExactly() throws UnexpectedEofError with the count received", async () => {
  const br = new BufReader(new ChunkReader([enc("abc")]));
  await assertRejects(() => br.readExactly(10), (err: unknown) => {
    return err instanceof UnexpectedEofError && err.received === 3;
  });
});

Deno.test("BufReader prefix bytes come before the reader's", async () => {
  const br = new BufReader(new ChunkReader([enc("world")]), { prefix: enc("hello ") });
  assertEquals(dec(await br.readExactly(11)), "hello world");
});

Deno.test("BufReader.detach() returns the unconsumed bytes in order and stops reading", async () => {
  const reader = new ChunkReader([enc("HEAD\r\n\r\nframe1"), enc("frame2")]);
  const br = new BufReader(reader);
  await br.readUntil(enc("\r\n\r\n"), 100);
  const { conn, buffered } = br.detach();
  assertEquals(conn, reader);
  assertEquals(dec(buffered), "frame1");
  await assertRejects(() => br.fill(), StreamClosedError);
  assertThrows(() => br.detach(), StreamClosedError);
});

Deno.test("BufReader.consume() rejects more than is buffered", () => {
  const br = new BufReader(new ChunkReader([]), { prefix: enc("ab") });
  assertThrows(() => br.consume(3), RangeError);
  br.consume(2);
  assertEquals(br.buffered, 0);
});

Deno.test("BufReader shrinks back after a burst followed by small reads", async () => {
  const big = new Uint8Array(40_000);
  const small = [..."abcde"].map(enc);
  const br = new BufReader(new ChunkReader([big, ...small]), { initialSize: 1024 });
  await br.readExactly(40_000);
  assert(br.capacity > 1024);
  for (let i = 0; i < 4; i++) {
    await br.readExactly(1); // small reads into the big buffer: no shrink yet
    assert(br.capacity > 1024);
  }
  await br.readExactly(1); // drained after 4 small reads in a row: shrinks before reading
  assertEquals(br.capacity, 1024);
});

function assert(cond: boolean): asserts cond {
  if (!cond) throw new Error("assertion failed");
}

Deno.test("BufReader property: any split of lines reads back the same lines", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.stringMatching(/^[a-z]{0,40}$/), { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(2000)),
      fc.integer({ min: 16, max: 256 }),
      async (lines, cuts, initialSize) => {
        const data = enc(lines.map((l) => l + "\r\n").join(""));
        const br = new BufReader(new ChunkReader(splitAt(data, cuts)), { initialSize });
        const got: string[] = [];
        for (let line; (line = await br.readUntil(CRLF, 100)) !== null;) {
          got.push(dec(line).slice(0, -2));
        }
        assertEquals(got, lines);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("BufReader does not thrash when large and small reads alternate", async () => {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) chunks.push(new Uint8Array(1024), new Uint8Array(100));
  const br = new BufReader(new ChunkReader(chunks), { initialSize: 1024 });
  const caps = new Set<number>();
  while ((await br.readSome()) !== null) caps.add(br.capacity);
  // It grows once and stays: no reallocation per request.
  assert(caps.size <= 2);
});

Deno.test("BufReader grows while reads fill a drained buffer", async () => {
  const chunks = Array.from({ length: 8 }, () => new Uint8Array(64 * 1024));
  const reader = new ChunkReader(chunks);
  const br = new BufReader(reader, { initialSize: 1024, maxReadSize: 65536 });
  let total = 0;
  for (let got; (got = await br.readSome()) !== null;) total += got.length;
  assertEquals(total, 8 * 64 * 1024);
  // Doubling from 1 KiB to 64 KiB takes 6 reads; the rest are full-size.
  assert(reader.reads <= 20);
});

Deno.test("BufReader.beginFill() and endFill() read what fill() reads, split any way", async () => {
  const text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(40);
  const cases: [string, number[]][] = [
    ["whole", [text.length]],
    ["byte by byte", Array.from({ length: 64 }, () => 1)],
    ["uneven", [3, 500, 17, 1]],
  ];
  for (const [what, sizes] of cases) {
    let at = 0;
    const chunks = splitAt(enc(text), sizes.map((n) => at += n));
    const a = new BufReader(new ChunkReader(chunks), { initialSize: 16 });
    const b = new BufReader(new ChunkReader(chunks), { initialSize: 16 });
    const na: (number | null)[] = [];
    const nb: (number | null)[] = [];
    for (;;) {
      na.push(await a.fill());
      nb.push(b.endFill(await b.beginFill()));
      assertEquals([b.buffered, b.capacity, b.eof], [a.buffered, a.capacity, a.eof], what);
      if (na.at(-1) === null) break;
      // Consume a little, as a parser would: room is made the same way.
      a.consume(Math.min(5, a.buffered));
      b.consume(Math.min(5, b.buffered));
    }
    assertEquals(nb, na, what);
    assertEquals(dec(b.peek()), dec(a.peek()), what);
    // At end of stream both resolve null again; detached, both reject.
    assertEquals(b.endFill(await b.beginFill()), null);
    b.detach();
    await assertRejects(() => b.beginFill(), StreamClosedError);
  }
});

Deno.test("BufReader.peek() views at most max bytes from the first unconsumed one", async () => {
  const br = new BufReader(new ChunkReader([enc("abcdef")]));
  await br.fill();
  br.consume(1);
  const rows: [number | undefined, string][] = [
    [undefined, "bcdef"],
    [0, ""],
    [2, "bc"],
    [5, "bcdef"],
    [100, "bcdef"],
  ];
  for (const [max, want] of rows) assertEquals(dec(br.peek(max)), want, String(max));
  assertEquals(br.buffered, 5);
});

Deno.test("BufReader.bytes and offset name the bytes peek() views, through consumes, compaction and growth", async () => {
  const data = "0123456789abcdefghij".repeat(3);
  const br = new BufReader(new ChunkReader(splitAt(enc(data), [3, 10, 27, 40, 58])), {
    initialSize: 16,
  });
  let seen = "";
  const view = () => dec(br.bytes.subarray(br.offset, br.offset + br.buffered));
  while ((await br.fill()) !== null) {
    assertEquals(view(), dec(br.peek()));
    // Consume all but the last byte: the next fill compacts or grows.
    const n = Math.max(0, br.buffered - 1);
    seen += view().slice(0, n);
    br.consume(n);
    assertEquals(view(), dec(br.peek()));
  }
  seen += view();
  assertEquals(seen, data);
});
