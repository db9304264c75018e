// JavaScript heap held by one idle, running WebSocketSession: N sessions on
// fake connections whose reads never settle (the state of a connection whose
// peer is silent), measured after full GCs. Buffers outside the JS heap (the
// 256-byte read buffer's backing store) and the runtime's socket resources
// are not included: ws/testdata/idle_memory.ts measures the whole process.
// Then the same through a whole server, standalone (WebSocketServer) and
// bridge (HttpServer + WebSocketTarget): N connections from a fake listener
// (handshake, 101, then silence), so that the accept loop's, the handshake's
// and the HTTP takeover's per-connection leftovers are counted too (the fake
// connection itself, ~100 B with its pending read, is included), with the
// default timeouts (each session's idle timer armed).
//
//     deno run -A --v8-flags=--expose-gc ws/testdata/session_heap.ts [n=20000]
import { type WebSocketHandler, WebSocketServer, WebSocketSession } from "@coroio/ws";
import { HttpServer, Router } from "@coroio/http";
import { WebSocketTarget } from "@coroio/http-ws";

class Quiet implements WebSocketHandler {
  onMessage(): void {}
}

class IdleConn {
  read(_p: Uint8Array): Promise<number | null> {
    return new Promise(() => {});
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
}

const N = Number(Deno.args[0] ?? 20000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
const handler = new Quiet();
const keep: WebSocketSession[] = [];
// One options object for all sessions, as a server passes them (the checked
// options are then shared); a fresh object per session is measured too.
const shared = { idleTimeout: 0 };
function open(n: number, fresh: boolean): void {
  for (let i = 0; i < n; i++) {
    const conn = new IdleConn() as unknown as Deno.Conn;
    const options = fresh ? { idleTimeout: 0 } : shared;
    const s = new WebSocketSession(conn, new Uint8Array(0), handler, options);
    s.run();
    keep.push(s);
  }
}
open(200, false); // warm up
open(200, true);
for (const fresh of [false, true]) {
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  open(N, fresh);
  gc();
  gc();
  const after = Deno.memoryUsage().heapUsed;
  // deno-lint-ignore no-console
  console.log(
    `${Math.round((after - before) / N)} B of JS heap per idle session (${N} sessions, ${
      fresh ? "an options object each" : "one options object"
    })`,
  );
}

const ADDR: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
const REQUEST = new TextEncoder().encode(
  "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

/** A client that sends the handshake, reads nothing and then stays silent. */
class HandshakeConn {
  readonly remoteAddr = ADDR;
  readonly localAddr = ADDR;
  #sent = false;
  read(p: Uint8Array): Promise<number | null> {
    if (this.#sent) return new Promise(() => {});
    this.#sent = true;
    p.set(REQUEST);
    return Promise.resolve(REQUEST.length);
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  setNoDelay(): void {}
}

/** Hands out as many connections as it was given, then waits for more. */
class FakeListener {
  readonly addr = ADDR;
  #left = 0;
  #wake: (() => void) | null = null;
  give(n: number): void {
    this.#left += n;
    this.#wake?.();
  }
  async accept(): Promise<Deno.Conn> {
    while (this.#left === 0) await new Promise<void>((r) => this.#wake = r);
    this.#left--;
    return new HandshakeConn() as unknown as Deno.Conn;
  }
  close(): void {}
}

class Counting implements WebSocketHandler {
  opened = 0;
  onOpen(): void {
    this.opened++;
  }
  onMessage(): void {}
}

async function serverPath(
  label: string,
  start: (l: FakeListener, h: Counting) => void,
): Promise<void> {
  const listener = new FakeListener();
  const handler = new Counting();
  start(listener, handler);
  const batch = async (n: number) => {
    const target = handler.opened + n;
    listener.give(n);
    while (handler.opened < target) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // the 101 writes settle
  };
  await batch(200); // warm up
  gc!();
  gc!();
  const before = Deno.memoryUsage().heapUsed;
  await batch(N);
  gc!();
  gc!();
  const after = Deno.memoryUsage().heapUsed;
  // deno-lint-ignore no-console
  console.log(
    `${Math.round((after - before) / N)} B of JS heap per idle connection (${label}, ${N})`,
  );
}

// Default timeouts: each session's idle timer is armed, as on a real server.
await serverPath("standalone server", (l, h) => {
  new WebSocketServer(l as unknown as Deno.Listener, h, { maxConnections: 1 << 20 }).serve();
});
await serverPath("HTTP bridge", (l, h) => {
  const router = new Router().upgrade("/ws", new WebSocketTarget(h));
  new HttpServer(router, { maxConnections: 1 << 20 }).serve(l as unknown as Deno.Listener);
});
Deno.exit(0);
