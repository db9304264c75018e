// A conformance suite organised by RFC 6455 sections (the way the Autobahn
// test suite groups its cases), run over real TCP against the standalone
// server with a raw client that sends hand-built frames.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { buildFrame } from "./frame_builder.ts";
import { ErrorCode } from "./errors.ts";
import { encode, type Event, hex, RawClient, withServer } from "./_test_util.ts";

const TEXT = 1;
const BINARY = 2;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

function closePayload(code: number, reason = ""): Uint8Array {
  const r = encode(reason);
  const p = new Uint8Array(2 + r.length);
  p[0] = code >> 8;
  p[1] = code & 0xff;
  p.set(r, 2);
  return p;
}

/** Closes cleanly from the client side and checks the server echoes and closes TCP. */
async function closeClean(c: RawClient, code = 1000): Promise<void> {
  await c.sendFrame(CLOSE, closePayload(code));
  const close = await c.nextClose();
  equal(close.code, code);
  await c.expectEof();
}

/** Expects the server to fail the connection with `code`, then close TCP. */
async function expectFail(c: RawClient, code: number): Promise<Event[]> {
  const seen: Event[] = [];
  for (;;) {
    const e = await c.next();
    if (e.type === "close") {
      equal(e.code, code, `close code (saw ${JSON.stringify(seen)})`);
      break;
    }
    if (e.type === "eof") throw new Error(`eof before close ${code}`);
    seen.push(e);
  }
  await c.expectEof();
  return seen;
}

async function session(port: number, fn: (c: RawClient) => Promise<void>): Promise<void> {
  const c = await RawClient.open(port);
  try {
    await fn(c);
  } finally {
    c.close();
  }
}

// ---- 5.2 base framing (Autobahn 1.x) ----

Deno.test("WebSocketServer 5.2 framing: echoes text and binary of boundary sizes", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      for (const n of [0, 1, 125, 126, 127, 128, 65535, 65536, 100000]) {
        const text = "x".repeat(n);
        await c.sendFrame(TEXT, text);
        deepEqual(await c.next(), { type: "text", data: text }, `text ${n}`);
        const bin = new Uint8Array(n).map((_, i) => i * 7);
        await c.sendFrame(BINARY, bin);
        deepEqual(await c.next(), { type: "binary", data: bin }, `binary ${n}`);
      }
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.2 framing: a frame sent one byte per write is echoed", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const frame = buildFrame(TEXT, encode("byte by byte"), { mask: true });
      for (const b of frame) await c.write(new Uint8Array([b]));
      deepEqual(await c.next(), { type: "text", data: "byte by byte" });
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.2 framing: many frames in one write are echoed in order", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 200; i++) frames.push(buildFrame(TEXT, encode(`m${i}`), { mask: true }));
      const all = new Uint8Array(frames.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const x of frames) {
        all.set(x, at);
        at += x.length;
      }
      await c.write(all);
      for (let i = 0; i < 200; i++) deepEqual(await c.next(), { type: "text", data: `m${i}` });
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.1 masking: an unmasked client frame closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "hi", { mask: false });
      await expectFail(c, 1002);
    });
    await waitFor(() => f.handler.closes.length === 1);
    deepEqual(f.handler.closes[0], { code: 1002, reason: "" });
    equal(f.handler.errors[0]!.code, ErrorCode.MaskRequired);
  });
});

Deno.test("WebSocketServer 5.2 framing: a 64-bit length with the top bit set closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.write(hex("82 ff 80 00 00 00 00 00 00 01 01 02 03 04"));
      await expectFail(c, 1002);
    });
  });
});

// ---- 5.5.2 / 5.5.3 ping and pong (Autobahn 2.x) ----

Deno.test("WebSocketServer 5.5.2 ping: answered with a pong of the same payload", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      for (const p of [new Uint8Array(0), encode("hello"), new Uint8Array(125).fill(0xfe)]) {
        await c.sendFrame(PING, p);
        deepEqual(await c.next(), { type: "pong", data: p });
      }
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.5.2 ping: ten pings in one write get ten pongs", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const frames = Array.from(
        { length: 10 },
        (_, i) => buildFrame(PING, encode(`${i}`), { mask: true }),
      );
      await c.write(new Uint8Array(frames.flatMap((x) => [...x])));
      for (let i = 0; i < 10; i++) {
        deepEqual(await c.next(), { type: "pong", data: encode(`${i}`) });
      }
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.5.2 ping: a 126-byte ping closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(PING, new Uint8Array(126));
      await expectFail(c, 1002);
    });
  });
});

Deno.test("WebSocketServer 5.5.3 pong: an unsolicited pong is ignored", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(PONG, "unsolicited");
      await c.sendFrame(TEXT, "after");
      deepEqual(await c.next(), { type: "text", data: "after" });
      await closeClean(c);
    });
  });
});

// ---- 5.2 reserved bits (Autobahn 3.x) ----

for (const rsv of [1, 2, 3, 4, 5, 6, 7]) {
  Deno.test(`WebSocketServer 5.2 reserved bits: RSV=${rsv} closes with 1002 after earlier echoes`, async () => {
    await withServer(async (f) => {
      await session(f.port, async (c) => {
        await c.sendFrame(TEXT, "before");
        await c.sendFrame(TEXT, "bad", { rsv });
        await c.sendFrame(TEXT, "after");
        const seen = await expectFail(c, 1002);
        deepEqual(seen, [{ type: "text", data: "before" }]);
      });
    });
  });
}

Deno.test("WebSocketServer 5.2 reserved bits: RSV on a ping closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(PING, "p", { rsv: 4 });
      await expectFail(c, 1002);
    });
  });
});

// ---- 5.2 opcodes (Autobahn 4.x) ----

for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
  Deno.test(`WebSocketServer 5.2 opcodes: reserved opcode ${op} closes with 1002`, async () => {
    await withServer(async (f) => {
      await session(f.port, async (c) => {
        await c.sendFrame(TEXT, "before");
        await c.sendFrame(op, "payload");
        await c.sendFrame(PING, "after");
        const seen = await expectFail(c, 1002);
        deepEqual(seen, [{ type: "text", data: "before" }]);
      });
    });
  });
}

// ---- 5.4 fragmentation (Autobahn 5.x) ----

Deno.test("WebSocketServer 5.4 fragmentation: a fragmented ping closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(PING, "frag", { fin: false });
      await expectFail(c, 1002);
    });
  });
});

Deno.test("WebSocketServer 5.4 fragmentation: fragmented text and binary are reassembled", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "frag", { fin: false });
      await c.sendFrame(0, "men", { fin: false });
      await c.sendFrame(0, "ted");
      deepEqual(await c.next(), { type: "text", data: "fragmented" });
      await c.sendFrame(BINARY, hex("01"), { fin: false });
      await c.sendFrame(0, hex(""), { fin: false });
      await c.sendFrame(0, hex("0203"));
      deepEqual(await c.next(), { type: "binary", data: hex("010203") });
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.4 fragmentation: pings between fragments are answered first", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "a", { fin: false });
      await c.sendFrame(PING, "p1");
      deepEqual(await c.next(), { type: "pong", data: encode("p1") });
      await c.sendFrame(0, "b", { fin: false });
      await c.sendFrame(PING, "p2");
      await c.sendFrame(0, "c");
      deepEqual(await c.next(), { type: "pong", data: encode("p2") });
      deepEqual(await c.next(), { type: "text", data: "abc" });
      await closeClean(c);
    });
  });
});

Deno.test("WebSocketServer 5.4 fragmentation: a continuation without a start closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(0, "orphan");
      await expectFail(c, 1002);
    });
  });
});

Deno.test("WebSocketServer 5.4 fragmentation: a new message inside a fragmented one closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "start", { fin: false });
      await c.sendFrame(TEXT, "again");
      await expectFail(c, 1002);
    });
  });
});

// ---- 8.1 UTF-8 handling (Autobahn 6.x) ----

Deno.test("WebSocketServer 8.1 UTF-8: valid text in any fragmentation is echoed", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const text = "\u03ba\u1f79\u03c3\u03bc\u03b5 \u{1f600} \ufeff end";
      const bytes = encode(text);
      for (let cut = 1; cut < bytes.length; cut += 3) {
        await c.sendFrame(TEXT, bytes.subarray(0, cut), { fin: false });
        await c.sendFrame(0, bytes.subarray(cut));
        deepEqual(await c.next(), { type: "text", data: text }, `cut ${cut}`);
      }
      await closeClean(c);
    });
  });
});

const BAD_UTF8 = [
  "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", // surrogate
  "c0 af", // overlong
  "f4 90 80 80", // above U+10FFFF
  "80",
  "41 c2", // truncated at the end
  "fe ff",
];
for (const bad of BAD_UTF8) {
  Deno.test(`WebSocketServer 8.1 UTF-8: text ${bad} closes with 1007`, async () => {
    await withServer(async (f) => {
      await session(f.port, async (c) => {
        await c.sendFrame(TEXT, hex(bad));
        await expectFail(c, 1007);
      });
    });
  });
}

Deno.test("WebSocketServer 8.1 UTF-8: invalid text in a later fragment closes with 1007", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "fine", { fin: false });
      await c.sendFrame(0, hex("ed a0 80"), { fin: false });
      await expectFail(c, 1007);
    });
  });
});

Deno.test("WebSocketServer 8.1 UTF-8: fails fast, before the rest of the frame is sent", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const payload = new Uint8Array(10000).fill(0x61);
      payload[100] = 0xff;
      const frame = buildFrame(TEXT, payload, { mask: true });
      await c.write(frame.subarray(0, 200)); // the rest is never sent
      await expectFail(c, 1007);
    });
  });
});

// ---- 7.4 close handling (Autobahn 7.x) ----

Deno.test("WebSocketServer 7.1 close: echoes valid codes and reports code and reason", async () => {
  for (
    const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
  ) {
    await withServer(async (f) => {
      await session(f.port, async (c) => {
        await c.sendFrame(CLOSE, closePayload(code, "bye"));
        equal((await c.nextClose()).code, code);
        await c.expectEof();
      });
      await waitFor(() => f.handler.closes.length === 1);
      deepEqual(f.handler.closes[0], { code, reason: "bye" });
    });
  }
});

Deno.test("WebSocketServer 7.1 close: an empty close is answered with an empty close", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(CLOSE, "");
      equal((await c.nextClose()).code, 1005);
      await c.expectEof();
    });
    await waitFor(() => f.handler.closes.length === 1);
    deepEqual(f.handler.closes[0], { code: 1005, reason: "" });
  });
});

Deno.test("WebSocketServer 7.1 close: a 1-byte close payload closes with 1002", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(CLOSE, hex("03"));
      await expectFail(c, 1002);
    });
  });
});

for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
  Deno.test(`WebSocketServer 7.4 close: invalid code ${code} closes with 1002`, async () => {
    await withServer(async (f) => {
      await session(f.port, async (c) => {
        await c.sendFrame(CLOSE, closePayload(code));
        await expectFail(c, 1002);
      });
    });
  });
}

Deno.test("WebSocketServer 7.1 close: a reason that is not UTF-8 closes with 1007", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const p = new Uint8Array([0x03, 0xe8, 0xed, 0xa0, 0x80]);
      await c.sendFrame(CLOSE, p);
      await expectFail(c, 1007);
    });
  });
});

Deno.test("WebSocketServer 7.1 close: frames after the close frame are ignored", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(CLOSE, closePayload(1000));
      await c.sendFrame(TEXT, "ignored");
      await c.sendFrame(PING, "ignored");
      equal((await c.nextClose()).code, 1000);
      deepEqual(await c.expectEof(), []);
    });
  });
});

Deno.test("WebSocketServer 7.1 close: a message before the close is echoed first", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const a = buildFrame(TEXT, encode("last"), { mask: true });
      const b = buildFrame(CLOSE, closePayload(1000), { mask: true });
      const both = new Uint8Array(a.length + b.length);
      both.set(a);
      both.set(b, a.length);
      await c.write(both);
      deepEqual(await c.next(), { type: "text", data: "last" });
      equal((await c.nextClose()).code, 1000);
      await c.expectEof();
    });
  });
});

// ---- 10.4 limits (Autobahn 9.x sizes, with small limits) ----

Deno.test("WebSocketServer 10.4 limits: a message over maxMessageSize closes with 1009", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(BINARY, new Uint8Array(1000));
      deepEqual((await c.next()).type, "binary");
      await c.sendFrame(BINARY, new Uint8Array(600), { fin: false });
      await c.sendFrame(0, new Uint8Array(600));
      await expectFail(c, 1009);
    });
    await waitFor(() => f.handler.errors.length === 1);
    equal(f.handler.errors[0]!.code, ErrorCode.MessageTooBig);
  }, { maxMessageSize: 1024 });
});

Deno.test("WebSocketServer 10.4 limits: an oversize frame header alone closes with 1009", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.write(hex("82 ff 00 00 00 00 40 00 00 00 01 02 03 04")); // 1 GiB, no payload
      await expectFail(c, 1009);
    });
  }, { maxFrameSize: 65536 });
});

Deno.test("WebSocketServer 10.4 limits: more fragments than maxFragments closes with 1009", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      await c.sendFrame(TEXT, "", { fin: false });
      for (let i = 0; i < 20; i++) await c.sendFrame(0, "", { fin: false });
      await expectFail(c, 1009);
    });
  }, { maxFragments: 16 });
});

// ---- handshake leftovers, timeouts, shutdown ----

Deno.test("WebSocketServer processes frames sent in the same write as the handshake", async () => {
  await withServer(async (f) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      const req = encode(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      const frame = buildFrame(TEXT, encode("early"), { mask: true });
      const all = new Uint8Array(req.length + frame.length);
      all.set(req);
      all.set(frame, req.length);
      await conn.write(all);
      const buf = new Uint8Array(4096);
      let got = "";
      while (!got.includes("early")) {
        const n = await conn.read(buf);
        if (n === null) break;
        got += String.fromCharCode(...buf.subarray(0, n));
      }
      ok(got.startsWith("HTTP/1.1 101 "));
      ok(got.endsWith("\x81\x05early"));
    } finally {
      conn.close();
    }
  });
});

Deno.test("WebSocketServer idle timeout: pings a silent peer and keeps it while it answers", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      const e = await c.next(2000);
      equal(e.type, "ping");
      await c.sendFrame(PONG, "");
      equal((await c.next(2000)).type, "ping");
      await c.sendFrame(PONG, "");
      await closeClean(c);
    });
  }, { idleTimeout: 60, pongTimeout: 500 });
});

Deno.test("WebSocketServer idle timeout: closes a peer that does not answer the ping", async () => {
  await withServer(async (f) => {
    await session(f.port, async (c) => {
      equal((await c.next(2000)).type, "ping");
      const rest = await c.expectEof(2000); // no pong sent
      deepEqual(rest, []);
    });
    await waitFor(() => f.handler.closes.length === 1);
    equal(f.handler.closes[0]!.code, 1006);
    equal(f.handler.errors[0]!.code, ErrorCode.PongTimeout);
  }, { idleTimeout: 50, pongTimeout: 100 });
});

Deno.test("WebSocketServer graceful shutdown sends 1001 and waits for the handshake", async () => {
  const { Fixture } = await import("./_test_util.ts");
  const f = new Fixture();
  const c = await RawClient.open(f.port);
  try {
    const stopping = f.stop();
    const close = await c.nextClose();
    deepEqual(close, { type: "close", code: 1001, reason: "server shutting down" });
    await c.sendFrame(CLOSE, closePayload(1001));
    await c.expectEof();
    await stopping;
    deepEqual(f.handler.closes, [{ code: 1001, reason: "" }]);
  } finally {
    c.close();
  }
});

Deno.test("WebSocketServer close timeout: closes TCP when the peer never answers a close", async () => {
  const { Fixture } = await import("./_test_util.ts");
  const f = new Fixture(undefined, { closeTimeout: 100 });
  const c = await RawClient.open(f.port);
  try {
    const started = Date.now();
    const stopping = f.stop();
    equal((await c.nextClose()).code, 1001);
    await c.expectEof(2000); // we never answer
    ok(Date.now() - started < 1500);
    await stopping;
    equal(f.handler.closes[0]!.code, 1006);
  } finally {
    c.close();
  }
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
