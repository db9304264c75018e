// The text fast paths against TextDecoder and TextEncoder: the parser's
// one-pass unmask + ASCII check + decode of single-frame text, and the
// sender's copy of the bytes of the message being delivered when it is
// echoed (ws/_last_text.ts).
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import { WebSocketError } from "./errors.ts";
import { Sender } from "./_sender.ts";
import { lastText } from "./_last_text.ts";

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What a fatal TextDecoder makes of `bytes`: the string, or 1007. */
function expected(bytes: Uint8Array): string | 1007 {
  try {
    return fatal.decode(bytes);
  } catch {
    return 1007;
  }
}

/** A sender (uncompressed, no backpressure limit in reach) writing to a new Sink. */
function sinkSender(mask: boolean): [Sink, Sender] {
  const conn = new Sink();
  const sender = new Sender(conn as unknown as Deno.Conn, senderHost, {
    mask,
    highWaterMark: 1 << 20,
    closeOnBackpressure: false,
    deflate: null,
  });
  return [conn, sender];
}

/**
 * What a handler that changes the lent view `b` (bytes `c.set` at `c.at`)
 * and then sends it gets: sent, or refused with a TypeError.
 */
function tamperAndSend(
  b: Uint8Array,
  c: { at: number; set: number[] },
  sender: Sender,
): "sent" | "refused" {
  for (let i = 0; i < c.set.length; i++) b[c.at + i] = c.set[i]!;
  try {
    void sender.sendText(b);
    return "sent";
  } catch (err) {
    ok(err instanceof TypeError);
    return "refused";
  }
}

/** What the parser makes of `bytes` as one text frame (masked with `key`), fed whole or in two pieces. */
function parsed(bytes: Uint8Array, key: Uint8Array | false, cut: number): string | 1007 {
  const frame = buildFrame(1, bytes, { mask: key });
  const got: string[] = [];
  const sink: FrameSink = {
    onMessage: (d) => void got.push(d as string),
    onPing() {},
    onPong() {},
    onClose() {},
  };
  const parser = new FrameParser(sink, { role: key === false ? "client" : "server" });
  try {
    const at = Math.min(cut, frame.length);
    const used = parser.feed(frame, 0, at);
    const rest = frame.slice(used);
    equal(parser.feed(rest), rest.length);
  } catch (err) {
    ok(err instanceof WebSocketError, `unexpected ${err}`);
    equal(err.closeCode, 1007);
    return 1007;
  }
  equal(got.length, 1);
  return got[0]!;
}

const CASES: [string, number[]][] = [
  ["empty", []],
  ["ASCII", [...new TextEncoder().encode("hello, world")]],
  ["ASCII with DEL and NUL", [0x7f, 0x00, 0x41]],
  ["two-byte character", [0x41, 0xc3, 0xa9]],
  ["three-byte character", [0xe2, 0x82, 0xac]],
  ["four-byte character", [0xf0, 0x9f, 0x98, 0x80]],
  ["overlong NUL", [0xc0, 0x80]],
  ["overlong slash (3 bytes)", [0xe0, 0x80, 0xaf]],
  ["encoded high surrogate", [0xed, 0xa0, 0x80]],
  ["encoded low surrogate", [0xed, 0xbf, 0xbf]],
  ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ["lone continuation byte", [0x41, 0x80]],
  ["truncated sequence at the end", [0x41, 0xe2, 0x82]],
  ["0xFF", [0xff]],
  ["BOM is kept", [0xef, 0xbb, 0xbf, 0x41]],
  ["invalid after 127 ASCII bytes", [...new Array(127).fill(0x61), 0xc0]],
  ["invalid as byte 129", [...new Array(128).fill(0x61), 0xff]],
  ["200 ASCII bytes", new Array(200).fill(0x62)],
  // Long text: the ASCII check over words, then the native copy or TextDecoder.
  ["1 KiB ASCII", Array.from({ length: 1024 }, (_, i) => 0x20 + (i % 95))],
  ["long, a two-byte character last", [...new Array(300).fill(0x63), 0xc3, 0xa9]],
  ["long, a two-byte character first", [0xc3, 0xa9, ...new Array(300).fill(0x63)]],
  ["long, a high byte inside a word", [...new Array(150).fill(0x64), 0xe2, 0x82, 0xac, 0x41]],
  ["long, invalid last", [...new Array(300).fill(0x65), 0xff]],
  ["long, truncated sequence last", [...new Array(300).fill(0x65), 0xe2, 0x82]],
];

Deno.test("FrameParser.feed() decodes single-frame text as a fatal TextDecoder does", () => {
  const keys: (Uint8Array | false)[] = [
    false,
    new Uint8Array([0, 0, 0, 0]),
    new Uint8Array([0x37, 0xfa, 0x21, 0x3d]),
    new Uint8Array([0xff, 0x80, 0x7f, 0x01]),
  ];
  for (const [name, list] of CASES) {
    const bytes = new Uint8Array(list);
    for (const key of keys) {
      // Whole (the single-frame fast path) and split at every byte (the fragment path).
      for (let cut = 0; cut <= bytes.length + 14; cut++) {
        equal(
          parsed(bytes, key, cut === 0 ? Infinity : cut),
          expected(bytes),
          `${name}, cut ${cut}`,
        );
      }
    }
  }
});

/** Bytes that are mostly valid UTF-8, with sometimes a random byte changed. */
const textish = fc.oneof(
  fc.uint8Array({ maxLength: 160 }),
  fc.string({ unit: "grapheme", maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
  fc.string({ unit: "grapheme-ascii", maxLength: 140 }).map((s) => new TextEncoder().encode(s)),
  // Past the short-text path: ASCII with a random byte somewhere, or not.
  fc.tuple(
    fc.string({ unit: "grapheme-ascii", minLength: 129, maxLength: 700 }),
    fc.nat(),
    fc.integer({ min: 0, max: 0xff }),
    fc.boolean(),
  ).map(([s, at, b, change]) => {
    const bytes = new TextEncoder().encode(s);
    if (change) bytes[at % bytes.length] = b;
    return bytes;
  }),
  fc.tuple(
    fc.string({ unit: "grapheme", maxLength: 60 }),
    fc.nat(),
    fc.integer({ min: 0x80, max: 0xff }),
  ).map(([s, at, b]) => {
    const bytes = new TextEncoder().encode(s);
    if (bytes.length > 0) bytes[at % bytes.length] = b;
    return bytes;
  }),
);

Deno.test("FrameParser.feed() agrees with TextDecoder on random text, masks and splits", () => {
  fc.assert(
    fc.property(
      textish,
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.nat(),
      (bytes, key, cut) => {
        equal(parsed(bytes, key, Infinity), expected(bytes));
        equal(parsed(bytes, key, cut % (bytes.length + 7)), expected(bytes));
      },
    ),
    { numRuns: 2000 },
  );
});

/** A connection that keeps what is written. */
class Sink {
  written: Uint8Array[] = [];
  write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }
}

const senderHost = {
  writeFailed(err: unknown): void {
    throw err;
  },
  slowConsumer(): void {
    throw new Error("slow consumer");
  },
};

/** The text messages in what `conn` received, parsed as the other side would. */
function received(conn: Sink, masked: boolean): string[] {
  const out: string[] = [];
  const parser = new FrameParser({
    onMessage: (d) => void out.push(d as string),
    onPing() {},
    onPong() {},
    onClose() {},
  }, { role: masked ? "server" : "client" });
  for (const p of conn.written) equal(parser.feed(p), p.length);
  return out;
}

type Reply = (s: string) => string;

/** Parses `messages` as masked text frames and sends what `reply` makes of each, from onMessage. */
async function echo(messages: string[], reply: Reply, mask: boolean): Promise<string[]> {
  const [conn, sender] = sinkSender(mask);
  const parser = new FrameParser({
    onMessage: (d) => void sender.send(reply(d as string)),
    onPing() {},
    onPong() {},
    onClose() {},
  });
  for (const m of messages) {
    const frame = buildFrame(1, new TextEncoder().encode(m), { mask: true });
    equal(parser.feed(frame), frame.length);
  }
  await sender.flush();
  return received(conn, mask);
}

Deno.test("Sender.send() of the message being delivered sends its bytes", async () => {
  const replies: [string, Reply][] = [
    ["the same string", (s) => s],
    ["a different string of the same length", (s) => [...s].reverse().join("")],
    ["a copy of the same string", (s) => (" " + s).slice(1)],
    ["a longer string", (s) => s + s],
  ];
  const messages = [
    "",
    "a",
    "hello",
    "h\u00e9llo w\u00f6rld",
    "\u{1f600} emoji",
    "x".repeat(64),
    "y".repeat(65),
    "\u00e9".repeat(300),
  ];
  for (const [name, reply] of replies) {
    for (const mask of [false, true]) {
      deepEqual(await echo(messages, reply, mask), messages.map(reply), `${name}, mask ${mask}`);
    }
  }
});

Deno.test("Sender.send() after onMessage returned encodes the string itself", async () => {
  const [conn, sender] = sinkSender(false);
  const kept: string[] = [];
  const parser = new FrameParser({
    onMessage: (d) => void kept.push(d as string),
    onPing() {},
    onPong() {},
    onClose() {},
  });
  const buf = buildFrame(1, new TextEncoder().encode("first"), { mask: true });
  parser.feed(buf);
  equal(lastText.text, null);
  buf.fill(0x21); // the read buffer is reused: its old bytes are gone
  sender.send(kept[0]!);
  await sender.flush();
  deepEqual(received(conn, false), ["first"]);
});

Deno.test("Sender.send() echoes random text as TextEncoder encodes it", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "grapheme", maxLength: 80 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      async (messages, mask) => {
        deepEqual(await echo(messages, (s) => s, mask), messages);
      },
    ),
    { numRuns: 300 },
  );
});

/** What the parser with `textBytes` makes of `bytes` as one text frame: the bytes it lends, or 1007. */
function lent(bytes: Uint8Array, key: Uint8Array | false, cut: number): number[] | 1007 {
  const frame = buildFrame(1, bytes, { mask: key });
  const got: number[][] = [];
  const sink: FrameSink = {
    onMessage: () => {
      throw new Error("text went to onMessage");
    },
    onText: (b) => {
      equal(lastText.bytes, b);
      got.push([...b]);
    },
    onPing() {},
    onPong() {},
    onClose() {},
  };
  const parser = new FrameParser(sink, {
    role: key === false ? "client" : "server",
    textBytes: true,
  });
  try {
    const used = parser.feed(frame, 0, Math.min(cut, frame.length));
    const rest = frame.slice(used);
    equal(parser.feed(rest), rest.length);
  } catch (err) {
    ok(err instanceof WebSocketError, `unexpected ${err}`);
    equal(err.closeCode, 1007);
    return 1007;
  }
  equal(got.length, 1);
  equal(lastText.bytes, null);
  return got[0]!;
}

function expectedBytes(bytes: Uint8Array): number[] | 1007 {
  return expected(bytes) === 1007 ? 1007 : [...bytes];
}

Deno.test("FrameParser.feed() with textBytes lends text as bytes exactly when TextDecoder accepts them", () => {
  for (const [name, list] of CASES) {
    const bytes = new Uint8Array(list);
    for (const key of [false, new Uint8Array([0x37, 0xfa, 0x21, 0x3d])] as const) {
      for (let cut = 0; cut <= bytes.length + 14; cut++) {
        deepEqual(
          lent(bytes, key, cut === 0 ? Infinity : cut),
          expectedBytes(bytes),
          `${name}, cut ${cut}`,
        );
      }
    }
  }
  fc.assert(
    fc.property(
      textish,
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.nat(),
      (bytes, key, cut) => {
        deepEqual(lent(bytes, key, Infinity), expectedBytes(bytes));
        deepEqual(lent(bytes, key, cut % (bytes.length + 7)), expectedBytes(bytes));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("FrameParser() with textBytes needs sink.onText", () => {
  const sink: FrameSink = { onMessage() {}, onPing() {}, onPong() {}, onClose() {} };
  try {
    new FrameParser(sink, { textBytes: true });
    ok(false, "no error");
  } catch (err) {
    ok(err instanceof TypeError);
  }
});

Deno.test("Sender.sendText() sends valid UTF-8 as text and refuses anything else", async () => {
  const table: [string, number[], boolean][] = [
    ["ASCII", [0x68, 0x69], true],
    ["empty", [], true],
    ["two-byte character", [0xc3, 0xa9], true],
    ["overlong", [0xc0, 0xaf], false],
    ["encoded surrogate", [0xed, 0xa0, 0x80], false],
    ["truncated", [0xe2, 0x82], false],
  ];
  for (const [name, list, valid] of table) {
    const [conn, sender] = sinkSender(false);
    const bytes = new Uint8Array(list);
    try {
      await sender.sendText(bytes);
      ok(valid, `${name}: sent`);
      deepEqual(received(conn, false), [new TextDecoder().decode(bytes)], name);
    } catch (err) {
      ok(!valid && err instanceof TypeError, `${name}: ${err}`);
      equal(conn.written.length, 0, name);
    }
  }
});

Deno.test("Sender.sendText() of the lent bytes echoes text as it came, masked or not", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      async (messages, mask) => {
        const [conn, sender] = sinkSender(mask);
        const parser = new FrameParser({
          onMessage() {},
          onText: (b) => void sender.sendText(b),
          onPing() {},
          onPong() {},
          onClose() {},
        }, { textBytes: true });
        for (const m of messages) {
          const frame = buildFrame(1, new TextEncoder().encode(m), { mask: true });
          equal(parser.feed(frame), frame.length);
        }
        await sender.flush();
        deepEqual(received(conn, mask), messages);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("Sender.sendText() checks a short lent view as it copies it: every changed byte counts", async () => {
  // The lent view sits at an odd offset of a larger buffer (long text), or
  // in the parser's shared lending buffer (short text): a wrong offset
  // would check or copy the wrong bytes. A frame staged before must stay
  // whole when a non-ASCII view is unstaged and validated instead, masked
  // (client) or not. Each case: the message length, where the handler
  // writes, and what.
  const cases: { n: number; at: number; set: number[]; want: string | "refused" }[] = [];
  for (const n of [1, 3, 4, 5, 8, 31, 32, 33, 64, 65]) {
    cases.push({ n, at: -1, set: [], want: "x".repeat(n) });
    for (const at of new Set([0, n >> 1, n - 1])) {
      cases.push({ n, at, set: [0xff], want: "refused" });
      cases.push({ n, at, set: [0x80], want: "refused" });
      if (at + 1 < n) {
        const e = "x".repeat(at) + "\u00e9" + "x".repeat(n - at - 2);
        cases.push({ n, at, set: [0xc3, 0xa9], want: e });
      }
    }
  }
  for (const [c, mask] of cases.flatMap((c) => [[c, false], [c, true]] as const)) {
    const [conn, sender] = sinkSender(mask);
    let outcome = "";
    const parser = new FrameParser({
      onMessage() {},
      onText(b) {
        void sender.send("before");
        outcome = tamperAndSend(b, c, sender);
      },
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const frame = buildFrame(1, new TextEncoder().encode("x".repeat(c.n)), { mask: true });
    const buf = new Uint8Array(new ArrayBuffer(frame.length + 16), 5, frame.length + 8);
    buf.set(frame, 3);
    equal(parser.feed(buf, 3, 3 + frame.length), frame.length);
    await sender.flush();
    const label = `${c.n} bytes, [${c.set}] at ${c.at}, mask ${mask}`;
    if (c.want === "refused") {
      equal(outcome, "refused", label);
      deepEqual(received(conn, mask), ["before"], label);
    } else {
      equal(outcome, "sent", label);
      deepEqual(received(conn, mask), ["before", c.want], label);
    }
  }
});

Deno.test("FrameParser.feed() with textBytes keeps a lent view intact while its handler feeds other parsers", () => {
  // Short text is lent from one shared buffer; a handler that feeds another
  // parser (twice, so the second nested lend comes after the first one
  // returned) must not see its own bytes overwritten. Each case: the outer
  // and inner message lengths.
  const cases = [[32, 32], [5, 32], [128, 1], [1, 128], [129, 32], [32, 129]] as const;
  for (const [outerLen, innerLen] of cases) {
    const outerText = "o".repeat(outerLen - 1) + "\u0001";
    const innerTexts = ["a".repeat(innerLen), "b".repeat(innerLen)];
    const seen: string[] = [];
    const inner = new FrameParser({
      onMessage() {},
      onText: (b) => void seen.push(fatal.decode(b)),
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const outer = new FrameParser({
      onMessage() {},
      onText(b) {
        for (const t of innerTexts) {
          const f = buildFrame(1, new TextEncoder().encode(t), { mask: true });
          equal(inner.feed(f), f.length);
          equal(lastText.bytes, b, `${outerLen}/${innerLen}: the outer view is named again`);
        }
        seen.push(fatal.decode(b));
      },
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const frame = buildFrame(1, new TextEncoder().encode(outerText), { mask: true });
    equal(outer.feed(frame), frame.length);
    deepEqual(seen, [...innerTexts, outerText], `${outerLen}/${innerLen}`);
    equal(lastText.bytes, null);
  }
});

Deno.test("Sender.sendText() stages the lent view at every offset of the write buffer, and at its end", async () => {
  // The view lent from the lending buffer is staged in aligned words: the
  // frame before it (prefix bytes, as a binary frame) decides where in a
  // word its payload starts, and a frame ending at the very end of the
  // staging buffer (16 KiB) leaves no room for a word past it. Each case:
  // the binary payload sent before, the text length.
  const cases: [number, number][] = [];
  for (const n of [0, 1, 3, 4, 5, 7, 8, 31, 32, 33, 63, 64]) {
    for (const before of [-1, 0, 1, 2, 3]) cases.push([before, n]);
    // Binary header 4 bytes, text header 2: the text frame ends at 16384.
    for (const extra of [0, 1, 2, 3]) cases.push([16384 - 4 - 2 - n - extra, n]);
  }
  for (const [before, n] of cases) {
    const [conn, sender] = sinkSender(false);
    const text = Array.from({ length: n }, (_, i) => String.fromCharCode(0x21 + (i * 7) % 90))
      .join("");
    const parser = new FrameParser({
      onMessage() {},
      onText(b) {
        if (before >= 0) void sender.send(new Uint8Array(before).fill(0xee));
        void sender.sendText(b);
      },
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const frame = buildFrame(1, new TextEncoder().encode(text), { mask: true });
    equal(parser.feed(frame), frame.length);
    await sender.flush();
    const got: (string | number)[] = [];
    const reader = new FrameParser({
      onMessage: (d) => void got.push(typeof d === "string" ? d : d.length),
      onPing() {},
      onPong() {},
      onClose() {},
    }, { role: "client" });
    for (const p of conn.written) equal(reader.feed(p), p.length);
    deepEqual(got, before >= 0 ? [before, text] : [text], `${before} bytes before, ${n} bytes`);
  }
});

Deno.test("Sender.sendText() of a view lent in place (nested delivery) checks and copies it", async () => {
  // A handler that feeds another parser gets short text lent as a view of
  // the fed buffer (the lending buffer is taken by the outer message):
  // sendText() then reads it through that buffer's DataView. Each case: the
  // inner message length, where the inner handler writes, and what.
  const cases: { n: number; at: number; set: number[]; want: string | "refused" }[] = [];
  for (const n of [1, 5, 32, 33, 64]) {
    cases.push({ n, at: -1, set: [], want: "y".repeat(n) });
    cases.push({ n, at: n - 1, set: [0xff], want: "refused" });
    if (n > 1) cases.push({ n, at: 0, set: [0xc3, 0xa9], want: "\u00e9" + "y".repeat(n - 2) });
  }
  for (const c of cases) {
    const [conn, sender] = sinkSender(false);
    let outcome = "";
    const inner = new FrameParser({
      onMessage() {},
      onText(b) {
        outcome = tamperAndSend(b, c, sender);
      },
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const outer = new FrameParser({
      onMessage() {},
      onText() {
        const f = buildFrame(1, new TextEncoder().encode("y".repeat(c.n)), { mask: true });
        const buf = new Uint8Array(new ArrayBuffer(f.length + 16), 3, f.length + 8);
        buf.set(f, 1);
        equal(inner.feed(buf, 1, 1 + f.length), f.length);
      },
      onPing() {},
      onPong() {},
      onClose() {},
    }, { textBytes: true });
    const frame = buildFrame(1, new TextEncoder().encode("outer"), { mask: true });
    equal(outer.feed(frame), frame.length);
    await sender.flush();
    const label = `${c.n} bytes, [${c.set}] at ${c.at}`;
    equal(outcome, c.want === "refused" ? "refused" : "sent", label);
    deepEqual(received(conn, false), c.want === "refused" ? [] : [c.want], label);
  }
});

/**
 * Feeds `frames` through one reused read buffer, as the receiver does: a
 * view at `byteOffset` into a larger ArrayBuffer, refilled in place for
 * every read of `perRead` frames, and replaced by a buffer of `swapSize`
 * bytes halfway. Returns what the parser delivered (strings, or the lent
 * bytes decoded).
 */
function throughReadBuffer(
  frames: Uint8Array[],
  textBytes: boolean,
  byteOffset: number,
  size: number,
  swapSize: number,
  perRead: number,
): (string | 1007)[] {
  const got: (string | 1007)[] = [];
  const parser = new FrameParser({
    onMessage: (d) => void got.push(d as string),
    onText: (b) => void got.push(fatal.decode(b)),
    onPing() {},
    onPong() {},
    onClose() {},
  }, { textBytes });
  let buf = new Uint8Array(new ArrayBuffer(size + byteOffset + 3), byteOffset, size);
  for (let i = 0; i < frames.length; i += perRead) {
    if (i >= frames.length / 2 && buf.length !== swapSize) {
      buf = new Uint8Array(new ArrayBuffer(swapSize + byteOffset + 3), byteOffset, swapSize);
    }
    let end = 0;
    for (const f of frames.slice(i, i + perRead)) {
      buf.set(f, end);
      end += f.length;
    }
    try {
      equal(parser.feed(buf, 0, end), end);
    } catch (err) {
      ok(err instanceof WebSocketError, `unexpected ${err}`);
      equal(err.closeCode, 1007);
      got.push(1007);
      return got;
    }
  }
  return got;
}

Deno.test("FrameParser.feed() decodes text at any offset of a reused read buffer, and after it is replaced", () => {
  const texts = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "hello, world",
    "x".repeat(32),
    "\u00e9\u20ac\u{1f600}!",
    "z".repeat(127),
  ];
  const table: { name: string; size: number; swap: number }[] = [
    { name: "small buffer kept", size: 1024, swap: 1024 },
    { name: "small buffer replaced by a large one", size: 1024, swap: 2048 },
    { name: "large buffer (view not kept) replaced by a small one", size: 65536, swap: 256 * 8 },
  ];
  for (const { name, size, swap } of table) {
    for (const byteOffset of [0, 1, 2, 3]) {
      for (const textBytes of [false, true]) {
        for (const perRead of [1, 3, 7]) {
          // Frames of mixed lengths put payloads at every alignment.
          const frames = texts.map((t, i) =>
            buildFrame(1, new TextEncoder().encode(t), {
              mask: new Uint8Array([i * 37, 0x80 | i, 0xfe - i, i]),
            })
          );
          deepEqual(
            throughReadBuffer([...frames, ...frames], textBytes, byteOffset, size, swap, perRead),
            [...texts, ...texts],
            `${name}, offset ${byteOffset}, textBytes ${textBytes}, ${perRead} per read`,
          );
        }
      }
    }
  }
  // Invalid UTF-8 after valid ASCII in the same read is still refused.
  const bad = buildFrame(1, new Uint8Array([0x61, 0x62, 0x63, 0xc0, 0x80]), { mask: true });
  const good = buildFrame(1, new TextEncoder().encode("fine"), { mask: true });
  for (const textBytes of [false, true]) {
    deepEqual(throughReadBuffer([good, bad, good], textBytes, 1, 1024, 1024, 3), ["fine", 1007]);
  }
});
