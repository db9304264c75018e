// Publishing to subscribers that negotiated permessage-deflate: in shared
// mode a message is compressed once for every subscriber (one deflate per
// publish, the same bytes staged for all), in dedicated mode each connection
// compresses with its own context; every subscriber gets the exact message.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";
import type { PerMessageDeflateOptions } from "./permessage_deflate.ts";
import { deflateCount } from "./_zlib_backend.ts";
import { WebSocketServer } from "./server.ts";
import type { WebSocketHandler } from "./session.ts";
import type { WebSocketSession } from "./session.ts";
import { Topics } from "./topics.ts";
import { withTimeout } from "./_test_util.ts";

class Subscribe implements WebSocketHandler {
  topics: Topics;
  constructor(topics: Topics) {
    this.topics = topics;
  }
  async onMessage(ws: WebSocketSession, data: string | Uint8Array): Promise<void> {
    await this.topics.subscribe(ws, data as string);
    await ws.send("subscribed");
  }
}

async function run(compression: PerMessageDeflateOptions, n: number) {
  const topics = new Topics();
  const server = new WebSocketServer(
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    new Subscribe(topics),
    { compression },
  );
  const serving = server.serve();
  const clients: NodeWebSocket[] = [];
  const got: (string | Uint8Array)[][] = [];
  try {
    for (let i = 0; i < n; i++) {
      const ws = new NodeWebSocket(`ws://127.0.0.1:${server.addr.port}/`, {
        perMessageDeflate: { threshold: 0 },
      });
      clients.push(ws);
      const mine: (string | Uint8Array)[] = [];
      got.push(mine);
      await withTimeout(new Promise((r) => ws.once("open", r)), 3000, "open");
      equal(ws.extensions.startsWith("permessage-deflate"), true);
      const ready = new Promise((r) => ws.once("message", r));
      ws.send("room");
      await withTimeout(ready, 3000, "subscribed");
      ws.on("message", (d: Uint8Array, binary: boolean) => {
        mine.push(binary ? new Uint8Array(d) : new TextDecoder().decode(d));
      });
    }
    const text = JSON.stringify({ msg: "hello ".repeat(50) });
    const bytes = new TextEncoder().encode("binary ".repeat(40));
    const before = deflateCount();
    topics.publish("room", text);
    topics.publish("room", bytes);
    const deflates = deflateCount() - before;
    await withTimeout(
      (async () => {
        while (got.some((g) => g.length < 2)) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      "deliveries",
    );
    for (const g of got) deepEqual(g, [text, bytes]);
    return deflates;
  } finally {
    for (const ws of clients) ws.terminate();
    await server.shutdown(500);
    await serving;
  }
}

Deno.test("Topics.publish() compresses once per message for shared-mode subscribers", async () => {
  const deflates = await run({ threshold: 0 }, 20);
  equal(deflates, 2); // two messages, twenty subscribers
});

Deno.test("Topics.publish() compresses per connection in dedicated mode", async () => {
  const deflates = await run({ mode: "dedicated", threshold: 0 }, 5);
  equal(deflates, 10);
});

Deno.test("Topics.publish() from onClose skips the closing compressed subscriber and keeps no stale frame", async () => {
  const topics = new Topics();
  const errors: unknown[] = [];
  const server = new WebSocketServer(
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    {
      async onMessage(ws: WebSocketSession, data: string | Uint8Array): Promise<void> {
        await topics.subscribe(ws, data as string);
        await ws.send("subscribed");
      },
      onClose(): void {
        try {
          topics.publish("room", "someone left the room");
        } catch (err) {
          errors.push(err);
        }
      },
    },
    { compression: { threshold: 0 } },
  );
  const serving = server.serve();
  const clients: NodeWebSocket[] = [];
  const got: string[] = [];
  try {
    // Two subscribers with different shared compressors (window 15 and 10).
    for (const pmd of [{ threshold: 0 }, { threshold: 0, serverMaxWindowBits: 10 }]) {
      const ws = new NodeWebSocket(`ws://127.0.0.1:${server.addr.port}/`, {
        perMessageDeflate: pmd,
      });
      clients.push(ws);
      await withTimeout(new Promise((r) => ws.once("open", r)), 3000, "open");
      const ready = new Promise((r) => ws.once("message", r));
      ws.send("room");
      await withTimeout(ready, 3000, "subscribed");
    }
    clients[0]!.on("message", (d: Uint8Array) => got.push(new TextDecoder().decode(d)));
    const closed = new Promise((r) => clients[1]!.once("close", r));
    clients[1]!.close(1000);
    await withTimeout(closed, 3000, "close");
    await withTimeout(
      (async () => {
        while (got.length < 1) await new Promise((r) => setTimeout(r, 5));
      })(),
      3000,
      "the leave message",
    );
    topics.publish("room", "second message");
    await withTimeout(
      (async () => {
        while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
      })(),
      3000,
      "the second message",
    );
    deepEqual(errors, []);
    deepEqual(got, ["someone left the room", "second message"]);
  } finally {
    for (const ws of clients) ws.terminate();
    await server.shutdown(500);
    await serving;
  }
});
