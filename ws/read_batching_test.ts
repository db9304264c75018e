// How many reads a session makes for messages waiting in the socket: a
// message of a few KiB must not cost a read of its own when many wait
// (they arrive several per read once the read buffer has grown), while a
// large one is still read straight into its message buffer, unless a read
// buffer that holds it whole lets it be lent (borrowMessages): then the
// first such message takes two reads and the next ones one.
import { deepStrictEqual as deepEqual, ok } from "node:assert/strict";
import { buildFrame } from "./frame_builder.ts";
import { type WebSocketHandler, WebSocketSession } from "./session.ts";

/** A connection with `input` waiting: each read takes as much as fits. */
class WaitingConn {
  reads: number[] = [];
  written = 0;
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
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    this.written += p.length;
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counts the messages and their bytes. */
class Count implements WebSocketHandler {
  messages = 0;
  bytes = 0;
  onMessage(_ws: WebSocketSession, data: string | Uint8Array): void {
    this.messages++;
    this.bytes += data.length;
  }
}

/** `count` masked frames (binary, or text) of `size` bytes, then a close. */
function frames(count: number, size: number, text = false): Uint8Array {
  const one = buildFrame(text ? 1 : 2, new Uint8Array(size).fill(0x61), { mask: true });
  const close = buildFrame(8, new Uint8Array([0x03, 0xe8]), { mask: true });
  const all = new Uint8Array(one.length * count + close.length);
  for (let i = 0; i < count; i++) all.set(one, i * one.length);
  all.set(close, one.length * count);
  return all;
}

interface Case {
  size: number;
  count: number;
  maxReads: number;
  text?: boolean;
  borrowMessages?: boolean;
}

const CASES: Case[] = [
  // 64 messages of 1 KiB (66 KiB): 256 bytes, then doubling up to 64 KiB:
  // 10 reads at most (it was two per message, 128, before the fix).
  { size: 1024, count: 64, maxReads: 10 },
  { size: 4000, count: 32, maxReads: 12 },
  // 64 KiB binary messages, each the caller's own: straight into their
  // message buffers, a read of the header (into the 256-byte buffer), then
  // one of the rest, per message.
  { size: 65536, count: 4, maxReads: 9 },
  // Lent messages (borrowMessages), binary or text: the first message goes
  // straight into its buffer (two reads), then the read buffer holds one
  // whole (65,550 bytes) per read: 2 + 7 + the close. It was 2 per message.
  { size: 65536, count: 8, maxReads: 10, borrowMessages: true },
  { size: 65536, count: 8, maxReads: 10, text: true, borrowMessages: true },
  // Owned text still goes straight into its buffer, which it lets go once
  // decoded (an idle connection keeps only its small read buffer).
  { size: 65536, count: 4, maxReads: 9, text: true },
  // Past the read buffer's cap (256 KiB) a frame goes straight into its
  // message every time: 2 reads per message.
  { size: 300_000, count: 3, maxReads: 7, borrowMessages: true },
];

for (const { size, count, maxReads, text = false, borrowMessages = false } of CASES) {
  const kind = `${text ? "text" : "binary"}${borrowMessages ? ", lent" : ""}`;
  Deno.test(`WebSocketSession.run() reads ${count} waiting ${size}-byte messages (${kind}) in at most ${maxReads} reads`, async () => {
    const conn = new WaitingConn(frames(count, size, text));
    const handler = new Count();
    const session = new WebSocketSession(
      conn as unknown as Deno.Conn,
      new Uint8Array(0),
      handler,
      { idleTimeout: 0, borrowMessages },
    );
    await session.run();
    deepEqual([handler.messages, handler.bytes], [count, count * size]);
    ok(
      conn.reads.length <= maxReads,
      `${conn.reads.length} reads: ${conn.reads.join(", ")}`,
    );
  });
}
