// How many reads a session makes for its messages, and into what buffers.
// A message of a few KiB must not cost a read of its own when many wait
// (they arrive several per read once the read buffer has grown), while a
// large one is read straight into its message buffer, unless it is lent
// (borrowMessages) and comes one at a time: then the read buffer grows to
// hold one whole, and the next ones take one read each and are lent from
// it. Large lent frames sent back to back would be split by a buffer of one
// frame's size, so there the session goes back to reading them straight
// into their messages.
import { deepStrictEqual as deepEqual, ok } from "node:assert/strict";
import { concat } from "../core/_test_util.ts";
import { buildFrame } from "./frame_builder.ts";
import { type WebSocketHandler, WebSocketSession } from "./session.ts";

/** What a connection saw of its reads: bytes, and the size of the buffer each read went into. */
interface ReadLog {
  reads: number[];
  buffers: number[];
}

/** A connection with `input` waiting: each read takes as much as fits. */
class WaitingConn implements ReadLog {
  reads: number[] = [];
  buffers: number[] = [];
  #input: Uint8Array;
  constructor(input: Uint8Array) {
    this.#input = input;
  }
  read(p: Uint8Array): Promise<number | null> {
    if (this.#input.length === 0) return Promise.resolve(null);
    const n = Math.min(p.length, this.#input.length);
    p.set(this.#input.subarray(0, n));
    this.#input = this.#input.subarray(n);
    this.reads.push(n);
    this.buffers.push(p.buffer.byteLength);
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A connection whose peer sends its messages one at a time: the next only
 * once the handler got the one before (`next()`), as an echo client with
 * one message in flight does. A read never takes bytes of the next message.
 * `firstPiece` cuts some messages in two: their first read returns at most
 * that many bytes (a frame that arrives in two pieces).
 */
class LockStepConn implements ReadLog {
  reads: number[] = [];
  buffers: number[] = [];
  #messages: Uint8Array[];
  #firstPiece: Map<number, number>;
  #index = -1;
  #current: Uint8Array = new Uint8Array(0);
  #cut = false;
  #released = 1;
  #waiting: (() => void) | null = null;
  constructor(messages: Uint8Array[], firstPiece: Map<number, number> = new Map()) {
    this.#messages = messages;
    this.#firstPiece = firstPiece;
  }
  /** The handler got a message: the peer sends its next one. */
  next(): void {
    this.#released++;
    const w = this.#waiting;
    this.#waiting = null;
    w?.();
  }
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#current.length === 0) {
      if (this.#index + 1 >= this.#messages.length) return null;
      if (this.#released === 0) {
        await new Promise<void>((resolve) => this.#waiting = resolve);
        continue;
      }
      this.#released--;
      this.#current = this.#messages[++this.#index]!;
      this.#cut = this.#firstPiece.has(this.#index);
    }
    let n = Math.min(p.length, this.#current.length);
    if (this.#cut) {
      n = Math.min(n, this.#firstPiece.get(this.#index)!);
      this.#cut = false;
    }
    p.set(this.#current.subarray(0, n));
    this.#current = this.#current.subarray(n);
    this.reads.push(n);
    this.buffers.push(p.buffer.byteLength);
    return n;
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counts the messages and their bytes, and the size of the buffer each was lent from. */
class Count implements WebSocketHandler {
  messages = 0;
  bytes = 0;
  buffers: number[] = [];
  /** The buffer each binary message was lent from (or owned). */
  owners: ArrayBufferLike[] = [];
  #onEach: () => void;
  constructor(onEach: () => void) {
    this.#onEach = onEach;
  }
  onMessage(_ws: WebSocketSession, data: string | Uint8Array): void {
    this.messages++;
    this.bytes += data.length;
    if (typeof data !== "string") {
      this.buffers.push(data.buffer.byteLength);
      this.owners.push(data.buffer);
    }
    this.#onEach();
  }
}

/** A masked frame (binary, or text) of `size` bytes. */
function frame(size: number, text: boolean): Uint8Array {
  return buildFrame(text ? 1 : 2, new Uint8Array(size).fill(0x61), { mask: true });
}

const CLOSE = buildFrame(8, new Uint8Array([0x03, 0xe8]), { mask: true });

/** `count` frames of `size` bytes, then a close, as one stream. */
function stream(count: number, size: number, text: boolean): Uint8Array {
  return concat(...Array.from({ length: count }, () => frame(size, text)), CLOSE);
}

/** A binary message of `size` bytes in `parts` masked frames. */
function fragmented(size: number, parts: number): Uint8Array {
  const piece = new Uint8Array(size / parts).fill(0x62);
  return concat(
    ...Array.from(
      { length: parts },
      (_, i) => buildFrame(i === 0 ? 2 : 0, piece, { mask: true, fin: i === parts - 1 }),
    ),
  );
}

/**
 * Runs a session over `conn` until the peer's close; a one-at-a-time
 * peer's next message follows each one the handler got. Returns the handler.
 */
async function runSession(
  conn: WaitingConn | LockStepConn,
  borrowMessages: boolean,
): Promise<Count> {
  const handler = new Count(() => conn instanceof LockStepConn && conn.next());
  const session = new WebSocketSession(
    conn as unknown as Deno.Conn,
    new Uint8Array(0),
    handler,
    { idleTimeout: 0, borrowMessages },
  );
  await session.run();
  return handler;
}

/** The reads a connection saw, for assertion messages. */
function logOf(conn: ReadLog): string {
  return `${conn.reads.length} reads: ${conn.reads.join(", ")}; into ${conn.buffers.join(", ")}`;
}

interface Case {
  name: string;
  size: number;
  count: number;
  /** The peer sends one frame at a time (LockStepConn) rather than all at once. */
  lockStep?: boolean;
  text?: boolean;
  borrowMessages?: boolean;
  maxReads: number;
  /** The largest buffer any read may go into (read buffer or message buffer). */
  maxBuffer: number;
  /** Binary messages after the first two: lent from a buffer of this size. */
  lentFrom?: number;
  /** The most reads into a buffer over 64 KiB (a read buffer grown for whole frames). */
  maxGrownReads?: number;
}

const CASES: Case[] = [
  // 64 messages of 1 KiB (66 KiB): 256 bytes, then doubling up to 64 KiB:
  // 10 reads at most (it was two per message, 128, before the fix).
  { name: "small, waiting", size: 1024, count: 64, maxReads: 10, maxBuffer: 65536 },
  { name: "mid-size, waiting", size: 4000, count: 32, maxReads: 12, maxBuffer: 65536 },
  // 64 KiB messages of the caller's own go straight into their message
  // buffers: a read of the header (into the 256-byte buffer), then one of
  // the rest, per message. The read buffer never grows for them.
  { name: "owned, waiting", size: 65536, count: 4, maxReads: 9, maxBuffer: 65536 },
  {
    name: "owned, one at a time",
    size: 65536,
    count: 4,
    lockStep: true,
    maxReads: 9,
    maxBuffer: 65536,
  },
  // Owned text too: it lets its buffer go once decoded, and an idle
  // connection keeps only its small read buffer.
  {
    name: "owned text, one at a time",
    size: 65536,
    count: 4,
    lockStep: true,
    text: true,
    maxReads: 9,
    maxBuffer: 65536,
  },
  // Lent, one at a time: the first message goes straight into its buffer
  // (two reads), then the read buffer holds one frame whole (65,550 bytes in
  // 69,632): 2 + 7 + the close, and messages 2-8 are lent from it.
  {
    name: "lent, one at a time",
    size: 65536,
    count: 8,
    lockStep: true,
    borrowMessages: true,
    maxReads: 10,
    maxBuffer: 69632,
    lentFrom: 69632,
  },
  {
    name: "lent text, one at a time",
    size: 65536,
    count: 8,
    lockStep: true,
    text: true,
    borrowMessages: true,
    maxReads: 10,
    maxBuffer: 69632,
  },
  // Lent, back to back: the grown buffer's first read ends inside the next
  // frame, and the session goes back to reading straight into the messages
  // (a 1 KiB read buffer, then the rest): two reads per message, and the
  // messages from the session's one message buffer again.
  {
    name: "lent, waiting",
    size: 65536,
    count: 8,
    borrowMessages: true,
    maxReads: 16,
    maxBuffer: 69632,
    lentFrom: 65536,
    maxGrownReads: 1,
  },
  // Past the cap (a 256 KiB payload) a frame goes straight into its message
  // every time: two reads per message, no read buffer that size.
  {
    name: "lent, over the cap",
    size: 300_000,
    count: 3,
    lockStep: true,
    borrowMessages: true,
    maxReads: 7,
    maxBuffer: 300_000,
  },
];

for (const c of CASES) {
  const { size, count, text = false, borrowMessages = false } = c;
  Deno.test(`WebSocketSession.run() reads ${count} ${size}-byte messages (${c.name}) in at most ${c.maxReads} reads`, async () => {
    const conn = c.lockStep
      ? new LockStepConn([...Array.from({ length: count }, () => frame(size, text)), CLOSE])
      : new WaitingConn(stream(count, size, text));
    const handler = await runSession(conn, borrowMessages);
    deepEqual([handler.messages, handler.bytes], [count, count * size]);
    const log = logOf(conn);
    ok(conn.reads.length <= c.maxReads, log);
    ok(Math.max(...conn.buffers) <= c.maxBuffer, log);
    if (c.maxGrownReads !== undefined) {
      ok(conn.buffers.filter((b) => b > 65536).length <= c.maxGrownReads, log);
    }
    if (c.lentFrom !== undefined) {
      deepEqual(handler.buffers.slice(2), Array(count - 2).fill(c.lentFrom), log);
    }
  });
}

Deno.test("WebSocketSession.run() grows the read buffer again for a larger lent frame, one at a time", async () => {
  // Three 64 KiB messages, then four of 100,000 bytes. The first larger one
  // fills the 69,632-byte buffer and is read to its end in a buffer with
  // room for the next (102,400 bytes); the other three take one read each.
  const sizes = [65536, 65536, 65536, 100_000, 100_000, 100_000, 100_000];
  const conn = new LockStepConn([...sizes.map((n) => frame(n, false)), CLOSE]);
  const handler = await runSession(conn, true);
  const log = logOf(conn);
  deepEqual(handler.bytes, sizes.reduce((a, b) => a + b), log);
  ok(conn.reads.length <= 10, log);
  deepEqual(handler.buffers.slice(4), [102400, 102400, 102400], log);
});

Deno.test("WebSocketSession.run() keeps one large buffer, not a read buffer and a message buffer", async () => {
  // 1-3: 64 KiB (the first through a message buffer, then the read buffer
  // grows); 4: 64 KiB in two frames (a new message buffer: the first one
  // went when the read buffer grew); 5-8: 100,000 bytes (the 5th through a
  // message buffer of its own, the read buffer grows again); 9: 100,000
  // bytes in two frames (a new message buffer again: the 5th's went once
  // that message was over).
  const messages = [
    ...[65536, 65536, 65536].map((n) => frame(n, false)),
    fragmented(65536, 2),
    ...[100_000, 100_000, 100_000, 100_000].map((n) => frame(n, false)),
    fragmented(100_000, 2),
    CLOSE,
  ];
  const conn = new LockStepConn(messages);
  const handler = await runSession(conn, true);
  const log = logOf(conn);
  deepEqual(handler.messages, 9, log);
  ok(handler.owners[3] !== handler.owners[0], `4th lent from the 1st's buffer; ${log}`);
  ok(handler.owners[8] !== handler.owners[4], `9th lent from the 5th's buffer; ${log}`);
  deepEqual(handler.buffers.slice(5, 8), [102400, 102400, 102400], log);
});

Deno.test("WebSocketSession.run() reads the rest of a frame split by a grown buffer straight into its message", async () => {
  // 18,000-byte frames back to back: the grown buffer (20,480 bytes) takes
  // the 2nd frame and the first 2,464 bytes of the 3rd, whose other 15,536
  // payload bytes (under 16 KiB) go straight into its message in one read:
  // 2 + 1 + 1, then a 1 KiB read and the rest per message, and the close.
  const conn = new WaitingConn(stream(8, 18_000, false));
  const handler = await runSession(conn, true);
  deepEqual(handler.bytes, 8 * 18_000);
  ok(conn.reads.length <= 15, logOf(conn));
  // The 4th read is the rest of the 3rd frame, into its message buffer.
  deepEqual([conn.reads[3], conn.buffers[3]], [15536, 18000], logOf(conn));
});

Deno.test("WebSocketSession.run() keeps whole-frame reads after a frame that arrived in two pieces", async () => {
  // One at a time, the 3rd and 4th in two pieces each (half a frame first):
  // 2 reads for the 1st, 2 each for the 3rd and 4th, 1 for every other and
  // the close. A partial read is not frames sent back to back.
  const messages = [...Array.from({ length: 8 }, () => frame(65536, false)), CLOSE];
  const conn = new LockStepConn(messages, new Map([[2, 32768], [3, 32768]]));
  const handler = await runSession(conn, true);
  deepEqual(handler.messages, 8);
  ok(conn.reads.length <= 12, logOf(conn));
});

Deno.test("WebSocketSession.run() reuses its message buffer again once the read buffer went back to its size", async () => {
  // Three 64 KiB frames grow the read buffer; small messages then shrink it
  // (after four small reads); two fragmented messages after that are lent
  // from one reused message buffer, as on a session that never grew.
  const messages = [
    ...[65536, 65536, 65536].map((n) => frame(n, false)),
    ...Array.from({ length: 6 }, () => frame(32, false)),
    fragmented(4096, 2),
    fragmented(4096, 2),
    CLOSE,
  ];
  const conn = new LockStepConn(messages);
  const handler = await runSession(conn, true);
  const log = logOf(conn);
  deepEqual(handler.messages, 11, log);
  // The read buffer went back to 1 KiB (then doubled for the fragments).
  ok(conn.buffers.indexOf(1024) > conn.buffers.lastIndexOf(69632), log);
  ok(handler.owners[9] === handler.owners[10], `a new message buffer for the 11th; ${log}`);
});
