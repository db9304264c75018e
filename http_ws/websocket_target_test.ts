import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type HttpRequest, type HttpResponse, HttpServer, Router } from "@coroio/http";
import { buildFrame, WebSocketServer, type WebSocketSession } from "@coroio/ws";
import WebSocketNode from "npm:ws@8.23.0";
import type { UpgradeDecision } from "@coroio/ws";
import { type WebSocketRoute, WebSocketTarget } from "./websocket_target.ts";
import { concat, enc } from "../core/_test_util.ts";

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function upgradeRequest(path = "/ws", extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

const text = (s: string) => buildFrame(0x1, enc(s), { mask: true });
const close = (code: number) =>
  buildFrame(0x8, new Uint8Array([code >> 8, code & 0xff]), { mask: true });

type Frame = { op: number; payload: Uint8Array };

/** Reads HTTP heads and (unmasked, server) frames from a raw connection. */
class Wire {
  conn: Deno.TcpConn;
  buf: Uint8Array = new Uint8Array(0);
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }
  static async open(port: number): Promise<Wire> {
    return new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  send(s: string | Uint8Array): Promise<number> {
    return this.conn.write(typeof s === "string" ? enc(s) : s);
  }
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<"timeout">((r) => timer = setTimeout(r, 3000, "timeout"));
    try {
      const n = await Promise.race([this.conn.read(chunk).catch(() => null), t]);
      if (n === "timeout") throw new Error(`timed out; buffered: ${JSON.stringify(dec(this.buf))}`);
      if (n === null) return false;
      this.buf = concat(this.buf, chunk.subarray(0, n));
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
  /** Reads one HTTP response head and its Content-Length body. */
  async response(): Promise<{ status: number; head: string; body: string }> {
    let end;
    while ((end = dec(this.buf).indexOf("\r\n\r\n")) < 0) {
      if (!(await this.#more())) throw new Error("closed before a response");
    }
    const head = dec(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end + 4);
    const m = /content-length: (\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    while (this.buf.length < len) if (!(await this.#more())) break;
    const body = dec(this.buf.subarray(0, len));
    this.buf = this.buf.subarray(len);
    return { status: Number(head.split(" ")[1]), head, body };
  }
  async frame(): Promise<Frame | null> {
    for (;;) {
      if (this.buf.length >= 2) {
        const b1 = this.buf[1]! & 0x7f;
        let len = b1, off = 2;
        if (b1 === 126) {
          len = (this.buf[2]! << 8) | this.buf[3]!;
          off = 4;
        }
        if (this.buf.length >= off + len && (b1 !== 126 || this.buf.length >= 4)) {
          const f = { op: this.buf[0]! & 0x0f, payload: this.buf.slice(off, off + len) };
          this.buf = this.buf.subarray(off + len);
          return f;
        }
      }
      if (!(await this.#more())) return null;
    }
  }
  async closeCode(): Promise<number> {
    for (let f; (f = await this.frame()) !== null;) {
      if (f.op === 0x8) return f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
    }
    throw new Error("no close frame");
  }
  async eof(): Promise<boolean> {
    while (await this.#more()) { /* drain */ }
    return true;
  }
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

class Echo implements WebSocketRoute<{ id: string }> {
  closes: number[] = [];
  upgrades: string[] = [];
  decide:
    | ((
      req: HttpRequest,
      offered: readonly string[],
    ) => UpgradeDecision<{ id: string }> | undefined)
    | null = null;
  onUpgrade(
    req: HttpRequest,
    offered: readonly string[],
  ): UpgradeDecision<{ id: string }> | undefined {
    this.upgrades.push(req.target);
    return this.decide?.(req, offered) ?? { data: { id: req.query } };
  }
  onMessage(ws: WebSocketSession<{ id: string }>, data: string | Uint8Array): void {
    if (data === "whoami") ws.send(`id=${ws.data.id} protocol=${ws.protocol}`).catch(() => {});
    else ws.send(data).catch(() => {});
  }
  onClose(_ws: WebSocketSession<{ id: string }>, code: number): void {
    this.closes.push(code);
  }
}

class Hello {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("hello");
  }
}

async function withBridge(
  fn: (port: number, echo: Echo, server: HttpServer) => Promise<void>,
): Promise<void> {
  const echo = new Echo();
  const router = new Router()
    .get("/", new Hello())
    .upgrade(
      "/ws",
      new WebSocketTarget(echo, { protocols: ["chat.v2", "chat.v1"], closeTimeout: 500 }),
    );
  const server = new HttpServer(router, { port: 0, shutdownTimeout: 2000 });
  const { port } = server.listen();
  try {
    await fn(port, echo, server);
  } finally {
    await server.shutdown();
    // Sessions end within their close timeout.
    for (let i = 0; i < 100 && server.connections > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

Deno.test("WebSocketTarget upgrades after keep-alive requests on the same connection", async () => {
  await withBridge(async (port) => {
    const w = await Wire.open(port);
    await w.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await w.response()).body, "hello");
    await w.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await w.response()).body, "hello");
    await w.send(upgradeRequest());
    const r = await w.response();
    assertEquals(r.status, 101);
    assert(r.head.includes(`Sec-WebSocket-Accept: ${ACCEPT}`));
    await w.send(text("ping?"));
    assertEquals(dec((await w.frame())!.payload), "ping?");
    await w.send(close(1000));
    assertEquals(await w.closeCode(), 1000);
    assert(await w.eof());
    w.close();
  });
});

Deno.test("WebSocketTarget processes frames sent in the same write as the upgrade", async () => {
  await withBridge(async (port) => {
    const w = await Wire.open(port);
    await w.send(concat(enc(upgradeRequest("/ws?id=7")), text("one"), text("two"), text("whoami")));
    assertEquals((await w.response()).status, 101);
    assertEquals(dec((await w.frame())!.payload), "one");
    assertEquals(dec((await w.frame())!.payload), "two");
    assertEquals(dec((await w.frame())!.payload), "id=id=7 protocol=");
    await w.send(close(1000));
    assertEquals(await w.closeCode(), 1000);
    w.close();
  });
});

Deno.test("WebSocketTarget: pipelined HTTP after an upgrade is not answered as HTTP", async () => {
  await withBridge(async (port, echo) => {
    const w = await Wire.open(port);
    await w.send(upgradeRequest() + "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await w.response()).status, 101);
    // The HTTP bytes reach the WebSocket parser as a frame: unmasked, reserved bits -> 1002.
    assertEquals(await w.closeCode(), 1002);
    assert(await w.eof());
    assert(!dec(w.buf).includes("HTTP/1.1 200"));
    w.close();
    for (let i = 0; i < 100 && echo.closes.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(echo.closes, [1002]);
  });
});

const bad: [string, string, number, string | null, boolean][] = [
  [
    "a version other than 13",
    upgradeRequest().replace("Version: 13", "Version: 8"),
    426,
    "Sec-WebSocket-Version: 13",
    true,
  ],
  ["a key of 15 bytes", upgradeRequest().replace(KEY, "AAAAAAAAAAAAAAAAAAAA"), 400, null, true],
  ["no key", upgradeRequest().replace(`Sec-WebSocket-Key: ${KEY}\r\n`, ""), 400, null, true],
  ["two keys", upgradeRequest("/ws", `Sec-WebSocket-Key: ${KEY}\r\n`), 400, null, true],
  ["a body", upgradeRequest("/ws", "Content-Length: 2\r\n") + "xx", 400, null, true],
  // RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored, so the route sees a plain GET.
  ["HTTP/1.0", upgradeRequest().replace("HTTP/1.1", "HTTP/1.0"), 426, "Upgrade: websocket", false],
];
for (const [name, request, status, header, closes] of bad) {
  Deno.test(`WebSocketTarget rejects a handshake with ${name} (${status})`, async () => {
    await withBridge(async (port) => {
      const w = await Wire.open(port);
      await w.send(request);
      const r = await w.response();
      assertEquals(r.status, status);
      if (header !== null) assert(r.head.includes(header), r.head);
      if (closes) {
        assert(/\r\nConnection: (.*, )?close\r\n/i.test(r.head + "\r\n"), r.head);
        assert(await w.eof());
      }
      w.close();
    });
  });
}

Deno.test("WebSocketTarget routes: 426 for plain GET, 404 for an upgrade elsewhere", async () => {
  await withBridge(async (port) => {
    const w = await Wire.open(port);
    await w.send("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    const r = await w.response();
    assertEquals(r.status, 426);
    assert(/Upgrade: websocket/i.test(r.head));
    await w.send(upgradeRequest("/elsewhere"));
    assertEquals((await w.response()).status, 404);
    w.close();
  });
});

Deno.test("WebSocketTarget hooks: reject, subprotocol, extra headers, data", async () => {
  await withBridge(async (port, echo) => {
    echo.decide = (req, offered) => {
      if (req.headers.get("origin") === "http://evil.example") {
        return { status: 403, body: "origin refused" };
      }
      return {
        protocol: offered.includes("chat.v1") ? "chat.v1" : undefined!,
        headers: [["Set-Cookie", "session=abc; HttpOnly"]],
        data: { id: "from-hook" },
      } as UpgradeDecision<{ id: string }>;
    };
    const refused = await Wire.open(port);
    await refused.send(upgradeRequest("/ws", "Origin: http://evil.example\r\n"));
    const r1 = await refused.response();
    assertEquals([r1.status, r1.body], [403, "origin refused\n"]);
    refused.close();

    const w = await Wire.open(port);
    await w.send(upgradeRequest("/ws", "Sec-WebSocket-Protocol: chat.v0, chat.v1\r\n"));
    const r2 = await w.response();
    assertEquals(r2.status, 101);
    assert(r2.head.includes("Sec-WebSocket-Protocol: chat.v1"));
    assert(r2.head.includes("Set-Cookie: session=abc; HttpOnly"));
    await w.send(text("whoami"));
    assertEquals(dec((await w.frame())!.payload), "id=from-hook protocol=chat.v1");
    await w.send(close(1000));
    await w.closeCode();
    w.close();
  });
});

Deno.test("WebSocketTarget picks the first offered protocol the route speaks", async () => {
  await withBridge(async (port) => {
    const w = await Wire.open(port);
    await w.send(upgradeRequest("/ws", "Sec-WebSocket-Protocol: x, chat.v1, chat.v2\r\n"));
    const r = await w.response();
    assert(r.head.includes("Sec-WebSocket-Protocol: chat.v1"), r.head);
    w.close();
  });
});

Deno.test("HttpServer.shutdown() closes bridged sessions with 1001", async () => {
  const echo = new Echo();
  const router = new Router().upgrade("/ws", new WebSocketTarget(echo, { closeTimeout: 500 }));
  const server = new HttpServer(router, { port: 0, shutdownTimeout: 2000 });
  const { port } = server.listen();
  const w = await Wire.open(port);
  await w.send(upgradeRequest());
  assertEquals((await w.response()).status, 101);
  const stopping = server.shutdown();
  assertEquals(await w.closeCode(), 1001);
  await w.send(close(1001));
  assert(await w.eof());
  await stopping;
  for (let i = 0; i < 100 && echo.closes.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(echo.closes, [1001]);
  w.close();
});

Deno.test("WebSocketTarget interop: Deno's WebSocket client", async () => {
  await withBridge(async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ["chat.v2"]);
    ws.binaryType = "arraybuffer";
    const got: (string | number[])[] = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("h\u00e9llo \u2603");
        ws.send(new Uint8Array([1, 2, 3]));
        ws.send("x".repeat(70_000));
      };
      ws.onmessage = (e) => {
        got.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
        if (got.length === 3) ws.close(1000, "bye");
      };
      ws.onclose = () => resolve();
      ws.onerror = () => reject(new Error("websocket error"));
    });
    await done;
    assertEquals(ws.protocol, "chat.v2");
    assertEquals(got, ["h\u00e9llo \u2603", [1, 2, 3], "x".repeat(70_000)]);
  });
});

Deno.test("WebSocketTarget interop: npm ws client", async () => {
  await withBridge(async (port) => {
    const ws = new WebSocketNode(`ws://127.0.0.1:${port}/ws`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => {
        ws.send("a");
        ws.send(Buffer.from([0xff, 0x00]));
      });
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        got.push(isBinary ? `bin:${[...data].join(",")}` : data.toString());
        if (got.length === 2) ws.close(1000);
      });
      ws.on("close", () => resolve());
      ws.on("error", reject);
    });
    assertEquals(got, ["a", "bin:255,0"]);
  });
});

Deno.test("WebSocketTarget refuses a request without Upgrade: websocket even outside the router", async () => {
  class Direct {
    target = new WebSocketTarget(new Echo());
    handle(): WebSocketTarget<{ id: string }> {
      return this.target;
    }
  }
  const server = new HttpServer(new Direct(), { port: 0 });
  const { port } = server.listen();
  try {
    const w = await Wire.open(port);
    await w.send(
      `GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assertEquals((await w.response()).status, 426);
    assert(await w.eof());
    w.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("WebSocketTarget tells the access log the status it answered: 101, or the refusal's", async () => {
  class Gate implements WebSocketRoute {
    onUpgrade(req: HttpRequest): UpgradeDecision | undefined {
      return req.path === "/ws/no" ? { status: 403, body: "no" } : undefined;
    }
    onMessage(): void {}
  }
  const entries: { target: string; status: number; bytesSent: number }[] = [];
  const logger = {
    log: (e: { target: string; status: number; bytesSent: number }) => entries.push(e),
  };
  const router = new Router().upgrade("/ws/*", new WebSocketTarget(new Gate()));
  const server = new HttpServer(router, { port: 0, logger });
  const { port } = server.listen();
  try {
    for (const path of ["/ws/yes", "/ws/no"]) {
      const w = await Wire.open(port);
      await w.send(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      await w.response();
      w.close();
    }
    for (let i = 0; i < 100 && entries.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assertEquals(
      entries.map((e) => [e.target, e.status, e.bytesSent]).sort(),
      [["/ws/no", 403, 3], ["/ws/yes", 101, 0]],
    );
  } finally {
    await server.shutdown();
  }
});

class Quiet implements WebSocketRoute {
  onMessage(): void {}
}

/** A server that serves `/ws`, its port, its open connection count and how to stop it. */
interface Served {
  port: number;
  connections(): number;
  stop(): Promise<void>;
}

const END_CASES: { name: string; serve: () => Served }[] = [
  {
    name: "WebSocketTarget (HTTP bridge)",
    serve: () => {
      const router = new Router().upgrade("/ws", new WebSocketTarget(new Quiet()));
      const server = new HttpServer(router, { port: 0 });
      const { port } = server.listen();
      return { port, connections: () => server.connections, stop: () => server.shutdown() };
    },
  },
  {
    name: "WebSocketServer (standalone)",
    serve: () => {
      const server = new WebSocketServer(
        Deno.listen({ hostname: "127.0.0.1", port: 0 }),
        new Quiet(),
      );
      const serving = server.serve();
      return {
        port: server.addr.port,
        connections: () => server.connections,
        stop: () => server.shutdown().then(() => serving),
      };
    },
  },
];

for (const c of END_CASES) {
  Deno.test(`${c.name} frees a connection's slot when its session ends`, async () => {
    const s = c.serve();
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
      await conn.write(enc(upgradeRequest()));
      const buf = new Uint8Array(1024);
      let got = "";
      while (!got.includes("\r\n\r\n")) got += dec(buf.subarray(0, (await conn.read(buf))!));
      assert(got.startsWith("HTTP/1.1 101 "));
      assertEquals(s.connections(), 1);
      await conn.write(close(1000));
      // The server echoes the close and closes TCP first.
      while ((await conn.read(buf)) !== null);
      conn.close();
      for (let i = 0; i < 200 && s.connections() > 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assertEquals(s.connections(), 0);
    } finally {
      await s.stop();
    }
  });
}
