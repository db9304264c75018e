// Server-side JavaScript cost per echoed message, without sockets: a
// WebSocketSession (server role, an echo handler) on a fake connection
// whose reads return K masked text frames of `size` bytes at a time as soon
// as the echo of the previous K was written. Kernel and runtime I/O costs
// are not included, so this isolates the session's own work per message.
// Both wall time and process CPU time per message are printed: on a busy
// machine the CPU figure is the steadier one.
// `binary` sends binary frames instead of text; `borrow` sets the session's
// `borrowMessages` option (binary messages as views valid during the call);
// `bytes` echoes text through onText/sendText (no string per message).
//
//     deno run -A ws/testdata/session_cost.ts [n=2000000] [k=1] [size=32] [text|binary] [borrow|bytes|-] [rounds=3]
import process from "node:process";
import { buildFrame, type WebSocketHandler, WebSocketSession } from "@coroio/ws";

const N = Number(Deno.args[0] ?? 2_000_000);
const K = Number(Deno.args[1] ?? 1);
const size = Number(Deno.args[2] ?? 32);
const opcode = Deno.args[3] === "binary" ? 2 : 1;
const borrow = Deno.args[4] === "borrow";
const bytes = Deno.args[4] === "bytes";
const rounds = Number(Deno.args[5] ?? 3);
const one = buildFrame(opcode, new TextEncoder().encode("x".repeat(size)), { mask: true });
const batch = new Uint8Array(one.length * K);
for (let i = 0; i < K; i++) batch.set(one, i * one.length);
const echoSize = one.length - 4; // the echo is unmasked

/** Hands out `batch` once per K echoed frames, in pieces as large as each read. */
class FakeConn {
  avail: Uint8Array | null = batch;
  pending: { p: Uint8Array; resolve: (n: number | null) => void } | null = null;
  writes = 0;
  echoed = 0;
  #give(p: Uint8Array): number {
    const a = this.avail!;
    const n = Math.min(p.length, a.length);
    p.set(a.subarray(0, n));
    this.avail = n === a.length ? null : a.subarray(n);
    return n;
  }
  read(p: Uint8Array): Promise<number | null> {
    if (this.echoed >= N) return Promise.resolve(null);
    if (this.avail !== null) return Promise.resolve(this.#give(p));
    return new Promise((resolve) => (this.pending = { p, resolve }));
  }
  write(p: Uint8Array): Promise<number> {
    this.writes++;
    this.echoed += Math.round(p.length / echoSize);
    if (this.avail === null && this.echoed % K === 0) {
      this.avail = batch;
      const pending = this.pending;
      if (pending !== null) {
        this.pending = null;
        pending.resolve(this.echoed >= N ? null : this.#give(pending.p));
      }
    }
    return Promise.resolve(p.length);
  }
  close(): void {}
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
}

class Echo implements WebSocketHandler {
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    ws.send(data);
  }
}

/** An echo that takes text as bytes (onText), as examples/ws_echo.ts does. */
class BytesEcho extends Echo {
  onText(ws: WebSocketSession, bytes: Uint8Array): void {
    ws.sendText(bytes);
  }
}

for (let round = 0; round < rounds; round++) {
  const conn = new FakeConn();
  const session = new WebSocketSession(
    conn as unknown as Deno.Conn,
    new Uint8Array(0),
    bytes ? new BytesEcho() : new Echo(),
    borrow ? { idleTimeout: 0, borrowMessages: true } : { idleTimeout: 0 },
  );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await session.run();
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  // deno-lint-ignore no-console
  console.log(
    `${(ms * 1000 / conn.echoed).toFixed(3)} us/message, ${
      ((c1.user + c1.system) / conn.echoed).toFixed(3)
    } us CPU (${conn.echoed} messages, ` +
      `${conn.writes} writes, ${K} per read, ${size} B ${opcode === 1 ? "text" : "binary"}${
        borrow ? ", borrowed" : bytes ? ", text as bytes" : ""
      })`,
  );
}
