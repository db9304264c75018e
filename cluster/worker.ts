import { WorkersBroker } from "@coroio/broker-workers";
import { listenShared, type SharePortMode } from "./listen.ts";
import type { StartMessage, StatusMessage, ToWorker } from "./_protocol.ts";

/**
 * What a server module running under {@linkcode runWorkers} gets: its index,
 * the arguments, a broker wired to every other worker, the shared listener
 * and the shutdown signal.
 */
export class ClusterWorker {
  /** This worker's index, 0 to `workers - 1` (a restarted worker keeps its index). */
  readonly index: number;
  /** The arguments given to `runWorkers`. */
  readonly args: readonly string[];
  /** A broker to every other worker of the cluster (give it to a `Topics` hub). */
  readonly broker: WorkersBroker;
  /** Aborted when the cluster shuts down: pass it to the server's `signal` option. */
  readonly signal: AbortSignal;
  #hostname: string;
  #port: number;
  #mode: SharePortMode;

  /**
   * Made by {@linkcode clusterWorker}.
   *
   * @param start The start message.
   * @param signal The shutdown signal.
   */
  constructor(start: StartMessage, signal: AbortSignal) {
    this.index = start.index;
    this.args = start.args;
    this.broker = new WorkersBroker({ port: start.brokerPort });
    this.signal = signal;
    this.#hostname = start.hostname;
    this.#port = start.port;
    this.#mode = start.mode;
  }

  /**
   * Binds the cluster's port (shared with the other workers) and tells the
   * main thread this worker is listening.
   *
   * @returns The listener, for the server.
   */
  listen(): Deno.TcpListener {
    const listener = listenShared({ hostname: this.#hostname, port: this.#port, mode: this.#mode });
    post({ coroio: "listening", index: this.index });
    return listener;
  }

  /**
   * Tells the main thread this worker finished (after the server stopped);
   * the worker is then terminated. Closes the broker first.
   *
   * @returns When the broker is closed and the message posted.
   */
  async stopped(): Promise<void> {
    await this.broker.close();
    post({ coroio: "stopped", index: this.index });
  }
}

/** The worker's global scope, typed without the worker lib (which changes globals). */
interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

function post(message: StatusMessage): void {
  scope.postMessage(message);
}

/**
 * Whether this code runs in a worker (where {@linkcode clusterWorker} waits
 * for `runWorkers`' start message) rather than on the main thread.
 *
 * @returns `true` in a worker.
 *
 * @example On the main thread
 * ```ts
 * import { inWorker } from "@coroio/cluster";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(inWorker(), false);
 * ```
 */
export function inWorker(): boolean {
  return typeof (globalThis as Record<string, unknown>).WorkerGlobalScope === "function" &&
    globalThis instanceof
      ((globalThis as Record<string, unknown>).WorkerGlobalScope as typeof Object);
}

/**
 * In a server module started by {@linkcode runWorkers}: waits for the start
 * message and returns the worker's context.
 *
 * @returns The context.
 * @throws {Error} (rejects) On the main thread.
 *
 * @example A server module (see runWorkers for the main thread)
 * ```ts ignore
 * import { clusterWorker } from "@coroio/cluster";
 * import { Topics, WebSocketServer } from "@coroio/ws";
 *
 * const worker = await clusterWorker();
 * const topics = new Topics({ broker: worker.broker });
 * const server = new WebSocketServer(worker.listen(), new MyHandler(topics), { signal: worker.signal });
 * await server.serve();
 * await worker.stopped();
 * ```
 */
export function clusterWorker(): Promise<ClusterWorker> {
  if (!inWorker()) return Promise.reject(new Error("Cannot join a cluster: not in a worker"));
  const { promise, resolve } = Promise.withResolvers<ClusterWorker>();
  const shutdown = new AbortController();
  let started = false;
  scope.addEventListener("message", (event: MessageEvent<ToWorker>) => {
    const data = event.data;
    if (data === null || typeof data !== "object") return;
    if (data.coroio === "start" && !started) {
      started = true;
      resolve(new ClusterWorker(data, shutdown.signal));
    } else if (data.coroio === "shutdown") {
      shutdown.abort();
    }
  });
  return promise;
}
