import { closeQuietly, isClosedError } from "./io.ts";
import { intOption } from "./options.ts";

/**
 * What runs on one connection, as whoever holds the connection sees it: a
 * promise that settles when the connection's work is over, and a way to ask
 * for a graceful end. The accept loop holds one handle per connection; an
 * HTTP connection that hands its socket to an upgrade target holds the
 * target's handle in turn (for WebSocket, the session). Lifetime is held by
 * handles, not looked up in maps.
 *
 * @example A handle for a task that ends when asked
 * ```ts
 * import type { ConnectionHandle } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Task implements ConnectionHandle {
 *   #end = Promise.withResolvers<void>();
 *   readonly done: Promise<void> = this.#end.promise;
 *   shutdown(): void {
 *     this.#end.resolve();
 *   }
 * }
 * const t = new Task();
 * t.shutdown();
 * equal(await t.done, undefined);
 * ```
 */
export interface ConnectionHandle {
  /**
   * Settles when the work on the connection is over and the connection is
   * closed (or handed on and the new owner is done). It never rejects with
   * an error the holder must handle: failures are reported where they
   * happen.
   */
  readonly done: Promise<void>;
  /**
   * Graceful shutdown began: finish the work in flight and close soon (an
   * idle connection closes at once; a WebSocket sends close 1001). Safe to
   * call more than once.
   */
  shutdown(): void;
}

/**
 * What a {@linkcode TcpServer} calls for each accepted connection: one object
 * for all connections, one method per event.
 *
 * @example A handler that answers one line and closes
 * ```ts
 * import { type ConnectionHandle, type ConnectionHandler, TcpServer, writeAll } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Hello implements ConnectionHandler {
 *   open(conn: Deno.Conn): ConnectionHandle {
 *     return { done: writeAll(conn, new TextEncoder().encode("hello\n")), shutdown() {} };
 *   }
 * }
 * const server = new TcpServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Hello());
 * const serving = server.serve();
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const buf = new Uint8Array(16);
 * const n = await client.read(buf);
 * equal(new TextDecoder().decode(buf.subarray(0, n!)), "hello\n");
 * client.close();
 * await server.shutdown();
 * await serving;
 * ```
 */
export interface ConnectionHandler {
  /**
   * Starts serving one connection. The handler owns the connection's
   * protocol; the server closes the connection once `done` settles (if its
   * owner did not) and force-closes it if shutdown times out.
   *
   * @param conn The accepted connection.
   * @returns The handle of what serves it.
   */
  open(conn: Deno.Conn): ConnectionHandle;
}

/**
 * Where a server reports errors that it survives (a handler that threw, an
 * accept that failed). One method, called per error.
 *
 * @example Counting errors
 * ```ts
 * import type { ErrorReporter } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Counter implements ErrorReporter {
 *   count = 0;
 *   report(_error: unknown, _context: string): void {
 *     this.count++;
 *   }
 * }
 * const c = new Counter();
 * c.report(new Error("x"), "test");
 * equal(c.count, 1);
 * ```
 */
export interface ErrorReporter {
  /**
   * Called for each error the server caught and survived.
   *
   * @param error What was thrown.
   * @param context Where: `"accept"`, `"connection"`, ...
   */
  report(error: unknown, context: string): void;
}

/** Reports to `console.error`; the default {@linkcode ErrorReporter}. */
class ConsoleReporter implements ErrorReporter {
  report(error: unknown, context: string): void {
    // deno-lint-ignore no-console
    console.error(`coroio: ${context} error:`, error);
  }
}

/** Options for {@linkcode TcpServer}. */
export interface TcpServerOptions {
  /**
   * Most connections served at once. Connections accepted past it are closed
   * at once and counted in {@linkcode TcpServer.prototype.rejected}.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * How long graceful shutdown waits for connections to finish before closing
   * the rest, in milliseconds.
   *
   * @default {10000}
   */
  shutdownTimeout?: number;
  /** Aborting it starts a graceful shutdown. */
  signal?: AbortSignal;
  /**
   * Sets `TCP_NODELAY` on accepted connections.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Where survived errors go.
   *
   * @default {a reporter that writes to console.error}
   */
  errorReporter?: ErrorReporter;
}

const ACCEPT_BACKOFF_MS = 50;
/** How long shutdown waits for handles after force-closing their conns. */
const SHUTDOWN_GRACE_MS = 1000;

/** One accepted connection: the socket and the handle of what serves it. */
class Accepted {
  readonly conn: Deno.Conn;
  handle: ConnectionHandle | null = null;
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }
}

/**
 * An accept loop over a `Deno.Listener`: opens a {@linkcode ConnectionHandle}
 * per connection through the handler, caps their number, survives any one
 * connection's error, and shuts down gracefully on an `AbortSignal` or
 * {@linkcode TcpServer.prototype.shutdown} (stop accepting, `shutdown()`
 * every handle, wait up to a deadline, then close what is left).
 *
 * @example An echo server
 * ```ts
 * import { type ConnectionHandle, type ConnectionHandler, TcpServer } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * class Echo implements ConnectionHandler {
 *   open(conn: Deno.Conn): ConnectionHandle {
 *     return { done: this.#echo(conn), shutdown: () => conn.close() };
 *   }
 *   async #echo(conn: Deno.Conn): Promise<void> {
 *     const buf = new Uint8Array(1024);
 *     try {
 *       for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
 *     } catch {
 *       // Closed by shutdown().
 *     }
 *   }
 * }
 * const server = new TcpServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Echo());
 * const done = server.serve();
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * assertEquals(await client.read(buf), 4);
 * assertEquals(new TextDecoder().decode(buf), "ping");
 * client.close();
 * await server.shutdown();
 * await done;
 * ```
 */
export class TcpServer {
  #listener: Deno.Listener;
  #handler: ConnectionHandler;
  #conns = new Set<Accepted>();
  #maxConnections: number;
  #shutdownTimeout: number;
  #noDelay: boolean;
  #reporter: ErrorReporter;
  #signal: AbortSignal | undefined;
  #rejected = 0;
  #accepted = 0;
  #closing = false;
  #serving: Promise<void> | null = null;
  #shutdown: Promise<void> | null = null;
  #drained: PromiseWithResolvers<void> | null = null;
  #backoff: PromiseWithResolvers<void> | null = null;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;
  #abort = { handleEvent: (): void => this.#startShutdown() };

  /**
   * Creates a server on a listener; call {@linkcode serve} to start.
   *
   * @param listener A TCP (or Unix) listener, e.g. from `Deno.listen`.
   * @param handler Opens a handle for each connection.
   * @param options Limits, shutdown deadline, abort signal, error reporter.
   * @throws {RangeError} If a limit is not an integer in range.
   */
  constructor(listener: Deno.Listener, handler: ConnectionHandler, options: TcpServerOptions = {}) {
    this.#maxConnections = intOption("TcpServer", "maxConnections", options.maxConnections, 10000);
    this.#shutdownTimeout = intOption(
      "TcpServer",
      "shutdownTimeout",
      options.shutdownTimeout,
      10000,
      0,
    );
    this.#listener = listener;
    this.#handler = handler;
    this.#noDelay = options.noDelay ?? true;
    this.#reporter = options.errorReporter ?? new ConsoleReporter();
    this.#signal = options.signal;
    if (this.#signal !== undefined) {
      if (this.#signal.aborted) this.#closing = true;
      else this.#signal.addEventListener("abort", this.#abort, { once: true });
    }
  }

  /**
   * The address the listener is bound to.
   *
   * @returns The listener's address (a `Deno.NetAddr` for TCP).
   */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /**
   * Connections open now.
   *
   * @returns The count.
   */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Connections closed at accept because `maxConnections` was reached.
   *
   * @returns The count since start.
   */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * Connections accepted and served.
   *
   * @returns The count since start.
   */
  get accepted(): number {
    return this.#accepted;
  }

  /**
   * Whether shutdown has begun.
   *
   * @returns `true` after `shutdown()` or an abort.
   */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Runs the accept loop.
   *
   * @returns A promise that resolves once the server has shut down and every
   * connection it accepted has finished.
   */
  serve(): Promise<void> {
    if (this.#serving === null) this.#serving = this.#serve();
    return this.#serving;
  }

  #startShutdown(): void {
    this.shutdown().catch((err) => this.#report(err, "shutdown"));
  }

  async #serve(): Promise<void> {
    if (this.#closing) {
      await this.shutdown();
      return;
    }
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closing || isClosedError(err)) break;
        this.#report(err, "accept");
        await this.#sleep(ACCEPT_BACKOFF_MS);
        if (this.#closing) break;
        continue;
      }
      if (this.#closing) {
        closeQuietly(conn);
        break;
      }
      if (this.#conns.size >= this.#maxConnections) {
        this.#rejected++;
        closeQuietly(conn);
        continue;
      }
      if (this.#noDelay) {
        try {
          (conn as Deno.TcpConn).setNoDelay?.(true);
        } catch {
          // Not a TCP socket, or already gone.
        }
      }
      this.#accepted++;
      this.#open(new Accepted(conn));
    }
    await this.shutdown();
  }

  #open(accepted: Accepted): void {
    this.#conns.add(accepted);
    let done: Promise<void>;
    try {
      const handle = this.#handler.open(accepted.conn);
      accepted.handle = handle;
      done = handle.done;
    } catch (err) {
      done = Promise.reject(err);
    }
    // One reaction with one callback rather than an async function or a
    // then/finally chain: a long-lived idle connection (a WebSocket) holds
    // no suspended frame and as few promises and closures as possible here.
    // A bound method, not a closure: an idle connection holds 72 bytes here, not 104.
    const settled = this.#settled.bind(this, accepted);
    done.then(settled, settled);
  }

  /** A handle's `done` settled (`err`: it rejected). */
  #settled(accepted: Accepted, err?: unknown): void {
    if (err !== undefined && !isClosedError(err)) this.#report(err, "connection");
    this.#done(accepted);
  }

  /** One connection's work is done. */
  #done(accepted: Accepted): void {
    this.#conns.delete(accepted);
    closeQuietly(accepted.conn);
    if (this.#drained !== null && this.#conns.size === 0) this.#drained.resolve();
  }

  /** Reports an error; a reporter that throws must not take the server down. */
  #report(error: unknown, context: string): void {
    try {
      this.#reporter.report(error, context);
    } catch {
      // Nothing left to tell.
    }
  }

  #sleep(ms: number): Promise<void> {
    this.#backoff = Promise.withResolvers<void>();
    this.#backoffTimer = setTimeout(this.#wake, ms);
    return this.#backoff.promise;
  }

  #wake = (): void => {
    this.#backoffTimer = undefined;
    this.#backoff?.resolve();
    this.#backoff = null;
  };

  /**
   * Graceful shutdown: stop accepting, call `shutdown()` on every
   * connection's handle, wait up to `timeout` ms for their `done`, then close
   * the connections still open. Safe to call more than once.
   *
   * @param timeout Milliseconds to wait before closing what is left.
   * @returns A promise that resolves when every connection is closed (after
   * the deadline, at most one more second is given to handles to settle).
   */
  shutdown(timeout: number = this.#shutdownTimeout): Promise<void> {
    if (this.#shutdown === null) this.#shutdown = this.#doShutdown(timeout);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<void> {
    this.#closing = true;
    this.#signal?.removeEventListener("abort", this.#abort);
    closeQuietly(this.#listener);
    if (this.#backoffTimer !== undefined) {
      clearTimeout(this.#backoffTimer);
      this.#wake();
    }
    this.#drained = Promise.withResolvers<void>();
    for (const a of this.#conns) {
      try {
        a.handle?.shutdown();
      } catch (err) {
        this.#report(err, "shutdown");
      }
    }
    const drained = this.#drained;
    if (this.#conns.size === 0) drained.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeout, true);
    });
    const timedOut = await Promise.race([drained.promise.then(() => false), expired]);
    clearTimeout(timer);
    if (timedOut) {
      for (const a of this.#conns) closeQuietly(a.conn);
      // Handles whose reads and writes now fail settle at once; one that
      // hangs on something else is not waited for past a short grace.
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        drained.promise,
        new Promise<void>((resolve) => grace = setTimeout(resolve, SHUTDOWN_GRACE_MS)),
      ]);
      clearTimeout(grace);
    }
  }
}
