import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { BufReader, Deadlines } from "@coroio/core";
import { connect } from "./connect.ts";
import { computeAcceptKey } from "./accept_key.ts";
import { ErrorCode, WebSocketError } from "./errors.ts";
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import type { WebSocketHandler, WebSocketSession } from "./session.ts";
import { encode, withServer, withTimeout } from "./_test_util.ts";

/**
 * A one-connection fake server: reads the request head, then answers with
 * what `respond` returns for it (and optionally keeps talking).
 */
function fakeServer(
  respond: (head: string, key: string) => Promise<string | Uint8Array> | string | Uint8Array,
  after?: (conn: Deno.Conn, reader: BufReader<Deno.Conn>) => Promise<void>,
): { port: number; done: Promise<string> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    try {
      const reader = new BufReader(conn);
      const head = new TextDecoder().decode((await reader.readUntil(encode("\r\n\r\n"), 8192))!);
      const key = /sec-websocket-key: (\S+)/i.exec(head)?.[1] ?? "";
      const res = await respond(head, key);
      const bytes = typeof res === "string" ? encode(res) : res;
      if (bytes.length > 0) await conn.write(bytes);
      if (after !== undefined) await after(conn, reader);
      else await conn.read(new Uint8Array(1)).catch(() => null);
      return head;
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  })();
  return { port, done };
}

async function ok101(_head: string, key: string): Promise<string> {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${await computeAcceptKey(key)}\r\n\r\n`;
}

async function expectHandshakeError(p: Promise<unknown>, match: RegExp): Promise<void> {
  await rejects(p, (err) => {
    ok(err instanceof WebSocketError, String(err));
    equal(err.code, ErrorCode.HandshakeFailed);
    ok(match.test(err.message), err.message);
    return true;
  });
}

Deno.test("connect() sends a valid handshake request", async () => {
  const { port, done } = fakeServer(ok101);
  const ws = await connect(`ws://127.0.0.1:${port}/path?q=1`, {
    protocols: ["p1", "p2"],
    headers: { "X-Extra": "yes" },
    closeTimeout: 100,
  });
  ws.close();
  const head = await done;
  await ws.run();
  ok(head.startsWith("GET /path?q=1 HTTP/1.1\r\n"), head);
  ok(head.includes(`\r\nHost: 127.0.0.1:${port}\r\n`));
  ok(head.includes("\r\nUpgrade: websocket\r\n"));
  ok(head.includes("\r\nConnection: Upgrade\r\n"));
  ok(head.includes("\r\nSec-WebSocket-Version: 13\r\n"));
  ok(head.includes("\r\nSec-WebSocket-Protocol: p1, p2\r\n"));
  ok(head.includes("\r\nx-extra: yes\r\n"));
  ok(/\r\nSec-WebSocket-Key: [A-Za-z0-9+/]{22}==\r\n/.test(head));
});

Deno.test("connect() rejects a non-101 answer", async () => {
  const { port, done } = fakeServer(() => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  await expectHandshakeError(connect(`ws://127.0.0.1:${port}`), /403 Forbidden/);
  await done;
});

Deno.test("connect() rejects a wrong Sec-WebSocket-Accept", async () => {
  const { port, done } = fakeServer(() =>
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
  );
  await expectHandshakeError(connect(`ws://127.0.0.1:${port}`), /Accept/);
  await done;
});

Deno.test("connect() rejects an extension or a subprotocol it did not offer", async () => {
  for (
    const extra of ["Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Protocol: zzz"]
  ) {
    const { port, done } = fakeServer(async (h, k) =>
      (await ok101(h, k)).replace("\r\n\r\n", `\r\n${extra}\r\n\r\n`)
    );
    await expectHandshakeError(
      connect(`ws://127.0.0.1:${port}`, { protocols: ["a"] }),
      /not offered/,
    );
    await done;
  }
});

Deno.test("connect() rejects a missing Upgrade header", async () => {
  const { port, done } = fakeServer(async (h, k) =>
    (await ok101(h, k)).replace("Upgrade: websocket\r\n", "")
  );
  await expectHandshakeError(connect(`ws://127.0.0.1:${port}`), /Upgrade/);
  await done;
});

Deno.test("connect() times out a server that never answers", async () => {
  const deadlines = new Deadlines({ resolution: 10 });
  const { port, done } = fakeServer(() => "");
  try {
    await expectHandshakeError(
      connect(`ws://127.0.0.1:${port}`, { handshakeTimeout: 50, deadlines }),
      /timed out/,
    );
  } finally {
    await done;
    deadlines.close();
  }
});

Deno.test("connect() reports a refused connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await expectHandshakeError(connect(`ws://127.0.0.1:${port}`), /cannot connect/);
});

Deno.test("connect() rejects bad URLs and reserved headers", async () => {
  await rejects(connect("http://127.0.0.1:1/"), TypeError);
  await rejects(connect("ws://127.0.0.1:1/#frag"), TypeError);
  await rejects(connect("ws://127.0.0.1:1/", { headers: { "Sec-WebSocket-Key": "x" } }), TypeError);
  await rejects(connect("ws://127.0.0.1:1/", { protocols: ["a b"] }), TypeError);
});

class Sink implements FrameSink {
  events: unknown[] = [];
  onMessage(d: string | Uint8Array): void {
    this.events.push(d);
  }
  onPing(): void {}
  onPong(): void {}
  onClose(code: number, reason: string): void {
    this.events.push({ code, reason });
  }
}

Deno.test("connect() masks every frame it sends", async () => {
  const sink = new Sink();
  const { port, done } = fakeServer(ok101, async (conn, reader) => {
    const parser = new FrameParser(sink, { role: "server" }); // throws on an unmasked frame
    while (sink.events.length < 3) {
      if (reader.buffered === 0 && (await reader.fill()) === null) break;
      reader.consume(parser.feed(reader.peek()));
    }
    await conn.write(buildFrame(8, new Uint8Array([0x03, 0xe8])));
  });
  const ws = await connect(`ws://127.0.0.1:${port}`, { closeTimeout: 200 });
  ws.send("text");
  ws.send(new Uint8Array([1, 2]));
  ws.close(4000, "done");
  await done;
  await ws.run();
  deepEqual(sink.events, ["text", new Uint8Array([1, 2]), { code: 4000, reason: "done" }]);
});

Deno.test("connect() fails the session on a masked frame from the server (1002)", async () => {
  const { port, done } = fakeServer(ok101, async (conn, reader) => {
    await conn.write(buildFrame(1, encode("masked!"), { mask: true }));
    // Read the client's close frame, then see it stop.
    while ((await reader.fill().catch(() => null)) !== null) {
      // drain
    }
  });
  const ws = await connect(`ws://127.0.0.1:${port}`, { closeTimeout: 200 });
  await withTimeout(ws.run(), 3000, "session end");
  await done;
  equal(ws.closeCode, 1002);
});

class Recorder implements WebSocketHandler {
  got: unknown[] = [];
  onOpen(ws: WebSocketSession): void {
    this.got.push(["open", ws.readyState]);
  }
  onMessage(_ws: WebSocketSession, data: string | Uint8Array): void {
    this.got.push(["message", data]);
  }
  onClose(_ws: WebSocketSession, code: number, reason: string): void {
    this.got.push(["close", code, reason]);
  }
}

Deno.test("connect() delivers to a handler and processes bytes sent right after the 101", async () => {
  const { port, done } = fakeServer(
    async (h, k) => {
      const head = encode(await ok101(h, k));
      const frame = buildFrame(1, encode("early"));
      const all = new Uint8Array(head.length + frame.length);
      all.set(head);
      all.set(frame, head.length);
      return all;
    },
    async (conn) => {
      await conn.write(buildFrame(8, new Uint8Array([0x03, 0xe9, 0x62, 0x79, 0x65])));
      await conn.read(new Uint8Array(64)).catch(() => null); // the client's close echo
    },
  );
  const rec = new Recorder();
  const ws = await connect(`ws://127.0.0.1:${port}`, { handler: rec, closeTimeout: 200 });
  await withTimeout(ws.run(), 3000, "session end");
  await done;
  deepEqual(rec.got, [["open", 1], ["message", "early"], ["close", 1001, "bye"]]);
});

Deno.test("connect() works against our own server both ways", async () => {
  await withServer(async (f) => {
    const ws = await connect(`ws://127.0.0.1:${f.port}`);
    const it = ws[Symbol.asyncIterator]();
    for (const msg of ["a", new Uint8Array([1, 2, 3]), "x".repeat(70000), ""]) {
      await ws.send(msg);
      deepEqual(await it.next(), { value: msg, done: false });
    }
    await ws.close(3001, "bye");
    equal(ws.readyState, 3);
    equal(ws.closeCode, 3001);
    await f.stop();
    deepEqual(f.handler.closes, [{ code: 3001, reason: "bye" }]);
  });
});
