// Interop with peers nobody here wrote: Deno's built-in WebSocket client and
// Deno.upgradeWebSocket server, and npm:ws (client and server) run in Deno.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { WebSocket as NodeWebSocket, WebSocketServer as NodeWebSocketServer } from "npm:ws@8.23.0";
import { connect } from "./connect.ts";
import type { WebSocketSession } from "./session.ts";
import { EchoHandler, withServer, withTimeout } from "./_test_util.ts";
import { makeCertificate } from "../core/_test_util.ts";

const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 31) & 0xff);

// ---- Deno's WebSocket client -> our server ----

Deno.test("WebSocketServer interop: Deno's WebSocket client round-trips text and binary", async () => {
  await withServer(async (f) => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.port}/`);
    ws.binaryType = "arraybuffer";
    const got: unknown[] = [];
    const want: (string | Uint8Array)[] = [
      "hello",
      "",
      "\u{1f600}".repeat(1000),
      bytes(0),
      bytes(125),
      bytes(70000),
    ];
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        for (const m of want) ws.send(m);
      };
      ws.onerror = () => reject(new Error("client error"));
      ws.onmessage = (e) => {
        got.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
        if (got.length === want.length) resolve();
      };
    });
    deepEqual(got, want);
    ws.close(4001, "client done");
    const ev = await closed;
    equal(ev.code, 4001);
    await f.stop();
    deepEqual(f.handler.closes, [{ code: 4001, reason: "client done" }]);
  });
});

class CloseOnFirst extends EchoHandler {
  override onMessage(ws: WebSocketSession): void {
    ws.close(4002, "server says bye");
  }
}

Deno.test("WebSocketServer interop: Deno's WebSocket client sees our close code and reason", async () => {
  await withServer(
    async (f) => {
      const ws = new WebSocket(`ws://127.0.0.1:${f.port}/`);
      const ev = await new Promise<CloseEvent>((resolve) => {
        ws.onopen = () => ws.send("x");
        ws.onclose = resolve;
      });
      equal(ev.code, 4002);
      equal(ev.reason, "server says bye");
      equal(ev.wasClean, true);
    },
    {},
    new CloseOnFirst(),
  );
});

// ---- our client -> Deno.upgradeWebSocket ----

async function withDenoServer(
  fn: (port: number) => Promise<void>,
  serveOptions: Partial<Deno.ServeTcpOptions & Deno.TlsCertifiedKeyPem> = {},
): Promise<void> {
  const ac = new AbortController();
  let port = 0;
  const ready = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (addr) => {
      port = addr.port;
      ready.resolve();
    },
    ...serveOptions,
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: req.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim() ?? "",
    });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      if (e.data === "close please") socket.close(4003, "as you wish");
      else socket.send(e.data);
    };
    return response;
  });
  await ready.promise;
  try {
    await withTimeout(fn(port), 10000, "test body");
  } finally {
    ac.abort();
    await server.finished;
  }
}

Deno.test("connect() interop: round-trips with a Deno.upgradeWebSocket server", async () => {
  await withDenoServer(async (port) => {
    const ws = await connect(`ws://127.0.0.1:${port}/`, { protocols: ["proto-a"] });
    equal(ws.protocol, "proto-a");
    const it = ws[Symbol.asyncIterator]();
    for (
      const m of [
        "hi",
        "",
        "\u00e9".repeat(40000),
        bytes(0),
        bytes(126),
        bytes(65536),
        bytes(200000),
      ]
    ) {
      await ws.send(m);
      deepEqual(await it.next(), { value: m, done: false });
    }
    await ws.send("close please");
    deepEqual(await it.next(), { value: undefined, done: true });
    equal(ws.closeCode, 4003);
    equal(ws.closeReason, "as you wish");
  });
});

Deno.test("connect() interop: closes cleanly with a Deno.upgradeWebSocket server", async () => {
  await withDenoServer(async (port) => {
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    await ws.close(1000, "bye");
    equal(ws.readyState, 3);
    equal(ws.closeCode, 1000);
  });
});

Deno.test("connect() interop: wss:// to a TLS Deno.upgradeWebSocket server", async (t) => {
  const pem = await makeCertificate();
  if (pem === null) {
    await t.step({ name: "openssl not available", ignore: true, fn: () => {} });
    return;
  }
  await withDenoServer(async (port) => {
    const ws = await connect(`wss://localhost:${port}/`, { caCerts: [pem.ca] });
    const it = ws[Symbol.asyncIterator]();
    await ws.send("secure");
    deepEqual(await it.next(), { value: "secure", done: false });
    await ws.close();
  }, { cert: pem.cert, key: pem.key, hostname: "localhost" });
});

// ---- npm:ws client -> our server ----

Deno.test("WebSocketServer interop: npm:ws client round-trips, fragments and pings", async () => {
  await withServer(async (f) => {
    const ws = new NodeWebSocket(`ws://127.0.0.1:${f.port}/`);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const got: unknown[] = [];
    const pong = new Promise<Uint8Array>((resolve) =>
      ws.once("pong", (d: Uint8Array) => resolve(d))
    );
    ws.ping(new TextEncoder().encode("are you there"));
    equal(new TextDecoder().decode(await pong), "are you there");
    const want: (string | Uint8Array)[] = ["plain", "fragmented message", bytes(70000)];
    const all = new Promise<void>((resolve) => {
      ws.on("message", (data: Uint8Array, isBinary: boolean) => {
        got.push(isBinary ? new Uint8Array(data) : new TextDecoder().decode(data));
        if (got.length === want.length) resolve();
      });
    });
    ws.send("plain");
    ws.send("fragmented ", { fin: false });
    ws.send("message", { fin: true });
    ws.send(bytes(70000));
    await all;
    deepEqual(got, want);
    const closed = new Promise<number>((resolve) =>
      ws.once("close", (code: number) => resolve(code))
    );
    ws.close(4010, "npm bye");
    equal(await closed, 4010);
    await f.stop();
    deepEqual(f.handler.closes, [{ code: 4010, reason: "npm bye" }]);
  });
});

// ---- our client -> npm:ws server ----

Deno.test("connect() interop: round-trips with an npm:ws server, answering its pings", async () => {
  const wss = new NodeWebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  const port = (wss.address() as { port: number }).port;
  const pongs: string[] = [];
  const serverClosed = Promise.withResolvers<[number, string]>();
  wss.on("connection", (sock: NodeWebSocket) => {
    sock.on("pong", (d: Uint8Array) => pongs.push(new TextDecoder().decode(d)));
    sock.on("message", (data: Uint8Array, isBinary: boolean) => {
      if (!isBinary && new TextDecoder().decode(data) === "ping me") sock.ping("pinged");
      sock.send(data, { binary: isBinary });
    });
    sock.on("close", (code: number, reason: Uint8Array) => {
      serverClosed.resolve([code, new TextDecoder().decode(reason)]);
    });
  });
  try {
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    const it = ws[Symbol.asyncIterator]();
    for (const m of ["hello", bytes(3), "x".repeat(100000), bytes(300000)]) {
      await ws.send(m);
      deepEqual(await it.next(), { value: m, done: false });
    }
    await ws.send("ping me");
    deepEqual(await it.next(), { value: "ping me", done: false });
    await ws.close(4020, "client bye");
    deepEqual(await withTimeout(serverClosed.promise, 3000, "npm:ws close"), [4020, "client bye"]);
    deepEqual(pongs, ["pinged"]);
    equal(ws.closeCode, 4020);
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});
