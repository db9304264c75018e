// A cluster worker for tests and the spread measurement: echoes, counts its
// connections ("count" answers with this worker's index and count), and
// crashes on "crash".
/// <reference lib="deno.worker" />
import { clusterWorker } from "../mod.ts";
import { type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";

const worker = await clusterWorker();
let connections = 0;

class Echo implements WebSocketHandler {
  onOpen(): void {
    connections++;
  }
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    if (data === "count") ws.send(`${worker.index} ${connections}`);
    else if (data === "crash") {
      setTimeout(() => {
        throw new Error("crash on request (expected: cluster_test checks the restart)");
      });
    } else ws.send(data);
  }
}

const server = new WebSocketServer(worker.listen(), new Echo(), {
  signal: worker.signal,
  shutdownTimeout: 2000,
});
await server.serve();
await worker.stopped();
