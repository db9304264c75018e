// The handshake case table (ws/_handshake_cases.ts) run against both servers
// that answer WebSocket handshakes: the standalone WebSocketServer of
// @coroio/ws and an HttpServer route with the bridge's WebSocketTarget. Every
// request must get the expected status from each, hence the same from both.
import { ok, strictEqual as equal } from "node:assert/strict";
import { HttpServer, Router } from "@coroio/http";
import { type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
import { WebSocketTarget } from "./websocket_target.ts";
import { HANDSHAKE_CASES } from "../ws/_handshake_cases.ts";

class Echo implements WebSocketHandler {
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    ws.send(data).catch(() => {});
  }
}

/** A server under test: its port and how to stop it. */
interface Running {
  readonly port: number;
  stop(): Promise<void>;
}

const SERVERS: Record<string, () => Running> = {
  "WebSocketServer": () => {
    const server = new WebSocketServer(
      Deno.listen({ hostname: "127.0.0.1", port: 0 }),
      new Echo(),
      { maxHeadSize: 8192, shutdownTimeout: 500 },
    );
    const serving = server.serve();
    return {
      port: server.addr.port,
      stop: async () => {
        await server.shutdown();
        await serving;
      },
    };
  },
  "HttpServer + WebSocketTarget": () => {
    const router = new Router().upgrade("/chat", new WebSocketTarget(new Echo()));
    const server = new HttpServer(router, { port: 0, maxHeadSize: 8192, shutdownTimeout: 500 });
    const { port } = server.listen();
    return { port, stop: () => server.shutdown() };
  },
};

/** Sends `raw` and returns the response head (status line and fields). */
async function answer(port: number, raw: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 3000);
  try {
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    await conn.write(bytes).catch(() => {});
    let got = "";
    const buf = new Uint8Array(4096);
    while (!got.includes("\r\n\r\n")) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      got += String.fromCharCode(...buf.subarray(0, n));
    }
    return got.slice(0, got.indexOf("\r\n\r\n") + 2);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

for (const [serverName, start] of Object.entries(SERVERS)) {
  Deno.test(`${serverName} answers every handshake case of the shared table`, async (t) => {
    const server = start();
    try {
      for (const c of HANDSHAKE_CASES) {
        await t.step(`${c.name}: ${c.status}`, async () => {
          const head = await answer(server.port, c.request);
          const status = Number(head.slice(9, 12));
          equal(status, c.status, `${c.name}: got ${JSON.stringify(head.split("\r\n")[0])}`);
          if (c.header !== undefined) ok(head.includes(`\r\n${c.header}\r\n`), head);
        });
      }
    } finally {
      await server.stop();
    }
  });
}
