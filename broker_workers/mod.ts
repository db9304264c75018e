/**
 * Pub/sub between the Deno workers of one process: a {@linkcode WorkersHub}
 * on the main thread and a {@linkcode WorkersBroker} in each worker, talking
 * over `MessagePort`s. Not `BroadcastChannel`: Deno backs it with a channel of
 * 256 slots and silently drops messages past that for a lagging receiver.
 *
 * @example A hub and a broker in a worker
 * ```ts ignore
 * import { WorkersHub } from "@coroio/broker-workers";
 *
 * const hub = new WorkersHub();
 * const worker = new Worker(new URL("./server.ts", import.meta.url), { type: "module" });
 * const port = hub.connect();
 * worker.postMessage({ brokerPort: port }, [port]);
 * // in server.ts: new WorkersBroker({ port: event.data.brokerPort })
 * ```
 *
 * @example Two brokers on one hub (both on the main thread here)
 * ```ts
 * import { WorkersBroker, WorkersHub } from "@coroio/broker-workers";
 * import { strictEqual } from "node:assert/strict";
 *
 * const hub = new WorkersHub();
 * const a = new WorkersBroker({ port: hub.connect() });
 * const b = new WorkersBroker({ port: hub.connect() });
 * await Promise.all([a.subscribe("x"), b.subscribe("x")]);
 * strictEqual(hub.topicCount, 1);
 * await a.close();
 * await b.close();
 * hub.close();
 * ```
 *
 * @module
 */
export * from "./workers_hub.ts";
export * from "./workers_broker.ts";
// The broker contract from @coroio/core, re-exported so this package's docs are complete alone.
export {
  type Broker,
  BrokerClosedError,
  type BrokerGap,
  type BrokerListener,
  type BrokerOptions,
  BrokerState,
  GapReason,
  MessageFlags,
  type MessageOrigin,
} from "@coroio/core";
