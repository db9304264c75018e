import { WorkersHub } from "@coroio/broker-workers";
import { hasUnstableNet, pickPort, type SharePortMode } from "./listen.ts";
import type { StartMessage, StatusMessage } from "./_protocol.ts";

/** Options for {@linkcode runWorkers}. */
export interface RunWorkersOptions {
  /**
   * How many workers.
   *
   * @default {navigator.hardwareConcurrency}
   */
  workers?: number;
  /**
   * The address every worker binds.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * How the workers share the port: `"reuseport"` (`SO_REUSEPORT`, Linux,
   * needs `--unstable-net`) or `"shared"` (one accept queue).
   *
   * @default {"reuseport"}
   */
  mode?: SharePortMode;
  /** Passed to every worker as `ClusterWorker.args`. */
  args?: string[];
  /**
   * Restart a worker that crashed (an uncaught error), with backoff.
   *
   * @default {true}
   */
  restart?: boolean;
  /**
   * Milliseconds a worker may take to stop after the shutdown message
   * before it is terminated.
   *
   * @default {10000}
   */
  shutdownTimeout?: number;
  /**
   * Milliseconds every worker has to start listening.
   *
   * @default {15000}
   */
  startTimeout?: number;
  /**
   * Shut down on SIGINT and SIGTERM.
   *
   * @default {true}
   */
  signals?: boolean;
  /** Called when a worker crashed (before it is restarted). */
  onCrash?: (index: number, error: unknown) => void;
}

/** One worker slot: the worker in it changes when it is restarted. */
class Slot {
  readonly index: number;
  worker: Worker | null = null;
  hubPort: MessagePort | null = null;
  listening = Promise.withResolvers<void>();
  stopped = Promise.withResolvers<void>();
  crashes = 0;
  up = false;

  constructor(index: number) {
    this.index = index;
  }
}

/**
 * A set of running workers (see {@linkcode runWorkers}).
 */
export class Cluster {
  /** The address the workers bind. */
  readonly hostname: string;
  /** The port they share. */
  readonly port: number;
  /** Settles once the cluster has shut down. */
  readonly done: Promise<void>;
  #module: URL;
  #mode: SharePortMode;
  #args: string[];
  #restart: boolean;
  #shutdownTimeout: number;
  #onCrash: ((index: number, error: unknown) => void) | undefined;
  #hub = new WorkersHub();
  #slots: Slot[] = [];
  #restarts = 0;
  #stopping: Promise<void> | null = null;
  #resolveDone: () => void;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #onSignal: (() => void) | null = null;

  /**
   * Use {@linkcode runWorkers}.
   *
   * @param module The server module.
   * @param port The resolved port.
   * @param options The options.
   */
  constructor(module: URL, port: number, options: RunWorkersOptions) {
    this.#module = module;
    this.hostname = options.hostname ?? "127.0.0.1";
    this.port = port;
    this.#mode = options.mode ?? "reuseport";
    this.#args = options.args ?? [];
    this.#restart = options.restart ?? true;
    this.#shutdownTimeout = options.shutdownTimeout ?? 10000;
    this.#onCrash = options.onCrash;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.done = promise;
    this.#resolveDone = resolve;
    const n = options.workers ?? navigator.hardwareConcurrency;
    for (let i = 0; i < n; i++) this.#slots.push(new Slot(i));
    if (options.signals ?? true) {
      const stop = (): void => void this.shutdown();
      this.#onSignal = stop;
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    }
  }

  /** How many workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** How many times a crashed worker was restarted. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts every worker; resolves once all listen. */
  async start(timeout: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.#startAll(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Cannot start workers: not all listening after ${timeout} ms`)),
            timeout,
          );
        }),
      ]);
    } catch (error) {
      await this.shutdown();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One after the other: listeners binding one port at the same time can collide. */
  async #startAll(): Promise<void> {
    for (const slot of this.#slots) {
      if (this.#stopping !== null) return;
      this.#spawn(slot);
      await slot.listening.promise;
    }
  }

  #spawn(slot: Slot): void {
    const worker = new Worker(this.#module, { type: "module" });
    const port = this.#hub.connect();
    slot.worker = worker;
    slot.hubPort = port;
    worker.onmessage = (event: MessageEvent<StatusMessage>) => {
      const data = event.data;
      if (data?.coroio === "listening") {
        slot.up = true;
        slot.crashes = 0;
        slot.listening.resolve();
      } else if (data?.coroio === "stopped") {
        slot.stopped.resolve();
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // the main thread survives a worker's crash
      this.#crashed(slot, worker, event.error ?? event.message);
    };
    const start: StartMessage = {
      coroio: "start",
      index: slot.index,
      hostname: this.hostname,
      port: this.port,
      mode: this.#mode,
      args: this.#args,
      brokerPort: port,
    };
    worker.postMessage(start, [port]);
  }

  #crashed(slot: Slot, worker: Worker, error: unknown): void {
    if (slot.worker !== worker) return;
    worker.terminate();
    if (slot.hubPort !== null) this.#hub.disconnect(slot.hubPort);
    slot.worker = null;
    slot.hubPort = null;
    slot.up = false;
    slot.stopped.resolve(); // nothing left to wait for in this slot
    this.#onCrash?.(slot.index, error);
    if (!this.#restart || this.#stopping !== null) return;
    const delay = Math.min(5000, 50 * 2 ** slot.crashes++);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopping !== null) return;
      this.#restarts++;
      slot.stopped = Promise.withResolvers<void>();
      this.#spawn(slot);
    }, delay);
    this.#timers.add(timer);
  }

  /**
   * Graceful shutdown: every worker gets the shutdown message (its
   * `signal` aborts), then has `shutdownTimeout` to call `stopped()` before
   * it is terminated. Idempotent.
   *
   * @returns When every worker is gone.
   */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#onSignal !== null) {
      Deno.removeSignalListener("SIGINT", this.#onSignal);
      Deno.removeSignalListener("SIGTERM", this.#onSignal);
    }
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#slots.map((slot) => this.#stopSlot(slot)));
    this.#hub.close();
    this.#resolveDone();
  }

  async #stopSlot(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (worker === null) return;
    worker.postMessage({ coroio: "shutdown" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      slot.stopped.promise,
      new Promise((r) => timer = setTimeout(r, this.#shutdownTimeout)),
    ]);
    clearTimeout(timer);
    worker.terminate();
    slot.worker = null;
  }
}

/**
 * Runs `workers` copies of a server module, each in a Deno worker, all
 * bound to one port, with a workers broker between them. The module calls
 * `clusterWorker()` to get its context: `listen()` for the shared
 * listener, `broker` for a `Topics` hub, `signal` for the server, and
 * `stopped()` once it finished. A worker that crashes is restarted (with
 * backoff); SIGINT/SIGTERM (or {@linkcode Cluster.prototype.shutdown})
 * stops every worker gracefully.
 *
 * @param module The server module's URL.
 * @param options Workers, address, mode, restart and shutdown.
 * @returns The cluster, once every worker listens.
 * @throws {Error} (rejects) For mode `"reuseport"` without `--unstable-net`,
 * or if the workers did not all listen within `startTimeout`.
 *
 * @example Refusing reuseport without the flag
 * ```ts
 * import { hasUnstableNet, runWorkers } from "@coroio/cluster";
 * import { rejects } from "node:assert/strict";
 *
 * if (!hasUnstableNet()) {
 *   await rejects(runWorkers(new URL("./server.ts", import.meta.url), { signals: false }), /--unstable-net/);
 * }
 * ```
 */
export async function runWorkers(
  module: URL | string,
  options: RunWorkersOptions = {},
): Promise<Cluster> {
  const mode = options.mode ?? "reuseport";
  if (mode === "reuseport" && !hasUnstableNet()) {
    throw new Error("Cannot run workers with reusePort: run Deno with --unstable-net");
  }
  const workers = options.workers ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`Cannot run workers: ${workers} is not a positive integer`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  // Every worker binds the same port: pick it here (a worker binding 0 would get its own).
  const port = options.port === undefined || options.port === 0 ? pickPort(hostname) : options.port;
  const cluster = new Cluster(new URL(module), port, { ...options, workers });
  await cluster.start(options.startTimeout ?? 15000);
  return cluster;
}
