import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { Deadlines } from "@coroio/core";
import { type UpgradeDecision, type UpgradeRequest, WebSocketServer } from "./server.ts";
import type { WebSocketSession } from "./session.ts";
import { connect } from "./connect.ts";
import { EchoHandler, withServer, withTimeout } from "./_test_util.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function request(lines: string[]): string {
  return lines.join("\r\n") + "\r\n\r\n";
}

const GOOD = [
  "GET /chat HTTP/1.1",
  "Host: example.com",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${KEY}`,
  "Sec-WebSocket-Version: 13",
];

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

function replace(name: string, line: string | null): string[] {
  const out = GOOD.filter((l) => !l.toLowerCase().startsWith(name.toLowerCase() + ":"));
  if (line !== null) out.push(line);
  return out;
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

Deno.test("WebSocketServer accepts token lists and any case in Upgrade and Connection", async () => {
  await withServer(async (f) => {
    const lines = replace("connection", "Connection: keep-alive, UPGRADE");
    const res = await exchange(
      f.port,
      request(lines.map((l) => l === "Upgrade: websocket" ? "upgrade:  WebSocket " : l)),
    );
    ok(res.startsWith("HTTP/1.1 101 "), res);
  });
});

const REFUSALS: [string, string[], number, string?][] = [
  [
    "version 8",
    replace("sec-websocket-version", "Sec-WebSocket-Version: 8"),
    426,
    "Sec-WebSocket-Version: 13",
  ],
  ["no version", replace("sec-websocket-version", null), 426, "Sec-WebSocket-Version: 13"],
  ["two versions", [...GOOD, "Sec-WebSocket-Version: 13"], 426],
  ["no key", replace("sec-websocket-key", null), 400],
  [
    "a 15-byte key",
    replace("sec-websocket-key", `Sec-WebSocket-Key: ${new Uint8Array(15).toBase64()}`),
    400,
  ],
  [
    "a key that is not base64",
    replace("sec-websocket-key", "Sec-WebSocket-Key: not base64 at all!!!!"),
    400,
  ],
  ["two keys", [...GOOD, `Sec-WebSocket-Key: ${KEY}`], 400],
  ["no Upgrade", replace("upgrade", null), 400],
  ["Upgrade: h2c", replace("upgrade", "Upgrade: h2c"), 400],
  ["no Connection", replace("connection", null), 400],
  ["Connection: keep-alive", replace("connection", "Connection: keep-alive"), 400],
  ["no Host", replace("host", null), 400],
  ["two Hosts", [...GOOD, "Host: other"], 400],
  ["POST", ["POST /chat HTTP/1.1", ...GOOD.slice(1)], 405, "Allow: GET"],
  ["HTTP/1.0", ["GET /chat HTTP/1.0", ...GOOD.slice(1)], 400],
  ["a space before the colon", [...GOOD, "X-Bad : 1"], 400],
  ["obs-fold", [...GOOD, "X-Folded: a", " b"], 400],
  ["a control character", [...GOOD, "X-Ctl: a\x01b"], 400],
  ["a malformed request line", ["GET  /chat HTTP/1.1", ...GOOD.slice(1)], 400],
  ["a bad subprotocol", [...GOOD, "Sec-WebSocket-Protocol: a b"], 400],
];

for (const [what, lines, status, header] of REFUSALS) {
  Deno.test(`WebSocketServer refuses a handshake with ${what} (${status})`, async () => {
    await withServer(async (f) => {
      const res = await exchange(f.port, request(lines));
      ok(res.startsWith(`HTTP/1.1 ${status} `), res);
      ok(res.includes("\r\nConnection: close\r\n"));
      if (header !== undefined) ok(res.includes(`\r\n${header}\r\n`), res);
    });
  });
}

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
  seen: UpgradeRequest[] = [];
  opened: unknown[] = [];
  onUpgrade(req: UpgradeRequest): UpgradeDecision<unknown> | undefined {
    this.seen.push(req);
    if (req.target === "/forbidden") return { status: 403 };
    if (req.protocols.includes("b")) return { protocol: "b", data: { user: "ann" } };
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
      equal(gate.seen[1]!.target, "/room?id=7");
      equal(gate.seen[1]!.headers.get("x-token"), "secret");
      deepEqual(gate.seen[1]!.protocols, ["a", "b"]);
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
