import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameParserOptions, type FrameSink } from "./frame_parser.ts";
import { ErrorCode, WebSocketError } from "./errors.ts";
import { encode, hex } from "./_test_util.ts";

type Ev = [string, unknown, unknown?];

class Record implements FrameSink {
  events: Ev[] = [];
  onMessage(data: string | Uint8Array): void {
    this.events.push(typeof data === "string" ? ["text", data] : ["binary", toHex(data)]);
  }
  onPing(p: Uint8Array): void {
    this.events.push(["ping", toHex(p)]);
  }
  onPong(p: Uint8Array): void {
    this.events.push(["pong", toHex(p)]);
  }
  onClose(code: number, reason: string): void {
    this.events.push(["close", code, reason]);
  }
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

interface Outcome {
  events: Ev[];
  error: string | null;
  closeCode: number | null;
  left: number;
}

/**
 * Feeds `input` cut at `cuts` the way the session does: unconsumed bytes are
 * kept and fed again with the next piece appended.
 */
function feedPieces(input: Uint8Array, cuts: number[], options: FrameParserOptions): Outcome {
  const sink = new Record();
  const parser = new FrameParser(sink, options);
  let pending: Uint8Array = new Uint8Array(0);
  let from = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      const piece = input.subarray(from, cut);
      from = cut;
      const buf = new Uint8Array(pending.length + piece.length);
      buf.set(pending);
      buf.set(piece, pending.length);
      const used = parser.feed(buf);
      ok(used >= 0 && used <= buf.length);
      pending = buf.slice(used);
    }
  } catch (err) {
    if (!(err instanceof WebSocketError)) throw err;
    return { events: sink.events, error: err.code, closeCode: err.closeCode, left: 0 };
  }
  return { events: sink.events, error: null, closeCode: null, left: pending.length };
}

/**
 * Feeds `input` cut at `cuts` the way the session does with direct reads:
 * whenever nothing is pending and the parser is inside a payload of at least
 * `min` bytes, the next bytes go straight into `payloadTarget()`; everything
 * else is fed from an offset inside a larger buffer (`feed(buf, start, end)`).
 */
function feedDirect(
  input: Uint8Array,
  cuts: number[],
  options: FrameParserOptions,
  min: number,
): Outcome {
  const sink = new Record();
  const parser = new FrameParser(sink, options);
  let pending: Uint8Array = new Uint8Array(0);
  let from = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      const piece = input.subarray(from, cut);
      from = cut;
      let p = 0;
      while (p < piece.length) {
        const target = pending.length === 0 ? parser.payloadTarget(min) : null;
        if (target !== null) {
          ok(target.length >= min);
          const k = Math.min(target.length, piece.length - p);
          target.set(piece.subarray(p, p + k));
          parser.payloadWritten(k);
          p += k;
          continue;
        }
        const len = pending.length + piece.length - p;
        const buf = new Uint8Array(3 + len + 2).fill(0xee);
        buf.set(pending, 3);
        buf.set(piece.subarray(p), 3 + pending.length);
        p = piece.length;
        const used = parser.feed(buf, 3, 3 + len);
        ok(used >= 0 && used <= len);
        pending = buf.slice(3 + used, 3 + len);
      }
    }
  } catch (err) {
    if (!(err instanceof WebSocketError)) throw err;
    return { events: sink.events, error: err.code, closeCode: err.closeCode, left: 0 };
  }
  return { events: sink.events, error: null, closeCode: null, left: pending.length };
}

const KEY = hex("37fa213d");
const m = (op: number, payload: Uint8Array | string, fin = true): Uint8Array =>
  buildFrame(op, typeof payload === "string" ? encode(payload) : payload, { mask: KEY, fin });
const u = (op: number, payload: Uint8Array | string, fin = true): Uint8Array =>
  buildFrame(op, typeof payload === "string" ? encode(payload) : payload, { fin });
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const closeFrame = (code: number, reason = "", mask = true): Uint8Array => {
  const r = encode(reason);
  const p = new Uint8Array(2 + r.length);
  p[0] = code >> 8;
  p[1] = code & 0xff;
  p.set(r, 2);
  return mask ? m(8, p) : u(8, p);
};

interface Case {
  name: string;
  input: Uint8Array;
  options?: FrameParserOptions;
  events?: Ev[];
  error?: string;
  closeCode?: number;
}

const big = new Uint8Array(70000).map((_, i) => i & 0xff);

const CASES: Case[] = [
  // RFC 6455 section 5.7 examples
  {
    name: "single-frame unmasked text (client side)",
    input: hex("81 05 48 65 6c 6c 6f"),
    options: { role: "client" },
    events: [["text", "Hello"]],
  },
  {
    name: "single-frame masked text",
    input: hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
    events: [["text", "Hello"]],
  },
  {
    name: "fragmented unmasked text (client side)",
    input: hex("01 03 48 65 6c 80 02 6c 6f"),
    options: { role: "client" },
    events: [["text", "Hello"]],
  },
  {
    name: "unmasked ping (client side)",
    input: hex("89 05 48 65 6c 6c 6f"),
    options: { role: "client" },
    events: [["ping", "48656c6c6f"]],
  },
  {
    name: "masked pong",
    input: hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
    events: [["pong", "48656c6c6f"]],
  },
  {
    name: "256-byte binary with a 16-bit length (client side)",
    input: cat(hex("82 7e 01 00"), big.subarray(0, 256)),
    options: { role: "client" },
    events: [["binary", toHex(big.subarray(0, 256))]],
  },
  {
    name: "65536-byte binary with a 64-bit length (client side)",
    input: cat(hex("82 7f 00 00 00 00 00 01 00 00"), big.subarray(0, 65536)),
    options: { role: "client" },
    events: [["binary", toHex(big.subarray(0, 65536))]],
  },
  { name: "empty text", input: m(1, ""), events: [["text", ""]] },
  { name: "empty binary", input: m(2, ""), events: [["binary", ""]] },
  {
    name: "text keeps a leading BOM",
    input: m(1, hex("ef bb bf 41")),
    events: [["text", "\ufeffA"]],
  },
  {
    name: "masked 70000-byte binary",
    input: m(2, big),
    events: [["binary", toHex(big)]],
  },
  {
    name: "three messages in one buffer",
    input: cat(m(1, "a"), m(2, hex("0102")), m(1, "bc")),
    events: [["text", "a"], ["binary", "0102"], ["text", "bc"]],
  },
  {
    name: "ping between fragments",
    input: cat(m(1, "He", false), m(9, "p"), m(0, "llo", false), m(0, "", true)),
    events: [["ping", "70"], ["text", "Hello"]],
  },
  {
    name: "binary in many fragments with empty ones",
    input: cat(m(2, "", false), m(0, hex("01"), false), m(0, "", false), m(0, hex("0203"))),
    events: [["binary", "010203"]],
  },
  {
    name: "UTF-8 sequence split across fragments",
    input: cat(
      m(1, hex("ce ba e1"), false),
      m(0, hex("bd b9 cf 83"), false),
      m(0, hex("ce bc ce b5")),
    ),
    events: [["text", "\u03ba\u1f79\u03c3\u03bc\u03b5"]],
  },
  { name: "close without payload", input: m(8, ""), events: [["close", 1005, ""]] },
  {
    name: "close 1000 with reason",
    input: closeFrame(1000, "bye"),
    events: [["close", 1000, "bye"]],
  },
  { name: "close 1012 is valid", input: closeFrame(1012), events: [["close", 1012, ""]] },
  { name: "close 3000 is valid", input: closeFrame(3000), events: [["close", 3000, ""]] },
  { name: "close 4999 is valid", input: closeFrame(4999), events: [["close", 4999, ""]] },
  {
    name: "input after a close frame is ignored",
    input: cat(closeFrame(1000), hex("ff ff ff ff")),
    events: [["close", 1000, ""]],
  },
  // Violations
  {
    name: "unmasked frame from a client",
    input: u(1, "Hello"),
    error: ErrorCode.MaskRequired,
    closeCode: 1002,
  },
  {
    name: "masked frame from a server",
    input: m(1, "Hello"),
    options: { role: "client" },
    error: ErrorCode.UnexpectedMask,
    closeCode: 1002,
  },
  { name: "RSV1 set", input: hex("c1 80 37 fa 21 3d"), error: ErrorCode.ReservedBits },
  { name: "RSV2 set", input: hex("a1 80 37 fa 21 3d"), error: ErrorCode.ReservedBits },
  { name: "RSV3 set", input: hex("91 80 37 fa 21 3d"), error: ErrorCode.ReservedBits },
  { name: "opcode 3", input: hex("83 80 37 fa 21 3d"), error: ErrorCode.ReservedOpcode },
  { name: "opcode 7", input: hex("87 80 37 fa 21 3d"), error: ErrorCode.ReservedOpcode },
  { name: "opcode 11", input: hex("8b 80 37 fa 21 3d"), error: ErrorCode.ReservedOpcode },
  { name: "opcode 15", input: hex("8f 80 37 fa 21 3d"), error: ErrorCode.ReservedOpcode },
  { name: "fragmented ping", input: hex("09 80 37 fa 21 3d"), error: ErrorCode.FragmentedControl },
  {
    name: "ping of 126 bytes",
    input: m(9, new Uint8Array(126)),
    error: ErrorCode.ControlTooLong,
  },
  {
    name: "close of 126 bytes",
    input: m(8, new Uint8Array(126)),
    error: ErrorCode.ControlTooLong,
  },
  {
    name: "continuation without a start",
    input: m(0, "x"),
    error: ErrorCode.UnexpectedContinuation,
  },
  {
    name: "text inside a fragmented message",
    input: cat(m(1, "a", false), m(1, "b")),
    error: ErrorCode.ExpectedContinuation,
  },
  {
    name: "binary inside a fragmented message",
    input: cat(m(2, "a", false), m(2, "b")),
    error: ErrorCode.ExpectedContinuation,
  },
  {
    name: "64-bit length with the top bit set",
    input: hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d"),
    error: ErrorCode.InvalidLength,
    closeCode: 1002,
  },
  { name: "close with 1 byte", input: m(8, hex("03")), error: ErrorCode.InvalidClosePayload },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => ({
    name: `close code ${code}`,
    input: closeFrame(code),
    error: ErrorCode.InvalidCloseCode,
    closeCode: 1002,
  })),
  {
    name: "close reason that is not UTF-8",
    input: m(8, hex("03 e8 ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")),
    error: ErrorCode.InvalidUtf8,
    closeCode: 1007,
  },
  {
    name: "invalid UTF-8 text",
    input: m(1, hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")),
    error: ErrorCode.InvalidUtf8,
    closeCode: 1007,
  },
  {
    name: "text ending inside a sequence",
    input: cat(m(1, hex("41 e2 82"), false), m(0, "")),
    error: ErrorCode.InvalidUtf8,
  },
  {
    name: "invalid UTF-8 in the second fragment",
    input: cat(m(1, "ok", false), m(0, hex("ff"), false), m(0, "")),
    error: ErrorCode.InvalidUtf8,
  },
  {
    name: "frame over maxFrameSize",
    input: m(2, new Uint8Array(11)),
    options: { maxFrameSize: 10 },
    error: ErrorCode.FrameTooBig,
    closeCode: 1009,
  },
  {
    name: "message over maxMessageSize across fragments",
    input: cat(m(2, new Uint8Array(6), false), m(0, new Uint8Array(6))),
    options: { maxMessageSize: 10 },
    error: ErrorCode.MessageTooBig,
    closeCode: 1009,
  },
  {
    name: "more frames than maxFragments",
    input: cat(m(1, "a", false), m(0, "b", false), m(0, "c")),
    options: { maxFragments: 2 },
    error: ErrorCode.TooManyFragments,
    closeCode: 1009,
  },
  {
    name: "messages before a violation are delivered",
    input: cat(m(1, "first"), hex("83 80 37 fa 21 3d")),
    events: [["text", "first"]],
    error: ErrorCode.ReservedOpcode,
  },
];

function check(c: Case, out: Outcome, how: string): void {
  deepEqual(out.events, c.events ?? [], `${c.name} (${how}): events`);
  equal(out.error, c.error ?? null, `${c.name} (${how}): error`);
  if (c.closeCode !== undefined) {
    equal(out.closeCode, c.closeCode, `${c.name} (${how}): close code`);
  }
  if (c.error === undefined) equal(out.left, 0, `${c.name} (${how}): bytes left over`);
}

Deno.test("FrameParser.feed() handles each case whole", () => {
  for (const c of CASES) check(c, feedPieces(c.input.slice(), [], c.options ?? {}), "whole");
});

Deno.test("FrameParser.feed() handles each case split at every byte", () => {
  for (const c of CASES) {
    if (c.input.length > 2000) continue;
    for (let i = 1; i < c.input.length; i++) {
      check(c, feedPieces(c.input.slice(), [i], c.options ?? {}), `split at ${i}`);
    }
  }
});

Deno.test("FrameParser.feed() handles each case fed one byte at a time", () => {
  for (const c of CASES) {
    const cuts = Array.from({ length: c.input.length - 1 }, (_, i) => i + 1);
    check(c, feedPieces(c.input.slice(), cuts, c.options ?? {}), "byte by byte");
  }
});

Deno.test("FrameParser.feed() handles each case at random split points", () => {
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (const c of CASES) {
    for (let round = 0; round < 20; round++) {
      const cuts = new Set<number>();
      const k = 1 + rand(6);
      for (let i = 0; i < k; i++) cuts.add(1 + rand(Math.max(1, c.input.length - 1)));
      const sorted = [...cuts].filter((x) => x < c.input.length).sort((a, b) => a - b);
      check(c, feedPieces(c.input.slice(), sorted, c.options ?? {}), `cuts ${sorted}`);
    }
  }
});

Deno.test("FrameParser.payloadTarget() takes each case's payloads read straight into it", () => {
  let seed = 777;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (const c of CASES) {
    for (const min of [1, 7]) {
      check(c, feedDirect(c.input.slice(), [], c.options ?? {}, min), `direct ${min} whole`);
      for (let round = 0; round < 20; round++) {
        const cuts = new Set<number>();
        const k = 1 + rand(6);
        for (let i = 0; i < k; i++) cuts.add(1 + rand(Math.max(1, c.input.length - 1)));
        const sorted = [...cuts].filter((x) => x < c.input.length).sort((a, b) => a - b);
        check(c, feedDirect(c.input.slice(), sorted, c.options ?? {}, min), `direct ${sorted}`);
      }
    }
  }
});

Deno.test("FrameParser.wholeFrameSize is, inside a payload, the room for a frame that would have been taken whole", () => {
  const cases: {
    name: string;
    opcode: number;
    options: FrameParserOptions;
    rsv?: number;
    fin?: boolean;
    want: boolean;
  }[] = [
    { name: "binary, the caller's own", opcode: 2, options: {}, want: false },
    { name: "binary, reuseBuffer", opcode: 2, options: { reuseBuffer: true }, want: true },
    { name: "text", opcode: 1, options: {}, want: true },
    { name: "text bytes", opcode: 1, options: { textBytes: true }, want: true },
    { name: "compressed", opcode: 2, rsv: 4, options: { compressed: true }, want: true },
    {
      name: "a first fragment",
      opcode: 1,
      fin: false,
      options: { reuseBuffer: true },
      want: false,
    },
  ];
  for (const { name, opcode, options, rsv = 0, fin = true, want } of cases) {
    const sink = new Record();
    const parser = new FrameParser(
      Object.assign(sink, { onText() {}, onCompressedMessage() {} }),
      options,
    );
    const frame = buildFrame(opcode, new Uint8Array(300).fill(0x61), { mask: true, rsv, fin });
    equal(parser.wholeFrameSize, 0, `${name}: before`);
    equal(parser.feed(frame.subarray(0, 20)), 20, name);
    equal(parser.wholeFrameSize, want ? 314 : 0, name);
    parser.feed(frame.subarray(20));
    equal(parser.wholeFrameSize, 0, `${name}: after`);
  }
  // A continuation frame's payload is copied into the message however it arrives.
  const parser = new FrameParser(new Record(), { reuseBuffer: true });
  parser.feed(buildFrame(2, new Uint8Array(10), { mask: true, fin: false }));
  const last = buildFrame(0, new Uint8Array(300), { mask: true });
  parser.feed(last.subarray(0, 20));
  equal(parser.wholeFrameSize, 0);
  // Nor once the parser stopped inside the payload (invalid UTF-8 in its first bytes).
  const stopped = new FrameParser(new Record(), { reuseBuffer: true });
  const bad = new Uint8Array(300).fill(0x61);
  bad[5] = 0xff;
  const text = buildFrame(1, bad, { mask: true });
  equal(stopped.feed(text.subarray(0, 10)), 10);
  equal(stopped.wholeFrameSize, 314);
  throws(() => stopped.feed(text.subarray(10, 20)), WebSocketError);
  equal(stopped.wholeFrameSize, 0);
});

Deno.test("FrameParser.payloadTarget() is null outside a payload and below min", () => {
  const sink = new Record();
  const parser = new FrameParser(sink);
  equal(parser.payloadTarget(), null);
  const payload = new Uint8Array(300).map((_, i) => i);
  const frame = m(2, payload);
  equal(parser.feed(frame.subarray(0, 18)), 18); // 8-byte header, 10 payload bytes
  equal(parser.payloadTarget(291), null);
  const target = parser.payloadTarget(290)!;
  equal(target.length, 290);
  target.set(frame.subarray(18, 118));
  parser.payloadWritten(100);
  equal(parser.payloadTarget()!.length, 190);
  parser.payloadTarget()!.set(frame.subarray(118));
  parser.payloadWritten(190);
  equal(parser.payloadTarget(), null);
  deepEqual(sink.events, [["binary", toHex(payload)]]);
});

Deno.test("FrameParser.payloadWritten() rejects counts it did not ask for", () => {
  const parser = new FrameParser(new Record());
  let err: unknown;
  try {
    parser.payloadWritten(1);
  } catch (e) {
    err = e;
  }
  ok(err instanceof RangeError);
  const frame = m(2, new Uint8Array(50));
  equal(parser.feed(frame.subarray(0, 6)), 6); // the header only
  err = undefined;
  try {
    parser.payloadWritten(51);
  } catch (e) {
    err = e;
  }
  ok(err instanceof RangeError);
  parser.payloadWritten(0);
  equal(parser.payloadTarget()!.length, 50);
});

Deno.test("FrameParser.payloadWritten() fails invalid UTF-8 as it arrives", () => {
  const parser = new FrameParser(new Record());
  const payload = new Uint8Array(1000).fill(0x61);
  payload[500] = 0xc0;
  const frame = m(1, payload);
  equal(parser.feed(frame.subarray(0, 8)), 8);
  const target = parser.payloadTarget()!;
  target.set(frame.subarray(8, 408));
  parser.payloadWritten(400);
  parser.payloadTarget()!.set(frame.subarray(408, 608));
  let err: unknown;
  try {
    parser.payloadWritten(200);
  } catch (e) {
    err = e;
  }
  ok(err instanceof WebSocketError);
  equal(err.closeCode, 1007);
  ok(parser.done);
  equal(parser.payloadTarget(), null);
});

Deno.test("FrameParser.feed() honours start and end", () => {
  const sink = new Record();
  const parser = new FrameParser(sink);
  const a = m(1, "first");
  const b = m(1, "second");
  const buf = cat(hex("ff ff"), a, b, hex("ff"));
  equal(parser.feed(buf, 2, 2 + a.length + 3), a.length);
  equal(parser.feed(buf, 2 + a.length, 2 + a.length + b.length), b.length);
  deepEqual(sink.events, [["text", "first"], ["text", "second"]]);
});

Deno.test("FrameParser.feed() waits when a header is short", () => {
  const parser = new FrameParser(new Record());
  const frame = m(2, new Uint8Array(300));
  equal(parser.feed(frame.slice(0, 1)), 0);
  equal(parser.feed(frame.slice(0, 3)), 0); // 16-bit length not complete
  equal(parser.feed(frame.slice(0, 7)), 0); // mask key not complete
  equal(parser.feed(frame.slice(0, 8)), 8); // header consumed, payload waits
});

Deno.test("FrameParser.feed() waits for a whole control frame", () => {
  const sink = new Record();
  const parser = new FrameParser(sink);
  const frame = m(9, "ping!");
  equal(parser.feed(frame.slice(0, frame.length - 1)), 0);
  equal(parser.feed(frame.slice()), frame.length);
  deepEqual(sink.events, [["ping", toHex(encode("ping!"))]]);
});

Deno.test("FrameParser.feed() fails invalid UTF-8 before the rest of the frame arrives", () => {
  const sink = new Record();
  const parser = new FrameParser(sink);
  const payload = new Uint8Array(1000).fill(0x61);
  payload[10] = 0xff;
  const frame = m(1, payload);
  // Header (8 bytes) and the first 5 payload bytes: valid so far.
  equal(parser.feed(frame.slice(0, 13)), 13);
  let err: unknown;
  try {
    parser.feed(frame.slice(13, 30)); // contains the 0xff, 970 bytes still to come
  } catch (e) {
    err = e;
  }
  ok(err instanceof WebSocketError);
  equal(err.code, ErrorCode.InvalidUtf8);
  equal(err.closeCode, 1007);
});

Deno.test("FrameParser.feed() fails fast on a sequence that cannot complete", () => {
  const parser = new FrameParser(new Record());
  // U+110000 would start F4 90: invalid at the second byte.
  const frame = m(1, hex("f4 90 80 80 41 41 41"));
  equal(parser.feed(frame.slice(0, 7)), 7); // header + 1 payload byte
  let err: unknown;
  try {
    parser.feed(frame.slice(7, 8));
  } catch (e) {
    err = e;
  }
  ok(err instanceof WebSocketError);
  equal(err.code, ErrorCode.InvalidUtf8);
});

Deno.test("FrameParser.feed() rejects an oversize frame from its header alone", () => {
  const parser = new FrameParser(new Record(), { maxFrameSize: 1024 });
  let err: unknown;
  try {
    parser.feed(hex("82 ff 00 00 00 01 00 00 00 00 37 fa 21 3d"));
  } catch (e) {
    err = e;
  }
  ok(err instanceof WebSocketError);
  equal(err.code, ErrorCode.FrameTooBig);
  equal(err.closeCode, 1009);
});

Deno.test("FrameParser.feed() ignores everything after a violation", () => {
  const sink = new Record();
  const parser = new FrameParser(sink);
  let threw = false;
  try {
    parser.feed(hex("83 80 37 fa 21 3d"));
  } catch {
    threw = true;
  }
  ok(threw);
  ok(parser.done);
  const more = m(1, "x");
  equal(parser.feed(more), more.length);
  deepEqual(sink.events, []);
});

Deno.test("FrameParser() rejects invalid limits", () => {
  let threw = 0;
  for (const o of [{ maxFrameSize: -1 }, { maxMessageSize: 1.5 }, { maxFragments: NaN }]) {
    try {
      new FrameParser(new Record(), o);
    } catch (e) {
      if (e instanceof RangeError) threw++;
    }
  }
  equal(threw, 3);
});

Deno.test("FrameParser.feed() with reuseBuffer lends one buffer to every multi-read binary message", () => {
  const got: Uint8Array[] = [];
  const copies: number[][] = [];
  const sink = {
    onMessage: (d: string | Uint8Array) => {
      if (typeof d === "string") return;
      got.push(d);
      copies.push([...d]);
    },
    onPing() {},
    onPong() {},
    onClose() {},
  };
  for (const reuseBuffer of [false, true]) {
    got.length = 0;
    copies.length = 0;
    const parser = new FrameParser(sink, { role: "client", reuseBuffer });
    for (const fill of [1, 2, 3]) {
      const frame = buildFrame(2, new Uint8Array(3000).fill(fill));
      // Two pieces: the payload goes through the message buffer.
      const used = parser.feed(frame.subarray(0, 100));
      parser.feed(frame.subarray(used));
    }
    deepEqual(copies.map((c) => [c.length, c[0], c[2999]]), [
      [3000, 1, 1],
      [3000, 2, 2],
      [3000, 3, 3],
    ]);
    deepEqual(got[0]!.buffer === got[2]!.buffer, reuseBuffer);
  }
});

Deno.test("FrameParser.releaseBuffer() lets the kept message buffer go between messages only", () => {
  // The lent views, and copies of their bytes while lent.
  const views: Uint8Array[] = [];
  const got: Uint8Array[] = [];
  const sink = {
    onMessage: (d: string | Uint8Array) => {
      if (typeof d === "string") return;
      views.push(d);
      got.push(d.slice());
    },
    onPing() {},
    onPong() {},
    onClose() {},
  };
  const parser = new FrameParser(sink, { role: "client", reuseBuffer: true });
  /** One 3000-byte binary message of `fill`, fed in two pieces (through the message buffer). */
  const twoPieces = (fill: number, between?: () => void) => {
    const frame = buildFrame(2, new Uint8Array(3000).fill(fill));
    const used = parser.feed(frame.subarray(0, 100));
    between?.();
    parser.feed(frame.subarray(used));
  };
  twoPieces(1);
  twoPieces(2);
  parser.releaseBuffer();
  twoPieces(3);
  // Inside a message it does nothing: the bytes before it are kept.
  twoPieces(4, () => parser.releaseBuffer());
  twoPieces(5);
  deepEqual(got.map((d) => [d.length, d[0], d[2999]]), [
    [3000, 1, 1],
    [3000, 2, 2],
    [3000, 3, 3],
    [3000, 4, 4],
    [3000, 5, 5],
  ]);
  equal(views[0]!.buffer, views[1]!.buffer);
  ok(views[1]!.buffer !== views[2]!.buffer, "released: a new buffer");
  equal(views[2]!.buffer, views[3]!.buffer);
  equal(views[3]!.buffer, views[4]!.buffer);
});

Deno.test("FrameParser() by default takes a message in 2^20 frames, not one more", () => {
  /** `n` masked frames of `size` bytes (0x61) as one message: a text frame, then continuations. */
  const message = (n: number, size: number): Uint8Array => {
    const payload = new Uint8Array(size).fill(0x61);
    const first = buildFrame(1, payload, { mask: true, fin: false });
    const middle = buildFrame(0, payload, { mask: true, fin: false });
    const last = buildFrame(0, payload, { mask: true });
    const out = new Uint8Array(first.length + middle.length * (n - 2) + last.length);
    out.set(first);
    for (let i = 0; i < n - 2; i++) out.set(middle, first.length + i * middle.length);
    out.set(last, out.length - last.length);
    return out;
  };
  // Autobahn 9.3.1: 4 MiB of text in 64-byte frames, 65,537 frames in all.
  const texts: string[] = [];
  const sink = Object.assign(new Record(), {
    onMessage: (d: string | Uint8Array) => void texts.push(d as string),
  });
  const input = message(65537, 64);
  equal(new FrameParser(sink).feed(input), input.length);
  deepEqual(texts.map((t) => [t.length, t.charCodeAt(0)]), [[65537 * 64, 0x61]]);
  // Empty frames: 2^20 make a message, 2^20 + 1 close with 1009.
  const atLimit = new Record();
  new FrameParser(atLimit).feed(message(1 << 20, 0));
  deepEqual(atLimit.events, [["text", ""]]);
  let err: unknown;
  try {
    new FrameParser(new Record()).feed(message((1 << 20) + 1, 0));
  } catch (e) {
    err = e;
  }
  ok(err instanceof WebSocketError);
  equal(err.code, ErrorCode.TooManyFragments);
  equal(err.closeCode, 1009);
});
