// The same programs under Deno.serve and under serve() must give the same
// answers: a hono app (npm:hono) and a Deno.serve-style echo program.
import { deepStrictEqual as assertEquals, ok, strictEqual as equal } from "node:assert/strict";
import { Hono } from "npm:hono@4.13.19";
import { upgradeWebSocket as honoDenoUpgrade } from "npm:hono@4.13.19/deno";
import WebSocketNode from "npm:ws@8.23.0";
import { createUpgradeWebSocket } from "./hono.ts";
import { upgradeWebSocket } from "./websocket.ts";
import { type Pair, snapshot, startPair, stopPair, withTimeout } from "./_test_util.ts";
import { makeApp, type UpgradeHelper } from "./testdata/hono_app.ts";
import { makeHandler, type Upgrade } from "./testdata/echo_app.ts";

interface Case {
  name: string;
  path: string;
  init?: RequestInit;
}

const HONO_CASES: Case[] = [
  { name: "text", path: "/" },
  { name: "route params and query", path: "/users/42?q=x%20y" },
  {
    name: "JSON body",
    path: "/json",
    init: { method: "POST", body: '{"a":[1,2]}', headers: { "content-type": "application/json" } },
  },
  { name: "text body", path: "/text", init: { method: "POST", body: "shout" } },
  { name: "cookies in and out", path: "/cookies", init: { headers: { cookie: "x=7; y=8" } } },
  { name: "CORS simple", path: "/api/data", init: { headers: { origin: "https://example.com" } } },
  {
    name: "CORS preflight",
    path: "/api/data",
    init: {
      method: "OPTIONS",
      headers: {
        origin: "https://example.com",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-custom",
      },
    },
  },
  { name: "streaming", path: "/stream" },
  { name: "server-sent events", path: "/sse" },
  { name: "uncaught error through onError", path: "/boom" },
  { name: "HTTPException", path: "/denied" },
  { name: "not found", path: "/nope" },
  { name: "redirect", path: "/redirect" },
  { name: "html", path: "/html" },
  { name: "bytes", path: "/bytes" },
  { name: "204", path: "/empty" },
  { name: "HEAD", path: "/", init: { method: "HEAD" } },
];

async function compareCases(p: Pair, cases: Case[]): Promise<void> {
  for (const c of cases) {
    const ours = await snapshot(p.base.ours + c.path, c.init);
    const deno = await snapshot(p.base.deno + c.path, c.init);
    assertEquals(ours, deno, `${c.name}: serve() and Deno.serve differ`);
  }
}

Deno.test("serve() runs a hono app as Deno.serve does", async () => {
  const ours = makeApp(createUpgradeWebSocket() as UpgradeHelper);
  const deno = makeApp(honoDenoUpgrade as UpgradeHelper);
  const p = startPair(ours.fetch, deno.fetch);
  try {
    await withTimeout(compareCases(p, HONO_CASES), 10000, "hono cases");
  } finally {
    await stopPair(p);
  }
});

const ECHO_CASES: Case[] = [
  { name: "echo body", path: "/echo", init: { method: "POST", body: "abc".repeat(1000) } },
  { name: "info", path: "/info?x=1", init: { headers: { "x-agent": "t" } } },
  { name: "info POST", path: "/info", init: { method: "POST", body: "z" } },
  { name: "length", path: "/length", init: { method: "PUT", body: new Uint8Array(70000) } },
  { name: "HEAD keeps the GET length", path: "/head", init: { method: "HEAD" } },
  { name: "repeated Set-Cookie", path: "/cookies" },
  { name: "status", path: "/status" },
  { name: "fallback", path: "/x" },
];

Deno.test("serve() runs a Deno.serve program as Deno.serve does", async () => {
  const p = startPair(
    makeHandler(upgradeWebSocket as unknown as Upgrade),
    makeHandler(Deno.upgradeWebSocket as unknown as Upgrade),
  );
  try {
    await withTimeout(compareCases(p, ECHO_CASES), 10000, "echo cases");
    const head = await fetch(p.base.ours + "/head", { method: "HEAD" });
    await head.body?.cancel();
    equal(head.headers.get("content-length"), "12");
  } finally {
    await stopPair(p);
  }
});

async function denoClientEcho(url: string, messages: (string | Uint8Array)[]): Promise<unknown[]> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const got: unknown[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  ws.onopen = () => {
    for (const m of messages) ws.send(m);
  };
  ws.onmessage = (e) => {
    got.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
    if (got.length === messages.length) ws.close(1000, "done");
  };
  ws.onerror = () => reject(new Error("WebSocket failed"));
  ws.onclose = () => resolve();
  await withTimeout(promise, 5000, `echo over ${url}`);
  return got;
}

async function nodeClientEcho(url: string, messages: string[]): Promise<string[]> {
  const ws = new WebSocketNode(url);
  const got: string[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  ws.on("open", () => {
    for (const m of messages) ws.send(m);
  });
  ws.on("message", (data: unknown, binary: boolean) => {
    got.push(binary ? `bin:${String(data)}` : String(data));
    if (got.length === messages.length) ws.close(1000);
  });
  ws.on("error", reject);
  ws.on("close", () => resolve());
  await withTimeout(promise, 5000, `npm ws echo over ${url}`);
  return got;
}

const MESSAGES = ["hello", new Uint8Array([1, 2, 3]), "x".repeat(70000)];

Deno.test("upgradeWebSocket() echoes as Deno.upgradeWebSocket does, to Deno and npm ws clients", async () => {
  const p = startPair(
    makeHandler(upgradeWebSocket as unknown as Upgrade),
    makeHandler(Deno.upgradeWebSocket as unknown as Upgrade),
  );
  try {
    const ws = (b: string) => b.replace("http", "ws") + "/";
    assertEquals(
      await denoClientEcho(ws(p.base.ours), MESSAGES),
      await denoClientEcho(ws(p.base.deno), MESSAGES),
    );
    const texts = ["a", "b".repeat(1000)];
    assertEquals(
      await nodeClientEcho(ws(p.base.ours), texts),
      await nodeClientEcho(ws(p.base.deno), texts),
    );
  } finally {
    await stopPair(p);
  }
});

Deno.test("createUpgradeWebSocket() serves hono WebSocket routes as hono/deno does", async () => {
  const ours = makeApp(createUpgradeWebSocket() as UpgradeHelper);
  const deno = makeApp(honoDenoUpgrade as UpgradeHelper);
  const p = startPair(ours.fetch, deno.fetch);
  try {
    const ws = (b: string) => b.replace("http", "ws") + "/ws";
    const a = await denoClientEcho(ws(p.base.ours), MESSAGES);
    assertEquals(a, await denoClientEcho(ws(p.base.deno), MESSAGES));
    equal(a[0], "echo: hello");
    assertEquals(
      await nodeClientEcho(ws(p.base.ours), ["n"]),
      await nodeClientEcho(ws(p.base.deno), ["n"]),
    );
    // A plain GET to the WebSocket route goes on to the next handler (404 here).
    assertEquals(
      await snapshot(ws(p.base.ours).replace("ws", "http")),
      await snapshot(ws(p.base.deno).replace("ws", "http")),
    );
    ok(true);
  } finally {
    await stopPair(p);
  }
});

Deno.test("createUpgradeWebSocket() delivers onOpen, onMessage and onClose as hono/deno does", async () => {
  const logs: Record<string, string[]> = { ours: [], deno: [] };
  const serverClosed = { ours: Promise.withResolvers<void>(), deno: Promise.withResolvers<void>() };
  const build = (helper: UpgradeHelper, log: string[], onClosed: () => void) =>
    new Hono().get(
      "/ws",
      helper(() => ({
        onOpen(_e: Event, ws: { send(s: string): void; readyState: number }) {
          log.push(`open ${ws.readyState}`);
          ws.send("welcome");
        },
        onMessage(e: MessageEvent, ws: { close(code: number, reason: string): void }) {
          log.push(`message ${e.data}`);
          ws.close(4001, "bye");
        },
        onClose(e: CloseEvent) {
          log.push(`close ${e.code} ${e.reason}`);
          onClosed();
        },
      })),
    );
  const p = startPair(
    build(createUpgradeWebSocket() as UpgradeHelper, logs.ours!, serverClosed.ours.resolve).fetch,
    build(honoDenoUpgrade as UpgradeHelper, logs.deno!, serverClosed.deno.resolve).fetch,
  );
  try {
    for (const [side, base] of [["ours", p.base.ours], ["deno", p.base.deno]] as const) {
      const ws = new WebSocket(base.replace("http", "ws") + "/ws");
      const got: string[] = [];
      const closed = Promise.withResolvers<void>();
      ws.onmessage = (e) => {
        got.push(String(e.data));
        ws.send("hi");
      };
      ws.onclose = (e) => {
        got.push(`closed ${e.code} ${e.reason}`);
        closed.resolve();
      };
      await withTimeout(closed.promise, 5000, `${side} close`);
      logs[side]!.push(...got.map((g) => `client ${g}`));
    }
    // The server's close callback may run just after the client saw the close.
    await withTimeout(
      Promise.all([serverClosed.ours.promise, serverClosed.deno.promise]),
      3000,
      "server close callbacks",
    );
    assertEquals(logs.ours!.sort(), logs.deno!.sort());
    ok(logs.ours!.includes("close 4001 bye"), logs.ours!.join("; "));
  } finally {
    await stopPair(p);
  }
});
