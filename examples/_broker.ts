// What the fan-out and chat examples share to scale out: the broker their
// --redis / --nats flags ask for (the client package is imported only then,
// so a plain run loads no broker client), and the start-up that runs one
// process or, with --workers N, N workers sharing the port.
import type { Broker } from "@coroio/core";
import { clusterWorker, hasUnstableNet, inWorker, runWorkers } from "@coroio/cluster";
import {
  abortOnSignals,
  type FanoutFlags,
  listenOrExit,
  parseFanoutFlags,
  printListening,
} from "./_args.ts";

/**
 * Serves on a listener until the signal aborts (then closes the broker);
 * `main` is true in the process that prints the listening line.
 */
export type ServeFn = (
  listener: Deno.Listener,
  broker: Broker | null,
  signal: AbortSignal,
  main: boolean,
) => Promise<void>;

/**
 * Runs an example: in a worker of the --workers cluster, serves on the
 * shared port with the workers broker (or --redis/--nats); in the main
 * thread, either starts the workers (reusePort with --unstable-net, one
 * shared accept queue without) or serves alone. Exits when done.
 *
 * @param moduleUrl The example's `import.meta.url` (the workers run it).
 * @param scheme `http` or `ws`, for the listening line.
 * @param defaultPort The port without --port.
 * @param serve Serves one copy.
 */
export async function runScalable(
  moduleUrl: string,
  scheme: string,
  defaultPort: number,
  serve: ServeFn,
): Promise<void> {
  if (inWorker()) {
    const worker = await clusterWorker();
    const flags = parseFanoutFlags([...worker.args], defaultPort);
    await serve(
      worker.listen(),
      await externalBroker(flags) ?? worker.broker,
      worker.signal,
      false,
    );
    await worker.stopped();
    return;
  }
  const flags = parseFanoutFlags(Deno.args, defaultPort);
  if (flags.workers > 0) {
    const cluster = await listenOrExit(flags, () =>
      runWorkers(moduleUrl, {
        workers: flags.workers,
        hostname: flags.hostname,
        port: flags.port,
        mode: hasUnstableNet() ? "reuseport" : "shared",
        args: Deno.args,
      }));
    printListening(scheme, { transport: "tcp", hostname: cluster.hostname, port: cluster.port });
    await cluster.done;
  } else {
    const listener = await listenOrExit(
      flags,
      () => Deno.listen({ hostname: flags.hostname, port: flags.port }),
    );
    await serve(listener, await externalBroker(flags), abortOnSignals(), true);
  }
  Deno.exit(0);
}

/**
 * The external broker the flags ask for, loaded only then.
 *
 * @param flags The parsed flags.
 * @returns The broker, or `null` without --redis and --nats.
 */
export async function externalBroker(flags: FanoutFlags): Promise<Broker | null> {
  if (flags.redis !== null) {
    const { RedisBroker } = await import("@coroio/broker-redis");
    return new RedisBroker({ url: flags.redis, heartbeatInterval: 1000, maxReconnectDelay: 1000 });
  }
  if (flags.nats !== null) {
    const { NatsBroker } = await import("@coroio/broker-nats");
    return new NatsBroker({
      servers: flags.nats,
      heartbeatInterval: 1000,
      maxReconnectDelay: 1000,
    });
  }
  return null;
}
