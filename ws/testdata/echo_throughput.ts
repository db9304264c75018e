// In-process echo throughput: our client (handler, pipelined window of
// messages) against our WebSocketServer, or against Deno.upgradeWebSocket.
//
//     deno run -A ws/testdata/echo_throughput.ts [size=16] [window=1000] [n=200000] [ours|deno] [borrow]
//
// The messages are binary; `borrow` sets `borrowMessages` on both of our
// ends (views valid during the call instead of an owned array per message).
// Both ends share one thread, so the figure is a lower bound for each side.
import { connect, type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";

class Echo implements WebSocketHandler {
  onMessage(ws: WebSocketSession, d: string | Uint8Array): void {
    ws.send(d);
  }
}

const size = Number(Deno.args[0] ?? 16);
const windowSize = Number(Deno.args[1] ?? 1000);
const n = Number(Deno.args[2] ?? 200000);
const peer = Deno.args[3] ?? "ours";
const borrow = Deno.args[4] === "borrow";

let port: number;
let stop: () => Promise<void>;
if (peer === "ours") {
  const s = new WebSocketServer(
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    new Echo(),
    borrow ? { borrowMessages: true } : {},
  );
  const serving = s.serve();
  port = s.addr.port;
  stop = async () => {
    await s.shutdown();
    await serving;
  };
} else {
  const ac = new AbortController();
  const ready = Promise.withResolvers<number>();
  const srv = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => ready.resolve(a.port),
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  port = await ready.promise;
  stop = async () => {
    ac.abort();
    await srv.finished;
  };
}

const msg = new Uint8Array(size);
const done = Promise.withResolvers<void>();
class Client implements WebSocketHandler {
  sent = 0;
  got = 0;
  onOpen(ws: WebSocketSession): void {
    while (this.sent < windowSize && this.sent < n) {
      ws.send(msg);
      this.sent++;
    }
  }
  onMessage(ws: WebSocketSession): void {
    if (++this.got === n) done.resolve();
    else if (this.sent < n) {
      ws.send(msg);
      this.sent++;
    }
  }
}
const t0 = performance.now();
const ws = await connect(`ws://127.0.0.1:${port}`, {
  handler: new Client(),
  ...(borrow ? { borrowMessages: true } : {}),
});
await done.promise;
const secs = (performance.now() - t0) / 1000;
// deno-lint-ignore no-console
console.log(
  `${peer}${borrow ? " (borrowed)" : ""}: ${size} B messages, window ${windowSize}: ` +
    `${Math.round(n / secs)} msg/s, ` +
    `${(n * size / secs / 1e6).toFixed(1)} MB/s each way`,
);
await ws.close();
await stop();
