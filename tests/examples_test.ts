// The examples' behaviour is a contract that other checks (benchmarks,
// README) rely on: these tests run them as real processes.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startExample } from "./_spawn.ts";
import { Echo } from "../examples/http_hello.ts";
import { exchangeInMemory, parseWritten } from "../http/_test_util.ts";

async function wsEcho(url: string): Promise<(string | number[])[]> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const got: (string | number[])[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => {
      ws.send("text");
      ws.send(new Uint8Array([0, 1, 255]));
    };
    ws.onmessage = (e) => {
      got.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
      if (got.length === 2) ws.close();
    };
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error("websocket error"));
  });
  return got;
}

async function httpContract(base: URL): Promise<void> {
  const root = await fetch(new URL("/", base));
  assertEquals(root.status, 200);
  assert((await root.text()).length > 0);
  const body = new Uint8Array(3000).map((_, i) => i % 251);
  const echo = await fetch(new URL("/echo", base), { method: "POST", body });
  assertEquals(new Uint8Array(await echo.arrayBuffer()), body);
  const missing = await fetch(new URL("/missing", base));
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
}

/**
 * POSTs the `pieces` to /echo over a raw connection and returns the
 * response: with `pauseMs` 0 in one write with the head, else the head and
 * each piece in writes of their own, `pauseMs` apart.
 */
async function rawEcho(port: number, pieces: string[], pauseMs: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const length = pieces.join("").length;
    const head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-test\r\n" +
      `Content-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const enc = new TextEncoder();
    if (pauseMs === 0) await conn.write(enc.encode(head + pieces.join("")));
    else {
      await conn.write(enc.encode(head));
      for (const piece of pieces) {
        await new Promise((r) => setTimeout(r, pauseMs));
        await conn.write(enc.encode(piece));
      }
    }
    return await new Response(conn.readable).text();
  } finally {
    try {
      conn.close();
    } catch { /* closed by the response stream */ }
  }
}

Deno.test("examples/http_hello.ts Echo answers at once when the body is buffered, later otherwise", async () => {
  const head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-test\r\n" +
    "Content-Length: 4\r\n\r\n";
  for (const buffered of [true, false]) {
    const { req, res, host } = exchangeInMemory(head, ["pi", "ng"]);
    if (buffered) { while (host.reader.buffered < 4) await host.reader.fill(); }
    const out = new Echo().handle(req, res);
    // Synchronous (no promise) exactly when the whole body was there.
    assertEquals(out === undefined, buffered, `buffered: ${buffered}`);
    await out;
    const got = parseWritten(await host.written());
    assertEquals([got.status, got.body, got.headers.get("content-type")], [
      200,
      "ping",
      "text/x-test",
    ]);
  }
});

Deno.test("examples/http_hello.ts serves its routes and stops on SIGTERM", async () => {
  const ex = await startExample("examples/http_hello.ts");
  try {
    assertEquals(ex.url.protocol, "http:");
    assertEquals(ex.url.hostname, "127.0.0.1");
    await httpContract(ex.url);
    // The echo answers at once when the body came with the head, and waits
    // for it otherwise; either way with the body and its Content-Type.
    const port = Number(ex.url.port);
    for (const [pieces, pause] of [[["hi"], 0], [["ab", "cd", "ef"], 30]] as const) {
      const res = await rawEcho(port, [...pieces], pause);
      assert(res.startsWith("HTTP/1.1 200 OK\r\n"), res);
      assert(/\r\ncontent-type: text\/x-test\r\n/i.test(res), res);
      assert(res.endsWith(`\r\n\r\n${pieces.join("")}`), res);
    }
  } finally {
    assertEquals((await ex.stop("SIGTERM")).success, true);
  }
});

Deno.test("examples/http_ws_echo.ts serves HTTP routes and a WebSocket echo at /ws", async () => {
  const ex = await startExample("examples/http_ws_echo.ts");
  try {
    await httpContract(ex.url);
    assertEquals(await wsEcho(`ws://127.0.0.1:${ex.port}/ws`), ["text", [0, 1, 255]]);
  } finally {
    assertEquals((await ex.stop("SIGINT")).success, true);
  }
});

Deno.test("examples/ws_echo.ts echoes at any path and stops on SIGTERM", async () => {
  const ex = await startExample("examples/ws_echo.ts");
  try {
    assertEquals(ex.url.protocol, "ws:");
    assertEquals(await wsEcho(`ws://127.0.0.1:${ex.port}/any/path`), ["text", [0, 1, 255]]);
  } finally {
    assertEquals((await ex.stop("SIGTERM")).success, true);
  }
});

Deno.test("examples/chat/server.ts broadcasts messages, joins and leaves", async () => {
  const ex = await startExample("examples/chat/server.ts");
  try {
    const page = await fetch(ex.url);
    assert((await page.text()).includes("<title>coroio chat</title>"));
    const open = (name: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${ex.port}/chat?name=${name}`);
      const events: { type: string; name: string; text?: string }[] = [];
      const opened = new Promise((r, j) => {
        ws.onopen = r;
        ws.onerror = j;
      });
      ws.onmessage = (e) => events.push(JSON.parse(e.data));
      return { ws, events, opened };
    };
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      assert(cond());
    };
    const ann = open("ann");
    await ann.opened;
    const bob = open("bob");
    await bob.opened;
    await until(() => ann.events.some((e) => e.type === "join" && e.name === "bob"));
    bob.ws.send("hi ann");
    await until(() => ann.events.some((e) => e.type === "message"));
    assertEquals(ann.events.find((e) => e.type === "message"), {
      type: "message",
      name: "bob",
      text: "hi ann",
    });
    const bobClosed = new Promise((r) => bob.ws.onclose = r);
    bob.ws.close();
    await bobClosed;
    await until(() => ann.events.some((e) => e.type === "leave" && e.name === "bob"));
    const annClosed = new Promise((r) => ann.ws.onclose = r);
    ann.ws.close();
    await annClosed;
  } finally {
    assertEquals((await ex.stop("SIGTERM")).success, true);
  }
});

Deno.test("listenOrExit() makes every example say a busy port is busy and exit 1", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String(busy.addr.port);
    for (
      const file of [
        "examples/http_hello.ts",
        "examples/http_ws_echo.ts",
        "examples/ws_echo.ts",
        "examples/fanout.ts",
      ]
    ) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(`../${file}`, import.meta.url).pathname, "--port", port],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const out = await Promise.race([
        child.output(),
        new Promise<null>((r) => timer = setTimeout(r, 15000, null)),
      ]);
      clearTimeout(timer);
      if (out === null) {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`${file} did not exit on a busy port`);
      }
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, `${file}: ${stderr}`);
      assertEquals(
        stderr.trim(),
        `Cannot listen on 127.0.0.1:${port}: port ${port} is already in use (another server is ` +
          "running there?). Pick another port with --port N, or --port 0 for a free one.",
        file,
      );
    }
  } finally {
    busy.close();
  }
});
