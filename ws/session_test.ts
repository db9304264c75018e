import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { Deadlines } from "@coroio/core";
import { ErrorCode, type WebSocketError } from "./errors.ts";
import { buildFrame } from "./frame_builder.ts";
import {
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "./session.ts";
import { encode, withTimeout } from "./_test_util.ts";

async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
    l.accept(),
  ]);
  l.close();
  return [a, b];
}

/** Counts read and write syscalls. */
class Counting {
  reads = 0;
  writes = 0;
  conn: Deno.Conn;
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }
  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    return this.conn.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    this.writes++;
    return this.conn.write(p);
  }
  close(): void {
    this.conn.close();
  }
  closeWrite(): Promise<void> {
    return this.conn.closeWrite();
  }
}

class Log implements WebSocketHandler {
  events: unknown[] = [];
  errors: WebSocketError[] = [];
  reply = false;
  onOpen(ws: WebSocketSession): void {
    this.events.push(["open", ws.readyState]);
  }
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    this.events.push(["message", data]);
    if (this.reply) ws.send(data);
  }
  onPing(_ws: WebSocketSession, data: Uint8Array): void {
    this.events.push(["ping", new TextDecoder().decode(data)]);
  }
  onPong(_ws: WebSocketSession, data: Uint8Array): void {
    this.events.push(["pong", new TextDecoder().decode(data)]);
  }
  onClose(ws: WebSocketSession, code: number, reason: string): void {
    this.events.push(["close", code, reason, ws.readyState]);
  }
  onError(_ws: WebSocketSession, error: WebSocketError): void {
    this.errors.push(error);
  }
}

interface Pair {
  server: WebSocketSession;
  client: WebSocketSession;
  serverLog: Log;
  clientLog: Log;
  deadlines: Deadlines;
  done(): Promise<void>;
}

async function sessions(
  serverOpts: WebSocketSessionOptions = {},
  clientOpts: WebSocketSessionOptions = {},
  buffered: Uint8Array = new Uint8Array(0),
): Promise<Pair> {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const serverLog = new Log();
  const clientLog = new Log();
  const base = { deadlines, closeTimeout: 300 };
  const server = new WebSocketSession(b, buffered, serverLog, {
    ...base,
    role: "server",
    ...serverOpts,
  });
  const client = new WebSocketSession(a, new Uint8Array(0), clientLog, {
    ...base,
    role: "client",
    ...clientOpts,
  });
  return {
    server,
    client,
    serverLog,
    clientLog,
    deadlines,
    async done() {
      await withTimeout(Promise.all([server.run(), client.run()]), 5000, "sessions end");
      deadlines.close();
    },
  };
}

Deno.test("WebSocketSession.run() processes the buffered bytes before reading the socket", async () => {
  const buffered = buildFrame(1, encode("from the buffered bytes"), { mask: true });
  const p = await sessions({}, {}, buffered);
  p.server.run();
  p.client.run();
  await p.client.send("from the socket");
  await waitFor(() => p.serverLog.events.length === 3);
  deepEqual(p.serverLog.events, [
    ["open", 1],
    ["message", "from the buffered bytes"],
    ["message", "from the socket"],
  ]);
  await p.client.close();
  await p.done();
  deepEqual(p.serverLog.events.at(-1), ["close", 1000, "", 3]);
  deepEqual(p.clientLog.events.at(-1), ["close", 1000, "", 3]);
});

Deno.test("WebSocketSession.close() delivers code and reason both ways", async () => {
  const p = await sessions();
  p.server.run();
  p.client.run();
  equal(p.server.readyState, 1);
  const closing = p.server.close(4444, "r\u00e9ason");
  equal(p.server.readyState, 2);
  await closing;
  await p.done();
  deepEqual(p.clientLog.events.at(-1), ["close", 4444, "r\u00e9ason", 3]);
  deepEqual(p.serverLog.events.at(-1), ["close", 4444, "", 3]);
});

Deno.test("WebSocketSession.send() batches frames sent while a write is in flight", async () => {
  const [a, b] = await tcpPair();
  const counting = new Counting(b);
  const deadlines = new Deadlines({ resolution: 5 });
  const server = new WebSocketSession(
    counting as unknown as Deno.Conn,
    new Uint8Array(0),
    new Log(),
    { deadlines },
  );
  const client = new WebSocketSession(a, new Uint8Array(0), null, { role: "client", deadlines });
  server.run();
  client.run();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 500; i++) sends.push(server.send(`message ${i}`));
  ok(server.bufferedAmount > 0);
  await Promise.all(sends);
  equal(server.bufferedAmount, 0);
  ok(counting.writes <= 3, `${counting.writes} write syscalls for 500 frames`);
  let n = 0;
  for await (const m of client) {
    equal(m, `message ${n}`);
    if (++n === 500) break; // leaving the loop closes the client
  }
  await withTimeout(Promise.all([server.run(), client.run()]), 3000, "end");
  deadlines.close();
});

Deno.test("WebSocketSession answers pings and reports pings and pongs to the handler", async () => {
  const p = await sessions();
  p.server.run();
  p.client.run();
  await p.client.ping("hello?");
  await waitFor(() => p.clientLog.events.some((e) => (e as string[])[0] === "pong"));
  deepEqual(p.serverLog.events.slice(1), [["ping", "hello?"]]);
  deepEqual(p.clientLog.events.slice(1), [["pong", "hello?"]]);
  throws(() => p.client.ping(new Uint8Array(126)), RangeError);
  await p.client.close();
  await p.done();
});

class Thrower extends Log {
  constructor(readonly async: boolean) {
    super();
  }
  override onMessage(): void | Promise<void> {
    if (this.async) return Promise.reject(new Error("async boom"));
    throw new Error("boom");
  }
}

for (const async of [false, true]) {
  Deno.test(`WebSocketSession fails with 1011 when onMessage ${async ? "rejects" : "throws"}`, async () => {
    const [a, b] = await tcpPair();
    const deadlines = new Deadlines({ resolution: 5 });
    const h = new Thrower(async);
    const server = new WebSocketSession(b, new Uint8Array(0), h, { deadlines, closeTimeout: 200 });
    const client = new WebSocketSession(a, new Uint8Array(0), new Log(), {
      role: "client",
      deadlines,
    });
    server.run();
    client.run();
    await client.send("x");
    await withTimeout(Promise.all([server.run(), client.run()]), 3000, "end");
    deadlines.close();
    equal(h.errors[0]!.code, ErrorCode.HandlerError);
    equal(server.closeCode, 1011);
    equal(client.closeCode, 1011);
  });
}

Deno.test("WebSocketSession.send() after close resolves and sends nothing", async () => {
  const p = await sessions();
  p.server.run();
  p.client.run();
  p.clientLog.reply = false;
  const closing = p.client.close();
  await p.client.send("dropped");
  await closing;
  await p.done();
  deepEqual(p.serverLog.events.filter((e) => (e as string[])[0] === "message"), []);
});

Deno.test("WebSocketSession.close() rejects codes and reasons that may not be sent", async () => {
  const p = await sessions();
  for (const code of [999, 1005, 1006, 1015, 2000, 5000]) {
    throws(() => p.server.close(code), RangeError);
  }
  throws(() => p.server.close(1000, "x".repeat(124)), RangeError);
  throws(() => p.server.send(42 as unknown as string), TypeError);
  p.server.run();
  p.client.run();
  await p.server.close();
  await p.done();
});

Deno.test("WebSocketSession backpressure 'close' fails a peer that stops reading with 1008", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(b, new Uint8Array(0), log, {
    deadlines,
    highWaterMark: 64 * 1024,
    backpressure: "close",
    closeTimeout: 100,
  });
  server.run();
  const chunk = new Uint8Array(32 * 1024);
  for (let i = 0; i < 1000 && server.readyState === 1; i++) {
    server.send(chunk);
    await new Promise((r) => setTimeout(r, 0));
  }
  await withTimeout(server.run(), 3000, "server end");
  a.close();
  deadlines.close();
  equal(log.errors[0]?.code, ErrorCode.SlowConsumer);
  equal(server.closeCode, 1008);
});

Deno.test("WebSocketSession backpressure 'wait' bounds the queue while the peer is slow", async () => {
  const p = await sessions({ highWaterMark: 64 * 1024 });
  p.server.run();
  let maxQueued = 0;
  const chunk = new Uint8Array(16 * 1024);
  const sending = (async () => {
    for (let i = 0; i < 200; i++) {
      await p.server.send(chunk);
      maxQueued = Math.max(maxQueued, p.server.bufferedAmount);
    }
  })();
  await new Promise((r) => setTimeout(r, 50)); // the client does not read yet
  p.client.run();
  await withTimeout(sending, 5000, "sending");
  await waitFor(() => p.clientLog.events.length === 201);
  ok(maxQueued <= 64 * 1024 + chunk.length + 64, `queue reached ${maxQueued}`);
  await p.server.close();
  await p.done();
});

Deno.test("WebSocketSession (client role) closes TCP itself when the server never does", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const client = new WebSocketSession(a, new Uint8Array(0), new Log(), {
    role: "client",
    deadlines,
    closeTimeout: 50,
  });
  client.run();
  // A "server" that echoes the close frame but keeps TCP open.
  await b.write(buildFrame(8, new Uint8Array([0x03, 0xe8])));
  await withTimeout(client.run(), 2000, "client end");
  equal(client.closeCode, 1000);
  b.close();
  deadlines.close();
});

Deno.test("WebSocketSession async iterator ends when the peer closes", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const server = new WebSocketSession(b, new Uint8Array(0), null, { deadlines });
  const client = new WebSocketSession(a, new Uint8Array(0), null, { role: "client", deadlines });
  server.run();
  client.run();
  for (let i = 0; i < 100; i++) client.send(`${i}`); // more than the iterator queue holds
  client.close(1000, "enough");
  const got: unknown[] = [];
  for await (const m of server) got.push(m);
  equal(got.length, 100);
  equal(server.closeReason, "enough");
  throws(
    () => new WebSocketSession(a, new Uint8Array(0), new Log())[Symbol.asyncIterator](),
    TypeError,
  );
  await withTimeout(Promise.all([server.run(), client.run()]), 3000, "end");
  deadlines.close();
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("WebSocketSession.run() grows its reads for bulk data", async () => {
  const [a, b] = await tcpPair();
  const counting = new Counting(b);
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(counting as unknown as Deno.Conn, new Uint8Array(0), log, {
    deadlines,
  });
  const client = new WebSocketSession(a, new Uint8Array(0), null, { role: "client", deadlines });
  server.run();
  client.run();
  const big = new Uint8Array(4 << 20).map((_, i) => i);
  await client.send(big);
  await waitFor(() => log.events.length === 2);
  deepEqual(log.events[1], ["message", big]);
  // 2 KiB reads would take 2048 syscalls; growing reads need far fewer.
  ok(counting.reads < 300, `${counting.reads} reads for 4 MiB`);
  await client.close();
  await withTimeout(Promise.all([server.run(), client.run()]), 3000, "end");
  deadlines.close();
});

/** Records the buffer of each read; optionally hands out at most `limit` bytes per read. */
class Recording extends Counting {
  buffers: ArrayBufferLike[] = [];
  sizes: number[] = [];
  override read(p: Uint8Array): Promise<number | null> {
    this.buffers.push(p.buffer);
    this.sizes.push(p.length);
    return super.read(p);
  }
}

Deno.test("WebSocketSession.run() reads large payloads straight into the message", async () => {
  const [a, b] = await tcpPair();
  const recording = new Recording(b);
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(recording as unknown as Deno.Conn, new Uint8Array(0), log, {
    deadlines,
  });
  const client = new WebSocketSession(a, new Uint8Array(0), null, { role: "client", deadlines });
  server.run();
  client.run();
  const big = new Uint8Array(300_000).map((_, i) => i * 7);
  await client.send(big);
  await waitFor(() => log.events.length === 2);
  const got = log.events[1] as [string, Uint8Array];
  deepEqual(got, ["message", big]);
  // The message's own buffer was read into: no copy through the read buffer.
  ok(recording.buffers.includes(got[1].buffer), "the message buffer was read into");
  // ... and the read buffer did not grow for it.
  ok(Math.max(...recording.sizes.filter((_, i) => recording.buffers[i] !== got[1].buffer)) <= 1024);
  await client.close();
  await withTimeout(Promise.all([server.run(), client.run()]), 3000, "end");
  deadlines.close();
});

Deno.test("WebSocketSession round-trips large text and fragmented messages that arrive in pieces", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  log.reply = true;
  const server = new WebSocketSession(b, new Uint8Array(0), log, { deadlines, readBufferSize: 64 });
  server.run();
  const text = "h\u00e9llo \u2603 \u{1F600} ".repeat(5000); // multi-byte sequences across reads
  const bin = new Uint8Array(70_000).map((_, i) => i);
  const frames = [
    buildFrame(1, encode(text), { mask: true }),
    buildFrame(2, bin.subarray(0, 20_000), { mask: true, fin: false }),
    buildFrame(9, encode("mid"), { mask: true }), // a ping between fragments
    buildFrame(0, bin.subarray(20_000, 50_000), { mask: true, fin: false }),
    buildFrame(0, bin.subarray(50_000), { mask: true }),
    buildFrame(1, encode("small"), { mask: true }),
  ];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  // Odd-sized pieces with pauses, so that reads stop inside headers and payloads.
  for (let off = 0; off < all.length;) {
    const n = Math.min(all.length - off, 1 + ((off * 7919) % 40_000));
    await a.write(all.subarray(off, off + n));
    off += n;
    await new Promise((r) => setTimeout(r, 1));
  }
  await waitFor(() => log.events.length === 5);
  deepEqual(log.events.slice(1), [
    ["message", text],
    ["ping", "mid"],
    ["message", bin],
    ["message", "small"],
  ]);
  a.close();
  await withTimeout(server.run(), 3000, "end");
  deadlines.close();
});

Deno.test("WebSocketSession fails with 1007 on invalid UTF-8 late in a large text frame", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(b, new Uint8Array(0), log, { deadlines });
  server.run();
  const payload = new Uint8Array(100_000).fill(0x61);
  payload[90_000] = 0xff;
  await a.write(buildFrame(1, payload, { mask: true }));
  await waitFor(() => log.errors.length === 1);
  equal(log.errors[0]!.code, ErrorCode.InvalidUtf8);
  const buf = new Uint8Array(16);
  const n = await a.read(buf);
  deepEqual(buf.subarray(0, n!), new Uint8Array([0x88, 0x02, 0x03, 0xef]));
  a.close();
  await withTimeout(server.run(), 3000, "end");
  deepEqual(log.events.at(-1), ["close", 1007, "", 3]);
  deadlines.close();
});

Deno.test("WebSocketSession() rejects a readBufferSize below 16", async () => {
  const [a, b] = await tcpPair();
  throws(
    () => new WebSocketSession(b, new Uint8Array(0), new Log(), { readBufferSize: 8 }),
    RangeError,
  );
  a.close();
  b.close();
});

Deno.test("WebSocketSession() checks a reused options object again after it changed", async () => {
  const [a, b] = await tcpPair();
  // Sessions made with one options object share its checked values; a
  // change to the object is seen by the next session, valid or not.
  const cases: [keyof WebSocketSessionOptions, unknown][] = [
    ["idleTimeout", -1],
    ["pongTimeout", 1.5],
    ["closeTimeout", -5],
    ["highWaterMark", -1],
    ["maxMessageSize", -1],
    ["maxFrameSize", -1],
    ["maxFragments", -1],
    ["readBufferSize", 8],
  ];
  for (const [key, bad] of cases) {
    const options: WebSocketSessionOptions = {};
    new WebSocketSession(b, new Uint8Array(0), new Log(), options);
    (options as Record<string, unknown>)[key] = bad;
    throws(() => new WebSocketSession(b, new Uint8Array(0), new Log(), options), RangeError, key);
    delete options[key];
    new WebSocketSession(b, new Uint8Array(0), new Log(), options);
  }
  a.close();
  b.close();
});

Deno.test("WebSocketSession sessions sharing an options object keep their own limits after it changed", async () => {
  const deadlines = new Deadlines({ resolution: 5 });
  const options: WebSocketSessionOptions = { maxMessageSize: 4, deadlines, closeTimeout: 300 };
  const made: [Deno.TcpConn, WebSocketSession][] = [];
  for (const limit of [4, 1024]) {
    options.maxMessageSize = limit;
    const [a, b] = await tcpPair();
    const server = new WebSocketSession(b, new Uint8Array(0), new Log(), options);
    server.run();
    made.push([a, server]);
  }
  // The first session was made with a 4-byte limit: 5 bytes fail it with 1009.
  for (const [[a, server], code] of made.map((m, i) => [m, i === 0 ? 1009 : 1000] as const)) {
    await a.write(buildFrame(1, encode("12345"), { mask: true }));
    if (code === 1000) await a.write(buildFrame(8, new Uint8Array([3, 232]), { mask: true }));
    await withTimeout(server.done, 3000, "server done");
    equal(server.closeCode, code);
    a.close();
  }
  deadlines.close();
});

Deno.test("WebSocketSession.run() starts with a small read buffer and grows it while reads fill it", async () => {
  const [a, b] = await tcpPair();
  const recording = new Recording(b);
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(recording as unknown as Deno.Conn, new Uint8Array(0), log, {
    deadlines,
  });
  server.run();
  const frame = buildFrame(1, encode("x".repeat(32)), { mask: true });
  const burst = new Uint8Array(frame.length * 200);
  for (let i = 0; i < 200; i++) burst.set(frame, i * frame.length);
  await a.write(burst);
  await waitFor(() => log.events.length === 201);
  equal(recording.sizes[0], 256);
  // Each read that filled the buffer asked for one twice as large.
  for (let i = 1; i < recording.sizes.length; i++) {
    ok(recording.sizes[i]! <= 2 * recording.sizes[i - 1]!, `${recording.sizes}`);
  }
  ok(Math.max(...recording.sizes) > 1024, `${recording.sizes}`);
  // Drained after small reads (core's policy: 4 in a row), it goes back to
  // readBufferSize (1024).
  for (let i = 0; i < 5; i++) {
    await a.write(frame);
    await waitFor(() => log.events.length === 202 + i);
  }
  equal(recording.sizes.at(-1), 1024);
  a.close();
  await withTimeout(server.run(), 3000, "end");
  deadlines.close();
});

/** Reads exactly `n` bytes. */
async function readN(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error(`connection ended after ${got} of ${n} bytes`);
    got += r;
  }
  return buf;
}

Deno.test("WebSocketSession.done settles once TCP is closed, and run() returns it", async () => {
  const p = await sessions();
  let settled = false;
  p.server.done.then(() => settled = true);
  equal(p.server.run(), p.server.done);
  equal(p.server.run(), p.server.done, "run() again: the same promise");
  p.client.run();
  await p.client.send("hi");
  await waitFor(() => p.serverLog.events.length === 2);
  equal(settled, false, "not before the session ended");
  await p.client.close();
  await withTimeout(p.server.done, 3000, "server done");
  equal(settled, true);
  equal(p.server.readyState, 3);
  deepEqual(p.serverLog.events.at(-1), ["close", 1000, "", 3], "onClose ran before done");
  await p.done();
});

const SHUTDOWN_FRAME = [0x88, 22, 0x03, 0xe9, ...encode("server shutting down")];

Deno.test("WebSocketSession.shutdown() closes with 1001 once, then done settles", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(b, new Uint8Array(0), log, { deadlines });
  server.run();
  server.shutdown();
  equal(server.readyState, 2);
  server.shutdown(); // idempotent: no second close frame
  deepEqual([...await readN(a, SHUTDOWN_FRAME.length)], SHUTDOWN_FRAME);
  await a.write(buildFrame(8, new Uint8Array([0x03, 0xe9]), { mask: true }));
  await withTimeout(server.done, 3000, "done");
  equal(await a.read(new Uint8Array(16)), null, "nothing after the close frame, then EOF");
  deepEqual(log.events.at(-1), ["close", 1001, "", 3]);
  server.shutdown(); // after the end: nothing, no throw
  a.close();
  deadlines.close();
});

Deno.test("WebSocketSession.shutdown() starts a session that was not run", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  const server = new WebSocketSession(b, new Uint8Array(0), log, { deadlines });
  server.shutdown();
  deepEqual([...await readN(a, SHUTDOWN_FRAME.length)], SHUTDOWN_FRAME);
  await a.write(buildFrame(8, new Uint8Array([0x03, 0xe9]), { mask: true }));
  await withTimeout(server.done, 3000, "done");
  equal(server.run(), server.done);
  // onOpen saw the session already closing (2); the close frame came back.
  deepEqual(log.events, [["open", 2], ["close", 1001, "", 3]]);
  a.close();
  deadlines.close();
});

/** Whether `data` is a Uint8Array spanning its whole buffer. */
function owned(data: unknown): boolean {
  return data instanceof Uint8Array && data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength;
}

for (
  const c of [
    { name: "owned arrays by default", options: {}, owned: true },
    { name: "views with borrowMessages", options: { borrowMessages: true }, owned: false },
  ]
) {
  Deno.test(`WebSocketSession delivers small binary messages as ${c.name}`, async () => {
    const p = await sessions(c.options);
    p.server.run();
    p.client.run();
    const sent = [encode("first"), encode("second"), new Uint8Array(512).fill(7)];
    for (const m of sent) p.client.send(m);
    await waitFor(() => p.serverLog.events.length === 1 + sent.length);
    const got = p.serverLog.events.slice(1).map((e) => (e as [string, Uint8Array])[1]);
    deepEqual(got, sent);
    // The default: each message's buffer holds its bytes and nothing else.
    // Borrowed: the small ones are views into a larger, shared buffer.
    if (c.owned) { for (const m of got) deepEqual(new Uint8Array(m.buffer), m); }
    deepEqual(got.map(owned), c.owned ? [true, true, true] : [false, false, true]);
    await p.client.close();
    await p.done();
  });
}

Deno.test("WebSocketSession async iterator yields owned binary messages even with borrowMessages", async () => {
  const [a, b] = await tcpPair();
  const deadlines = new Deadlines({ resolution: 5 });
  const server = new WebSocketSession(b, new Uint8Array(0), null, {
    deadlines,
    borrowMessages: true,
  });
  const client = new WebSocketSession(a, new Uint8Array(0), null, { role: "client", deadlines });
  server.run();
  client.run();
  await client.send(encode("one"));
  await client.send(encode("two"));
  const got: unknown[] = [];
  for await (const m of server) {
    got.push(m);
    if (got.length === 2) break;
  }
  deepEqual(got, [encode("one"), encode("two")]);
  ok(got.every(owned));
  await withTimeout(Promise.all([server.done, client.run()]), 3000, "end");
  deadlines.close();
});

Deno.test("WebSocketSession replies to the messages of one read in one write", async () => {
  const [a, b] = await tcpPair();
  const counting = new Counting(b);
  const deadlines = new Deadlines({ resolution: 5 });
  const log = new Log();
  log.reply = true;
  const server = new WebSocketSession(counting as unknown as Deno.Conn, new Uint8Array(0), log, {
    deadlines,
  });
  server.run();
  // 16 masked frames in one write: one read, one parse pass, 16 replies.
  const frame = buildFrame(1, encode("echo me"), { mask: true });
  const burst = new Uint8Array(frame.length * 16);
  for (let i = 0; i < 16; i++) burst.set(frame, i * frame.length);
  await a.write(burst);
  const echoes = await readN(a, 16 * (2 + "echo me".length));
  equal(new TextDecoder().decode(echoes).split("echo me").length - 1, 16);
  // One write for the whole pass (the first reply no longer starts a write of its own).
  equal(counting.writes, 1);
  a.close();
  await withTimeout(server.run(), 3000, "end");
  deadlines.close();
});

const ON_END_CASES: { name: string; askDone: "before" | "after" | "never"; late: boolean }[] = [
  { name: "alone", askDone: "never", late: false },
  { name: "with done asked for first", askDone: "before", late: false },
  { name: "with done asked for after", askDone: "after", late: false },
  { name: "after the end (at once)", askDone: "never", late: true },
];

for (const c of ON_END_CASES) {
  Deno.test(`WebSocketSession.onEnd() tells its listener once ${c.name}`, async () => {
    const p = await sessions({}, {});
    const ended: unknown[] = [];
    const listener = { connectionEnded: (h: unknown) => void ended.push(h) };
    const before = c.askDone === "before" ? p.server.done : null;
    if (!c.late) p.server.onEnd(listener);
    const after = c.askDone === "after" ? p.server.done : null;
    p.server.run();
    p.client.run();
    await p.client.close();
    await p.done();
    await before;
    await after;
    if (c.late) {
      equal(ended.length, 0);
      p.server.onEnd(listener);
    }
    deepEqual(ended, [p.server]);
  });
}
