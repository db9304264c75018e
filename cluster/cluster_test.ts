import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { connect, type WebSocketSession } from "@coroio/ws";
import { hasUnstableNet, listenShared, runWorkers } from "./mod.ts";

const ECHO = new URL("./testdata/echo_worker.ts", import.meta.url);

async function ask(ws: WebSocketSession, text: string): Promise<string> {
  await ws.send(text);
  const { value } = await ws[Symbol.asyncIterator]().next();
  return value as string;
}

function waitFor(check: () => boolean, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

Deno.test("listenShared() refuses reuseport without --unstable-net, with a clear error", () => {
  if (hasUnstableNet()) return; // this run has the flag: nothing to refuse
  let message = "";
  try {
    listenShared({ port: 0, mode: "reuseport" });
  } catch (error) {
    message = (error as Error).message;
  }
  ok(message.includes("--unstable-net"), message);
});

Deno.test("runWorkers() rejects a bad worker count and reuseport without the flag", async () => {
  await rejects(runWorkers(ECHO, { workers: 0, mode: "shared", signals: false }), RangeError);
  if (!hasUnstableNet()) {
    await rejects(runWorkers(ECHO, { workers: 1, signals: false }), /--unstable-net/);
  }
});

Deno.test("runWorkers() restarts a crashed worker and keeps serving", async () => {
  const crashes: number[] = [];
  const cluster = await runWorkers(ECHO, {
    workers: 2,
    mode: "shared",
    signals: false,
    onCrash: (index) => crashes.push(index),
  });
  try {
    const url = `ws://127.0.0.1:${cluster.port}/`;
    const ws = await connect(url);
    const index = Number((await ask(ws, "count")).split(" ")[0]);
    await ws.send("crash");
    await waitFor(() => cluster.restarts === 1, "the restart");
    deepStrictEqual(crashes, [index]);
    await ws.close();
    // Both workers serve again: connections still work.
    for (let i = 0; i < 4; i++) {
      const again = await connect(url);
      strictEqual(await ask(again, "hi"), "hi");
      await again.close();
    }
  } finally {
    await cluster.shutdown();
  }
});

Deno.test("runWorkers() spreads connections evenly with reuseport (subprocess with --unstable-net)", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      new URL("./testdata/spread.ts", import.meta.url).pathname,
      "reuseport",
      "2",
      "400",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  strictEqual(code, 0);
  const { perWorker } = JSON.parse(new TextDecoder().decode(stdout));
  strictEqual(perWorker.length, 2);
  strictEqual(perWorker[0] + perWorker[1], 400);
  const ratio = Math.max(...perWorker) / Math.min(...perWorker);
  ok(ratio <= 1.5, `max/min ${ratio}: ${perWorker}`);
});

Deno.test("Cluster.shutdown() closes every worker's sessions gracefully (1001)", async () => {
  const cluster = await runWorkers(ECHO, { workers: 2, mode: "shared", signals: false });
  const clients: WebSocketSession[] = [];
  for (let i = 0; i < 6; i++) {
    const ws = await connect(`ws://127.0.0.1:${cluster.port}/`);
    strictEqual(await ask(ws, "hi"), "hi");
    clients.push(ws);
  }
  const stopping = cluster.shutdown();
  for (const ws of clients) {
    await ws.done;
    strictEqual(ws.closeCode, 1001);
  }
  await stopping;
  await cluster.done;
});
