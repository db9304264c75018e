/**
 * Multi-core serving: {@linkcode runWorkers} runs N copies of a server
 * module in N Deno workers sharing one port (`SO_REUSEPORT`, or one shared
 * accept queue), with a workers broker between them so that a `Topics`
 * publish reaches every subscriber on every core, graceful shutdown on
 * SIGINT/SIGTERM and crashed workers restarted.
 *
 * @example One worker echoing on a shared port
 * ```ts
 * import { runWorkers } from "@coroio/cluster";
 * import { connect } from "@coroio/ws";
 * import { strictEqual } from "node:assert/strict";
 *
 * const cluster = await runWorkers(new URL("./testdata/echo_worker.ts", import.meta.url), {
 *   workers: 1,
 *   mode: "shared", // "reuseport" needs --unstable-net
 *   signals: false,
 * });
 * const ws = await connect(`ws://127.0.0.1:${cluster.port}/`);
 * await ws.send("hi");
 * for await (const message of ws) {
 *   strictEqual(message, "hi");
 *   break;
 * }
 * await cluster.shutdown();
 * ```
 *
 * @module
 */
export * from "./listen.ts";
export * from "./worker.ts";
export * from "./run_workers.ts";
// The broker each worker gets, re-exported so this package's docs are complete alone.
export {
  type Broker,
  type BrokerGap,
  type BrokerListener,
  type BrokerOptions,
  BrokerState,
  GapReason,
  type MessageOrigin,
  WorkersBroker,
  type WorkersBrokerOptions,
} from "@coroio/broker-workers";
