/**
 * A standalone WebSocket echo server (no HTTP package): every text and binary
 * message is sent back as the same type, at any path.
 *
 *     deno run --allow-net examples/ws_echo.ts --hostname 127.0.0.1 --port 8081
 *
 * Prints `listening on ws://HOST:PORT` once listening (`--port 0` picks a
 * free port) and shuts down gracefully (close 1001 to every client) on
 * SIGINT or SIGTERM.
 *
 * @module
 */
import { type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";

/** Echoes each message back as the same type. */
export class Echo implements WebSocketHandler {
  /**
   * Sends the message back. The promise is not returned: replies to a burst
   * of messages are written together.
   *
   * @param ws The session.
   * @param data The message.
   */
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    ws.send(data);
  }
}

/** Parsed command-line flags. */
export interface Flags {
  /** Interface to listen on. */
  hostname: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
}

/**
 * Parses `--hostname H` / `--hostname=H` and `--port N` / `--port=N`.
 *
 * @param args The arguments, usually `Deno.args`.
 * @returns The flags with their defaults (127.0.0.1, 8081).
 * @throws {TypeError} On an unknown flag, a missing value or a bad port.
 */
export function parseFlags(args: string[]): Flags {
  const flags: Flags = { hostname: "127.0.0.1", port: 8081 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new TypeError(`Missing value for ${name}`);
    if (name === "--hostname") {
      flags.hostname = value;
    } else if (name === "--port") {
      const port = Number(value);
      if (value === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
        throw new TypeError(`Invalid --port "${value}": expected an integer 0-65535`);
      }
      flags.port = port;
    } else {
      throw new TypeError(`Unknown flag ${name}: expected --hostname or --port`);
    }
  }
  return flags;
}

if (import.meta.main) {
  let flags: Flags;
  try {
    flags = parseFlags(Deno.args);
  } catch (err) {
    // deno-lint-ignore no-console
    console.error((err as Error).message);
    Deno.exit(2);
  }
  const listener = Deno.listen({ hostname: flags.hostname, port: flags.port });
  const server = new WebSocketServer(listener, new Echo(), {
    shutdownTimeout: 3000,
    closeTimeout: 2000,
  });
  const serving = server.serve();
  const stop = (): void => {
    server.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  // deno-lint-ignore no-console
  console.log(`listening on ws://${host}:${port}`);
  await serving;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}
