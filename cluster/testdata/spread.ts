// Measures how connections spread over the workers of a cluster:
//   deno run -A --unstable-net cluster/testdata/spread.ts MODE WORKERS CONNECTIONS
// MODE is reuseport or shared. Opens CONNECTIONS WebSocket connections one
// after another (each kept open), asks each which worker serves it, and
// prints one JSON line: {"mode", "workers", "connections", "perWorker"}.
import { runWorkers, type SharePortMode } from "../mod.ts";
import { connect, type WebSocketSession } from "@coroio/ws";

const mode = (Deno.args[0] ?? "reuseport") as SharePortMode;
const workers = Number(Deno.args[1] ?? 2);
const n = Number(Deno.args[2] ?? 200);
const cluster = await runWorkers(new URL("./echo_worker.ts", import.meta.url), {
  workers,
  mode,
  signals: false,
});
const perWorker = new Array<number>(workers).fill(0);
const open: WebSocketSession[] = [];
for (let i = 0; i < n; i++) {
  const ws = await connect(`ws://127.0.0.1:${cluster.port}/`);
  open.push(ws);
  await ws.send("count");
  const it = ws[Symbol.asyncIterator]();
  const reply = (await it.next()).value as string;
  perWorker[Number(reply.split(" ")[0])]!++;
}
for (const ws of open) await ws.close();
await cluster.shutdown();
// deno-lint-ignore no-console
console.log(JSON.stringify({ mode, workers, connections: n, perWorker }));
