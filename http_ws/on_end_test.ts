// An application's WebSocketSession.onEnd() listener next to the one of the
// server that made the session: both are told, on the standalone server and
// through the HTTP bridge, and the server's count of connections goes back
// to zero (a replaced server listener left the slot taken forever).
import { strictEqual as equal } from "node:assert/strict";
import { HttpServer, Router } from "@coroio/http";
import type { ConnectionEndListener, ConnectionHandle } from "@coroio/core";
import { type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
import { WebSocketTarget } from "./websocket_target.ts";

class AppListens implements WebSocketHandler, ConnectionEndListener {
  ended: ConnectionHandle[] = [];
  onOpen(ws: WebSocketSession): void {
    ws.onEnd(this);
  }
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    ws.send(data);
  }
  connectionEnded(handle: ConnectionHandle): void {
    this.ended.push(handle);
  }
}

interface Running {
  url: string;
  connections(): number;
  stop(): Promise<void>;
}

const SERVERS: Record<string, (app: AppListens) => Running> = {
  standalone(app) {
    const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), app, {
      shutdownTimeout: 3000,
    });
    const serving = server.serve();
    return {
      url: `ws://127.0.0.1:${server.addr.port}/`,
      connections: () => server.connections,
      stop: async () => {
        await server.shutdown();
        await serving;
      },
    };
  },
  bridge(app) {
    const router = new Router().upgrade("/ws", new WebSocketTarget(app));
    const server = new HttpServer(router, {
      hostname: "127.0.0.1",
      port: 0,
      shutdownTimeout: 3000,
    });
    const { port } = server.listen();
    return {
      url: `ws://127.0.0.1:${port}/ws`,
      connections: () => server.connections,
      stop: () => server.shutdown(),
    };
  },
};

for (const [name, start] of Object.entries(SERVERS)) {
  Deno.test(`WebSocketSession.onEnd() from the application keeps the ${name} server's listener`, async () => {
    const app = new AppListens();
    const running = start(app);
    try {
      for (let i = 0; i < 3; i++) {
        const ws = new WebSocket(running.url);
        await new Promise((resolve, reject) => {
          ws.onopen = () => ws.send("hi");
          ws.onmessage = resolve;
          ws.onerror = reject;
        });
        const closed = new Promise((resolve) => ws.onclose = resolve);
        ws.close();
        await closed;
      }
      for (let i = 0; i < 200 && (running.connections() > 0 || app.ended.length < 3); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      equal(app.ended.length, 3);
      equal(running.connections(), 0);
    } finally {
      const t = performance.now();
      await running.stop();
      equal(performance.now() - t < 2000, true, "shutdown waited for a connection that had ended");
    }
  });
}
