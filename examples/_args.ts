// Tiny flag parser shared by the examples: --name value or --name=value.

/** Parsed `--hostname`, `--port` and `--compression` flags. */
export interface ListenFlags {
  hostname: string;
  port: number;
  /** `--compression` (no value): negotiate permessage-deflate with the library's defaults. */
  compression: boolean;
}

/**
 * Reads `--hostname`, `--port` and `--compression` from `args`.
 *
 * @param args Usually `Deno.args`.
 * @param defaultPort The port when none is given.
 * @returns The flags.
 * @throws {TypeError} On an unknown flag or a bad port.
 */
export function parseListenFlags(args: string[], defaultPort: number): ListenFlags {
  const flags: ListenFlags = { hostname: "127.0.0.1", port: defaultPort, compression: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--compression") {
      flags.compression = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new TypeError(`Missing value for ${name}`);
    if (name === "--hostname") flags.hostname = value;
    else if (name === "--port") {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new TypeError(`Invalid --port "${value}": expected 0-65535`);
      }
      flags.port = port;
    } else {
      throw new TypeError(`Unknown flag ${name}: expected --hostname, --port or --compression`);
    }
  }
  return flags;
}

/**
 * Formats a host for a URL (brackets around IPv6).
 *
 * @param hostname The host.
 * @returns The host as it goes in a URL.
 */
export function urlHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * An AbortSignal that aborts on SIGINT or SIGTERM: pass it to a server's
 * `signal` option for a graceful stop.
 *
 * @returns The signal.
 */
export function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  Deno.addSignalListener("SIGINT", abort);
  Deno.addSignalListener("SIGTERM", abort);
  return ac.signal;
}

/**
 * Prints the one line other tools wait for: `listening on SCHEME://HOST:PORT`.
 *
 * @param scheme `http` or `ws`.
 * @param addr The bound address.
 */
export function printListening(scheme: string, addr: Deno.NetAddr): void {
  // deno-lint-ignore no-console
  console.log(`listening on ${scheme}://${urlHost(addr.hostname)}:${addr.port}`);
}

/**
 * Runs an example's `listen` step; if the address is taken (or not on this
 * machine), says so in one line, with how to pick another port, and exits
 * with status 1 instead of an uncaught stack trace. Every example listens
 * through it.
 *
 * @param flags The address asked for (for the message).
 * @param listen Binds and returns what the example needs (an address, a listener).
 * @returns What `listen` returned.
 */
export async function listenOrExit<T>(
  flags: { hostname: string; port: number },
  listen: () => T | Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const where = `${urlHost(flags.hostname)}:${flags.port}`;
    let why: string;
    if (err instanceof Deno.errors.AddrInUse) {
      why = `port ${flags.port} is already in use (another server is running there?)`;
    } else if (err instanceof Deno.errors.AddrNotAvailable) {
      why = `${flags.hostname} is not an address of this machine`;
    } else {
      throw err;
    }
    // deno-lint-ignore no-console
    console.error(
      `Cannot listen on ${where}: ${why}. Pick another port with --port N, or --port 0 for a free one.`,
    );
    Deno.exit(1);
  }
}

/** Parsed flags of examples/fanout.ts: listen flags plus the fan-out ones. */
export interface FanoutFlags extends ListenFlags {
  /** `redis://HOST:PORT`: fan out through Redis. */
  redis: string | null;
  /** `nats://HOST:PORT`: fan out through NATS. */
  nats: string | null;
  /** Worker count (0: no workers, serve on the main thread). */
  workers: number;
}

/**
 * Reads `--hostname`, `--port`, `--redis`, `--nats` and `--workers` from `args`.
 *
 * @param args Usually `Deno.args`.
 * @param defaultPort The port when none is given.
 * @returns The flags.
 * @throws {TypeError} On an unknown flag or a bad value.
 */
export function parseFanoutFlags(args: string[], defaultPort: number): FanoutFlags {
  const listen: string[] = [];
  const flags = { redis: null, nats: null, workers: 0 } as Omit<FanoutFlags, keyof ListenFlags>;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (name !== "--redis" && name !== "--nats" && name !== "--workers") {
      listen.push(arg);
      // --compression takes no value; the other listen flags take one.
      if (eq < 0 && arg !== "--compression" && i + 1 < args.length) listen.push(args[++i]!);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new TypeError(`Missing value for ${name}`);
    if (name === "--workers") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) {
        throw new TypeError(`Invalid --workers "${value}": expected a positive integer`);
      }
      flags.workers = n;
    } else if (!/^[a-z]+:\/\/[^/]+$/.test(value)) {
      throw new TypeError(`Invalid ${name} "${value}": expected SCHEME://HOST:PORT`);
    } else if (name === "--redis") flags.redis = value;
    else flags.nats = value;
  }
  if (flags.redis !== null && flags.nats !== null) {
    throw new TypeError("Use --redis or --nats, not both");
  }
  return { ...parseListenFlags(listen, defaultPort), ...flags };
}
