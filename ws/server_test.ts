import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { Deadlines } from "@coroio/core";
import type { UpgradeDecision, UpgradeRequest } from "./handshake.ts";
import { WebSocketServer } from "./server.ts";
import type { WebSocketSession } from "./session.ts";
import { connect } from "./connect.ts";
import { EchoHandler, withServer, withTimeout } from "./_test_util.ts";
import { GOOD } from "./_handshake_cases.ts";
import { buildFrame } from "./frame_builder.ts";
import { Opcode } from "./constants.ts";

function request(lines: readonly string[]): string {
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Sends raw bytes and returns everything the server sends until it closes or a head ends. */
async function exchange(port: number, raw: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(raw));
    let got = "";
    const buf = new Uint8Array(4096);
    await withTimeout(
      (async () => {
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          got += String.fromCharCode(...buf.subarray(0, n));
          if (got.startsWith("HTTP/1.1 101") && got.includes("\r\n\r\n")) break;
        }
      })(),
      3000,
      "server response",
    );
    return got;
  } finally {
    conn.close();
  }
}

Deno.test("WebSocketServer answers a valid handshake with 101 and the accept key", async () => {
  await withServer(async (f) => {
    const res = await exchange(f.port, request(GOOD));
    ok(res.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), res);
    ok(res.includes("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    ok(res.includes("\r\nUpgrade: websocket\r\n"));
    ok(res.includes("\r\nConnection: Upgrade\r\n"));
    ok(!res.includes("Sec-WebSocket-Protocol"));
  });
});

Deno.test("WebSocketServer answers heads that arrive in pieces, with a frame behind them, one connection after another", async () => {
  const head = new TextEncoder().encode(request(GOOD));
  const frame = buildFrame(Opcode.Text, new TextEncoder().encode("hi"), { mask: true });
  const bytes = new Uint8Array([...head, ...frame]);
  // Where the bytes are cut into writes; a refused head in between (its parser
  // failed) must not disturb the next handshakes.
  const cases: { name: string; cuts: number[]; bad?: boolean }[] = [
    { name: "one write, head and frame", cuts: [] },
    { name: "head, then frame", cuts: [head.length] },
    { name: "inside the request line", cuts: [5, head.length] },
    { name: "refused head", cuts: [], bad: true },
    { name: "inside a header, frame split", cuts: [40, head.length + 1] },
    { name: "byte by byte", cuts: Array.from({ length: bytes.length - 1 }, (_, i) => i + 1) },
    { name: "again in one write", cuts: [] },
  ];
  await withServer(async (f) => {
    for (const c of cases) {
      if (c.bad === true) {
        const res = await exchange(f.port, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
        ok(res.startsWith("HTTP/1.1 400 "), `${c.name}: ${res}`);
        continue;
      }
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
      try {
        let at = 0;
        for (const cut of [...c.cuts, bytes.length]) {
          await conn.write(bytes.subarray(at, cut));
          at = cut;
        }
        // The 101, then the echo of the frame that followed the head.
        let got = new Uint8Array(0);
        const buf = new Uint8Array(1024);
        const echo = [0x81, 2, 0x68, 0x69];
        await withTimeout(
          (async () => {
            while (got.length < 4 || got.subarray(-4).join() !== echo.join()) {
              const n = await conn.read(buf);
              if (n === null) throw new Error(`${c.name}: closed`);
              got = new Uint8Array([...got, ...buf.subarray(0, n)]);
            }
          })(),
          3000,
          c.name,
        );
        ok(String.fromCharCode(...got).startsWith("HTTP/1.1 101 "), c.name);
      } finally {
        conn.close();
      }
    }
  });
});

// Every refusal status is in the shared case table, run against both servers by
// http_ws/handshake_parity_test.ts.

Deno.test("WebSocketServer refuses a head over maxHeadSize with 431", async () => {
  await withServer(async (f) => {
    const res = await exchange(f.port, request([...GOOD, `X-Big: ${"a".repeat(2000)}`]));
    ok(res.startsWith("HTTP/1.1 431 "), res);
  }, { maxHeadSize: 512 });
});

Deno.test("WebSocketServer closes a connection whose head does not arrive in time", async () => {
  await withServer(async (f) => {
    const started = Date.now();
    const res = await exchange(f.port, "GET / HTTP/1.1\r\nHost: x\r\n");
    equal(res, "");
    ok(Date.now() - started < 2000);
  }, { handshakeTimeout: 100 });
});

Deno.test("WebSocketServer picks the first offered subprotocol it speaks", async () => {
  await withServer(async (f) => {
    const res = await exchange(
      f.port,
      request([...GOOD, "Sec-WebSocket-Protocol: x, chat.v2, chat.v1"]),
    );
    ok(res.includes("\r\nSec-WebSocket-Protocol: chat.v2\r\n"), res);
    const ws = await connect(`ws://127.0.0.1:${f.port}/`, { protocols: ["nope", "chat.v1"] });
    equal(ws.protocol, "chat.v1");
    await ws.close();
  }, { protocols: ["chat.v1", "chat.v2"] });
});

class Gate extends EchoHandler {
  seen: [UpgradeRequest, readonly string[]][] = [];
  opened: unknown[] = [];
  onUpgrade(req: UpgradeRequest, protocols: readonly string[]): UpgradeDecision | undefined {
    this.seen.push([req, protocols]);
    if (req.path === "/forbidden") return { status: 403 };
    if (protocols.includes("b")) return { protocol: "b", data: { user: "ann" } };
    return undefined;
  }
  onOpen(ws: WebSocketSession): void {
    this.opened.push(ws.data);
  }
}

Deno.test("WebSocketServer lets onUpgrade refuse, pick a protocol and attach data", async () => {
  const gate = new Gate();
  await withServer(
    async (f) => {
      const res = await exchange(f.port, request(["GET /forbidden HTTP/1.1", ...GOOD.slice(1)]));
      ok(res.startsWith("HTTP/1.1 403 "), res);
      const ws = await connect(`ws://127.0.0.1:${f.port}/room?id=7`, {
        protocols: ["a", "b"],
        headers: { "X-Token": "secret" },
      });
      equal(ws.protocol, "b");
      await ws.close();
      equal(gate.seen.length, 2);
      equal(gate.seen[1]![0].head.target, "/room?id=7");
      equal(gate.seen[1]![0].path, "/room");
      equal(gate.seen[1]![0].query, "id=7");
      equal(gate.seen[1]![0].headers.get("x-token"), "secret");
      deepEqual(gate.seen[1]![1], ["a", "b"]);
      deepEqual(gate.opened, [{ user: "ann" }]);
    },
    {},
    gate,
  );
});

Deno.test("WebSocketServer uses the process-wide deadlines when given none", async () => {
  const server = new WebSocketServer(
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    new EchoHandler(),
  );
  const serving = server.serve();
  try {
    const ws = await connect(`ws://127.0.0.1:${server.addr.port}`);
    await ws.send("x");
    const it = ws[Symbol.asyncIterator]();
    deepEqual(await it.next(), { value: "x", done: false });
    await ws.close();
    equal(ws.closeCode, 1000);
  } finally {
    await server.shutdown();
    await serving;
  }
});

Deno.test("WebSocketServer shutdown closes connections still in the handshake", async () => {
  const deadlines = new Deadlines({ resolution: 10 });
  const server = new WebSocketServer(
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    new EchoHandler(),
    { deadlines },
  );
  const serving = server.serve();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    await new Promise((r) => setTimeout(r, 20));
    await withTimeout(server.shutdown(), 2000, "shutdown");
    equal(await conn.read(new Uint8Array(10)).catch(() => null), null);
  } finally {
    conn.close();
    await serving;
    deadlines.close();
  }
});
