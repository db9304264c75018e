// JavaScript heap held by one idle, running WebSocketSession: N sessions on
// fake connections whose reads never settle (the state of a connection whose
// peer is silent), measured after full GCs. Buffers outside the JS heap (the
// 256-byte read buffer's backing store) and the runtime's socket resources
// are not included: ws/testdata/idle_memory.ts measures the whole process.
//
//     deno run -A --v8-flags=--expose-gc ws/testdata/session_heap.ts [n=20000]
import { type WebSocketHandler, WebSocketSession } from "@coroio/ws";

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
Deno.exit(0);
