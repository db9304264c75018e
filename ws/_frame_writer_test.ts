import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { FrameWriter } from "./_frame_writer.ts";

/** A connection whose writes settle when the test says, taking at most `max` bytes each. */
class Conn {
  writes: number[][] = [];
  #pending: { p: Uint8Array; resolve: (n: number) => void; reject: (e: unknown) => void }[] = [];
  constructor(readonly max = Infinity) {}
  write(p: Uint8Array): Promise<number> {
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#pending.push({ p: p.slice(), resolve, reject });
    return promise;
  }
  get waiting(): number {
    return this.#pending.length;
  }
  /** Settles the oldest write: accepts up to `max` bytes, or fails. */
  async settle(fail = false): Promise<void> {
    const w = this.#pending.shift()!;
    if (fail) {
      w.reject(new Error("broken pipe"));
    } else {
      const n = Math.min(this.max, w.p.length);
      this.writes.push([...w.p.subarray(0, n)]);
      w.resolve(n);
    }
    for (let i = 0; i < 3; i++) await Promise.resolve();
  }
}

function stage(w: FrameWriter, bytes: number[]): void {
  const at = w.reserve(bytes.length);
  w.buf.set(bytes, at);
}

Deno.test("FrameWriter.flush() writes what is staged in one write, and meanwhile staged bytes in the next", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  stage(w, [1, 2]);
  stage(w, [3]);
  const first = w.flush();
  equal(w.writing, true);
  stage(w, [4]);
  w.write(new Uint8Array([5, 6]));
  equal(w.buffered, 6);
  const second = w.flush();
  equal(second, first); // one waiter per write loop
  await conn.settle();
  equal(conn.waiting, 1); // the staged bytes went at once
  await conn.settle();
  await first;
  deepEqual(conn.writes, [[1, 2, 3], [4, 5, 6]]);
  equal(w.buffered, 0);
  equal(w.writing, false);
  equal(w.buf.length, 0); // an idle writer holds no buffer
});

Deno.test("FrameWriter.flush() goes on after a partial write", async () => {
  const conn = new Conn(2);
  const w = new FrameWriter(conn, () => {});
  stage(w, [1, 2, 3, 4, 5]);
  const done = w.flush();
  await conn.settle();
  equal(w.buffered, 3);
  await conn.settle();
  await conn.settle();
  await done;
  deepEqual(conn.writes, [[1, 2], [3, 4], [5]]);
});

Deno.test("FrameWriter.flush() resolves at once with nothing staged", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  await w.flush();
  equal(conn.waiting, 0);
});

Deno.test("FrameWriter.done() resolves after the kick()ed write", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  stage(w, [7]);
  let resolved = false;
  const done = w.done().then(() => resolved = true);
  await Promise.resolve();
  equal(conn.waiting, 0); // done() starts nothing
  w.kick();
  equal(conn.waiting, 1);
  await conn.settle();
  await done;
  equal(resolved, true);
});

Deno.test("FrameWriter.flush() reports a failed write once and resolves its waiters", async () => {
  const conn = new Conn();
  const errors: string[] = [];
  const w = new FrameWriter(conn, (e) => errors.push((e as Error).message));
  stage(w, [1]);
  const done = w.flush();
  stage(w, [2]);
  await conn.settle(true);
  await done;
  deepEqual(errors, ["broken pipe"]);
  equal(w.buffered, 0); // the staged bytes were dropped
  equal(w.writing, false);
  equal(conn.waiting, 0);
});

Deno.test("FrameWriter.close() drops staged bytes and resolves a waiter with no write in flight", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  stage(w, [1]);
  const done = w.done();
  w.close();
  await done;
  equal(w.buffered, 0);
  equal(w.pending(), null);
  await w.flush();
  equal(conn.waiting, 0);
});

Deno.test("FrameWriter.close() lets the write in flight finish", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  stage(w, [1]);
  w.flush();
  stage(w, [2]);
  w.close();
  const pending = w.pending()!;
  await conn.settle();
  await pending;
  deepEqual(conn.writes, [[1]]);
  equal(conn.waiting, 0);
});

Deno.test("FrameWriter.reserve() grows past the pooled size keeping what is staged", async () => {
  const conn = new Conn();
  const w = new FrameWriter(conn, () => {});
  stage(w, [9]);
  const at = w.reserve(40000);
  equal(at, 1);
  equal(w.buf[0], 9);
  equal(w.buffered, 40001);
  const done = w.flush();
  await conn.settle();
  await done;
  equal(conn.writes[0]!.length, 40001);
});

Deno.test("FrameWriter.reserve() keeps view a DataView of buf, through pooled, reused and grown buffers", async () => {
  const conn = new Conn();
  const writers = [new FrameWriter(conn, () => {}), new FrameWriter(conn, () => {})];
  // Staging sizes that take pooled buffers, grow past them, and come back.
  const table = [4, 100, 20000, 8, 70000, 16];
  for (let round = 0; round < 3; round++) {
    for (const n of table) {
      for (const w of writers) {
        const at = w.reserve(n);
        equal(w.view.buffer, w.buf.buffer, `round ${round}, ${n} bytes`);
        equal(w.view.byteOffset, w.buf.byteOffset);
        equal(w.view.byteLength, w.buf.byteLength);
        // A word stored through the view lands in buf.
        w.view.setInt32(at, 0x04030201, true);
        deepEqual([...w.buf.subarray(at, at + 4)], [1, 2, 3, 4]);
        w.kick();
        await conn.settle();
        equal(w.buffered, 0);
      }
    }
  }
});

Deno.test("FrameWriter: 100 writers of a little over 16 KiB each get their buffers back from the pool", async () => {
  // 16 replies of 1 KiB (plus headers) at once outgrow the pooled 16 KiB
  // buffers; 100 such writers in flight must not allocate new 32 KiB
  // buffers (and their views) on every flush once the pool holds them.
  const seen = new Set<ArrayBufferLike>();
  const round = async (): Promise<number> => {
    const resolvers: ((n: number) => void)[] = [];
    let fresh = 0;
    const conn = {
      write(p: Uint8Array): Promise<number> {
        if (!seen.has(p.buffer)) fresh++;
        seen.add(p.buffer);
        const { promise, resolve } = Promise.withResolvers<number>();
        resolvers.push(() => resolve(p.length));
        return promise;
      },
    };
    const writers = Array.from({ length: 100 }, () => new FrameWriter(conn, () => {}));
    const done = writers.map((w) => {
      for (let i = 0; i < 16; i++) w.reserve(1028);
      return w.flush();
    });
    for (const r of resolvers) r(0);
    await Promise.all(done);
    return fresh;
  };
  await round();
  equal(await round(), 0);
});
