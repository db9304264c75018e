// permessage-deflate (RFC 7692) end to end: negotiated by the servers and
// connect(), against npm:ws as client and as server over a matrix of
// parameters and the Autobahn size table, and raw frames for every
// receiving-side rule (RSV1 placement 1002, bad data 1007, bombs 1009).
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { WebSocket as NodeWebSocket, WebSocketServer as NodeWebSocketServer } from "npm:ws@8.23.0";
import { connect } from "./connect.ts";
import { Opcode } from "./constants.ts";
import { buildFrame } from "./frame_builder.ts";
import { PerMessageDeflate } from "./permessage_deflate.ts";
import { type WebSocketHandler, WebSocketSession } from "./session.ts";
import { EchoHandler, RawClient, withServer, withTimeout } from "./_test_util.ts";

const OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/** Sizes of Autobahn's 12.x/13.x cases (16 B to 128 KiB), plus the length-encoding edges. */
const SIZES = [16, 64, 125, 126, 256, 1024, 4096, 65535, 65536, 131072];

function payload(size: number, seed: number): Uint8Array {
  // Compressible but not trivial: words from a small alphabet.
  const out = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = 97 + ((x >>> 16) % 8);
  }
  return out;
}

/** The npm:ws perMessageDeflate settings of the matrix (threshold 0: compress everything). */
const MATRIX: Record<string, Record<string, unknown>> = {
  "defaults": {},
  "server_no_context_takeover": { serverNoContextTakeover: true },
  "client_no_context_takeover": { clientNoContextTakeover: true },
  "server window 9": { serverMaxWindowBits: 9 },
  "server window 12": { serverMaxWindowBits: 12 },
  "client window 9": { clientMaxWindowBits: 9 },
  "client window 12": { clientMaxWindowBits: 12 },
};

async function openNode(url: string, pmd: Record<string, unknown>): Promise<NodeWebSocket> {
  const ws = new NodeWebSocket(url, { perMessageDeflate: { threshold: 0, ...pmd } });
  await withTimeout(
    new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    }),
    3000,
    "npm:ws open",
  );
  return ws;
}

/** Sends every message and checks the echoes, exact bytes and types, in order. */
async function roundTrip(ws: NodeWebSocket, messages: (string | Uint8Array)[]): Promise<void> {
  const got: (string | Uint8Array)[] = [];
  const all = new Promise<void>((resolve) => {
    ws.on("message", (data: Uint8Array, isBinary: boolean) => {
      got.push(isBinary ? new Uint8Array(data) : new TextDecoder().decode(data));
      if (got.length === messages.length) resolve();
    });
  });
  for (const m of messages) ws.send(m, { compress: true });
  await withTimeout(all, 10000, `${messages.length} echoes`);
  deepEqual(got, messages);
}

async function closeNode(ws: NodeWebSocket): Promise<void> {
  const closed = new Promise((resolve) => ws.once("close", resolve));
  ws.close(1000);
  await withTimeout(closed, 3000, "npm:ws close");
}

for (const [name, pmd] of Object.entries(MATRIX)) {
  Deno.test(`WebSocketServer compression interop with an npm:ws client: ${name}`, async () => {
    await withServer(async (f) => {
      const ws = await openNode(`ws://127.0.0.1:${f.port}/`, pmd);
      ok(ws.extensions.startsWith("permessage-deflate"), ws.extensions);
      const messages: (string | Uint8Array)[] = [];
      for (const size of SIZES) {
        messages.push(new TextDecoder().decode(payload(size, size)), payload(size, size + 1));
      }
      await roundTrip(ws, messages);
      // Fragmented compressed messages (RSV1 on the first frame only).
      const frag = Promise.withResolvers<string>();
      ws.once("message", (d: Uint8Array) => frag.resolve(new TextDecoder().decode(d)));
      ws.send("fragmented ", { fin: false, compress: true });
      ws.send("and compressed", { fin: true, compress: true });
      equal(await withTimeout(frag.promise, 3000, "fragmented echo"), "fragmented and compressed");
      await closeNode(ws);
    }, { compression: { threshold: 0 } });
  });
}

Deno.test("WebSocketServer compression: dedicated mode with context takeover round-trips", async () => {
  await withServer(async (f) => {
    const ws = await openNode(`ws://127.0.0.1:${f.port}/`, {});
    equal(ws.extensions, "permessage-deflate");
    const messages = Array.from(
      { length: 50 },
      (_, i) => JSON.stringify({ i, text: "x".repeat(i) }),
    );
    await roundTrip(ws, messages);
    await closeNode(ws);
  }, { compression: { mode: "dedicated", threshold: 0, clientMaxWindowBits: 15 } });
});

Deno.test("connect() compression interop with an npm:ws server over the size table", async () => {
  for (const [name, pmd] of Object.entries(MATRIX)) {
    const wss = new NodeWebSocketServer({
      host: "127.0.0.1",
      port: 0,
      perMessageDeflate: { threshold: 0, ...pmd },
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    wss.on("connection", (sock: NodeWebSocket) => {
      sock.on(
        "message",
        (data: Uint8Array, isBinary: boolean) => sock.send(data, { binary: isBinary }),
      );
    });
    try {
      const port = (wss.address() as { port: number }).port;
      const ws = await connect(`ws://127.0.0.1:${port}/`, { compression: { threshold: 0 } });
      ok(ws.extensions.startsWith("permessage-deflate"), `${name}: ${ws.extensions}`);
      const it = ws[Symbol.asyncIterator]();
      for (const size of SIZES) {
        for (const m of [new TextDecoder().decode(payload(size, 3)), payload(size, 4)]) {
          await ws.send(m);
          deepEqual(await it.next(), { value: m, done: false }, `${name}: ${size}`);
        }
      }
      await ws.close();
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  }
});

Deno.test("WebSocketServer without compression answers an offer with no extension", async () => {
  await withServer(async (f) => {
    const ws = await openNode(`ws://127.0.0.1:${f.port}/`, {});
    equal(ws.extensions, "");
    await roundTrip(ws, ["plain", payload(300, 1)]);
    await closeNode(ws);
  });
});

Deno.test("WebSocketServer with compression still serves Deno's WebSocket (which offers none)", async () => {
  await withServer(async (f) => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.port}/`);
    const reply = await withTimeout(
      new Promise<string>((resolve, reject) => {
        ws.onopen = () => ws.send("x".repeat(500));
        ws.onmessage = (e) => resolve(e.data);
        ws.onerror = reject;
      }),
      3000,
      "Deno WebSocket echo",
    );
    equal(reply, "x".repeat(500));
    equal(ws.extensions, "");
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;
  }, { compression: true });
});

/** A client-side engine for hand-built compressed frames. */
function clientDeflate(): PerMessageDeflate {
  return new PerMessageDeflate({
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  }, { role: "client" });
}

/** Opens a raw client that negotiated permessage-deflate; the server sends uncompressed. */
function rawCompressed(port: number): Promise<RawClient> {
  return RawClient.open(port, OFFER);
}

const NO_REPLY_COMPRESSION = { compression: { threshold: 1 << 30 } };

Deno.test("WebSocketServer compression: raw frames", async (t) => {
  await withServer(async (f) => {
    await t.step("a compressed text message, whole and fragmented, is inflated", async () => {
      const c = await rawCompressed(f.port);
      const pmd = clientDeflate();
      const z = pmd.compress(new TextEncoder().encode("hello hello hello"));
      await c.sendFrame(Opcode.Text, z, { rsv: 4 });
      deepEqual(await c.next(), { type: "text", data: "hello hello hello" });
      const z2 = pmd.compress(new TextEncoder().encode("fragmented"));
      await c.sendFrame(Opcode.Text, z2.subarray(0, 3), { rsv: 4, fin: false });
      await c.sendFrame(Opcode.Continuation, z2.subarray(3));
      deepEqual(await c.next(), { type: "text", data: "fragmented" });
      pmd.close();
      c.close();
    });
    await t.step("the empty compressed message (one 00 byte) is an empty message", async () => {
      const c = await rawCompressed(f.port);
      await c.sendFrame(Opcode.Binary, new Uint8Array([0x00]), { rsv: 4 });
      deepEqual(await c.next(), { type: "binary", data: new Uint8Array(0) });
      c.close();
    });
    await t.step("a message ending with a BFINAL block starts a fresh stream", async () => {
      const c = await rawCompressed(f.port);
      for (const word of ["first", "second"]) {
        const z = new Uint8Array(deflateRawSync(new TextEncoder().encode(word)));
        await c.sendFrame(Opcode.Text, z, { rsv: 4 });
        deepEqual(await c.next(), { type: "text", data: word });
      }
      c.close();
    });
    await t.step("RSV1 on a continuation frame: 1002", async () => {
      const c = await rawCompressed(f.port);
      await c.sendFrame(Opcode.Text, "a", { fin: false });
      await c.sendFrame(Opcode.Continuation, "b", { rsv: 4 });
      equal((await c.nextClose()).code, 1002);
      c.close();
    });
    await t.step("RSV1 on a ping: 1002", async () => {
      const c = await rawCompressed(f.port);
      await c.sendFrame(Opcode.Ping, "p", { rsv: 4 });
      equal((await c.nextClose()).code, 1002);
      c.close();
    });
    await t.step("RSV2 or RSV3 with compression negotiated: 1002", async () => {
      const c = await rawCompressed(f.port);
      await c.sendFrame(Opcode.Text, "a", { rsv: 2 });
      equal((await c.nextClose()).code, 1002);
      c.close();
    });
    await t.step("data that does not inflate: 1007", async () => {
      const c = await rawCompressed(f.port);
      await c.sendFrame(Opcode.Binary, new Uint8Array([0xff, 0xff, 0xff, 0xff]), { rsv: 4 });
      equal((await c.nextClose()).code, 1007);
      c.close();
    });
    await t.step("compressed text that is not UTF-8: 1007", async () => {
      const c = await rawCompressed(f.port);
      const pmd = clientDeflate();
      await c.sendFrame(Opcode.Text, pmd.compress(new Uint8Array([0xc3, 0x28])), { rsv: 4 });
      equal((await c.nextClose()).code, 1007);
      pmd.close();
      c.close();
    });
    for (const fragmented of [false, true]) {
      await t.step(`a 64 MiB zero bomb${fragmented ? " in 1 KiB frames" : ""}: 1009`, async () => {
        const c = await rawCompressed(f.port);
        const pmd = clientDeflate();
        const z = pmd.compress(new Uint8Array(64 << 20));
        ok(z.length < 128 * 1024, `${z.length} compressed bytes`);
        if (!fragmented) {
          await c.sendFrame(Opcode.Binary, z, { rsv: 4 });
        } else {
          for (let at = 0; at < z.length; at += 1024) {
            const last = at + 1024 >= z.length;
            const piece = z.subarray(at, at + 1024);
            await c.sendFrame(at === 0 ? Opcode.Binary : Opcode.Continuation, piece, {
              rsv: at === 0 ? 4 : 0,
              fin: last,
            });
          }
        }
        equal((await c.nextClose()).code, 1009);
        pmd.close();
        c.close();
      });
    }
  }, NO_REPLY_COMPRESSION);
});

Deno.test("WebSocketServer without compression: RSV1 is a protocol error (1002)", async () => {
  await withServer(
    async (f) => {
      const c = await RawClient.open(f.port, OFFER);
      await c.sendFrame(Opcode.Text, new Uint8Array([0x00]), { rsv: 4 });
      equal((await c.nextClose()).code, 1002);
      c.close();
    },
    {},
    new EchoHandler(),
  );
});

Deno.test("WebSocketSession: compressed text that is not UTF-8, then a close in the same read: 1007, not the peer's 1000", async () => {
  // The parser hands the compressed message on whole and goes on to the
  // close frame behind it; the session had already failed with 1007 then.
  const client = clientDeflate();
  const bad = client.compress(new Uint8Array([0xc3, 0x28]));
  client.close();
  const bytes = new Uint8Array([
    ...buildFrame(Opcode.Text, bad, { mask: true, rsv: 4 }),
    ...buildFrame(Opcode.Close, new Uint8Array([0x03, 0xe8]), { mask: true }),
  ]);
  for (const onText of [false, true]) {
    let input: Uint8Array | null = bytes;
    const written: number[] = [];
    const conn = {
      read(p: Uint8Array): Promise<number | null> {
        if (input === null) return Promise.resolve(null);
        p.set(input);
        const n = input.length;
        input = null;
        return Promise.resolve(n);
      },
      write(p: Uint8Array): Promise<number> {
        written.push(...p);
        return Promise.resolve(p.length);
      },
      close() {},
      closeWrite: () => Promise.resolve(),
    };
    const codes: number[] = [];
    const errors: string[] = [];
    const handler: WebSocketHandler = {
      onMessage() {},
      onClose: (_ws, code) => void codes.push(code),
      onError: (_ws, err) => void errors.push(err.code),
      ...(onText ? { onText() {} } : {}),
    };
    const session = new WebSocketSession(conn as unknown as Deno.Conn, new Uint8Array(0), handler, {
      idleTimeout: 0,
      deflate: new PerMessageDeflate({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      }),
    });
    await session.run();
    // One close frame on the wire, with 1007; the application is told 1007.
    deepEqual(written.slice(0, 4), [0x88, 0x02, 0x03, 0xef], `onText: ${onText}`);
    equal(written.length, 4, `onText: ${onText}`);
    deepEqual(codes, [1007], `onText: ${onText}`);
    deepEqual(errors, ["invalid-utf8"], `onText: ${onText}`);
  }
});
