/**
 * One accepted connection as the server tracks it. The server creates one per
 * connection and passes it to the handler; the handler can read the
 * shutdown state from it and mark the connection as handed over.
 *
 * @example Usage
 * ```ts ignore
 * import type { ConnectionHandler, TrackedConn } from "@coroio/core";
 *
 * class Echo implements ConnectionHandler {
 *   async handleConnection(conn: Deno.Conn, tracked: TrackedConn): Promise<void> {
 *     const buf = new Uint8Array(4096);
 *     for (let n; !tracked.closing && (n = await conn.read(buf)) !== null;) {
 *       await conn.write(buf.subarray(0, n));
 *     }
 *   }
 * }
 * ```
 */
export class TrackedConn {
  /** The connection. */
  readonly conn: Deno.Conn;
  /** A number unique within the server. */
  readonly id: number;
  /** When it was accepted, in milliseconds since the epoch. */
  readonly acceptedAt: number;
  #closing = false;
  #closed = false;
  #detached = false;

  /**
   * Creates the record; servers do this, applications normally don't.
   *
   * @param conn The connection.
   * @param id Its number.
   */
  constructor(conn: Deno.Conn, id: number) {
    this.conn = conn;
    this.id = id;
    this.acceptedAt = Date.now();
  }

  /**
   * Whether graceful shutdown has begun for this connection.
   *
   * @returns `true` once the server is shutting down.
   */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Whether {@linkcode TrackedConn.prototype.close} ran.
   *
   * @returns `true` once closed through this record.
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether ownership of the connection moved to someone else (for example
   * an upgrade target). The server then never force-closes it.
   *
   * @returns `true` once detached.
   */
  get detached(): boolean {
    return this.#detached;
  }

  /** Marks the connection as owned elsewhere: the server will not close it. */
  detach(): void {
    this.#detached = true;
  }

  /** @internal Marks graceful shutdown as begun. */
  markClosing(): void {
    this.#closing = true;
  }

  /** Closes the connection once; later calls and errors are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed by its owner.
    }
  }
}

/**
 * What a {@linkcode TcpServer} calls for each connection: one object for all
 * connections, one method per event.
 *
 * @example A handler that answers one line and closes
 * ```ts ignore
 * import type { ConnectionHandler } from "@coroio/core";
 *
 * class Hello implements ConnectionHandler {
 *   async handleConnection(conn: Deno.Conn): Promise<void> {
 *     await conn.write(new TextEncoder().encode("hello\n"));
 *   }
 * }
 * ```
 */
export interface ConnectionHandler {
  /**
   * Serves one connection. The server closes the connection when the returned
   * promise settles, unless the handler detached it.
   *
   * @param conn The accepted connection.
   * @param tracked The server's record of it.
   */
  handleConnection(conn: Deno.Conn, tracked: TrackedConn): Promise<void>;
  /**
   * Graceful shutdown began: finish the work in flight on this connection and
   * return from `handleConnection` soon. Idle connections should be closed.
   *
   * @param conn The connection.
   * @param tracked The server's record of it.
   */
  shutdownConnection?(conn: Deno.Conn, tracked: TrackedConn): void;
}

/**
 * Where a server reports errors that it survives (a handler that threw, an
 * accept that failed). One method, called per error.
 *
 * @example Counting errors
 * ```ts
 * import type { ErrorReporter } from "@coroio/core";
 *
 * class Counter implements ErrorReporter {
 *   count = 0;
 *   report(_error: unknown, _context: string): void {
 *     this.count++;
 *   }
 * }
 * const c = new Counter();
 * c.report(new Error("x"), "test");
 * console.log(c.count); // 1
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
/** How long shutdown waits for handlers after force-closing their conns. */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * An accept loop over a `Deno.Listener`: tracks open connections, caps their
 * number, survives any one connection's error, and shuts down gracefully on
 * an `AbortSignal` or {@linkcode TcpServer.prototype.shutdown} (stop
 * accepting, tell each connection, wait up to a deadline, then close what is
 * left that was not detached).
 *
 * @example An echo server
 * ```ts
 * import { TcpServer, type ConnectionHandler } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * class Echo implements ConnectionHandler {
 *   async handleConnection(conn: Deno.Conn): Promise<void> {
 *     const buf = new Uint8Array(1024);
 *     for (let n; (n = await conn.read(buf)) !== null;) {
 *       await conn.write(buf.subarray(0, n));
 *     }
 *   }
 * }
 * const server = new TcpServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Echo());
 * const done = server.serve();
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * assertEquals(await client.read(buf), 4);
 * client.close();
 * await server.shutdown();
 * await done;
 * ```
 */
export class TcpServer {
  #listener: Deno.Listener;
  #handler: ConnectionHandler;
  #conns = new Set<TrackedConn>();
  #maxConnections: number;
  #shutdownTimeout: number;
  #noDelay: boolean;
  #reporter: ErrorReporter;
  #signal: AbortSignal | undefined;
  #nextId = 1;
  #rejected = 0;
  #accepted = 0;
  #closing = false;
  #serving: Promise<void> | null = null;
  #shutdown: Promise<void> | null = null;
  #drained: PromiseWithResolvers<void> | null = null;
  #backoff: PromiseWithResolvers<void> | null = null;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates a server on a listener; call {@linkcode serve} to start.
   *
   * @param listener A TCP (or Unix) listener, e.g. from `Deno.listen`.
   * @param handler Serves each connection.
   * @param options Limits, shutdown deadline, abort signal, error reporter.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(listener: Deno.Listener, handler: ConnectionHandler, options: TcpServerOptions = {}) {
    const max = options.maxConnections ?? 10000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError("Cannot create TcpServer: maxConnections must be an integer >= 1");
    }
    const timeout = options.shutdownTimeout ?? 10000;
    if (!(timeout >= 0)) {
      throw new RangeError("Cannot create TcpServer: shutdownTimeout must be >= 0");
    }
    this.#listener = listener;
    this.#handler = handler;
    this.#maxConnections = max;
    this.#shutdownTimeout = timeout;
    this.#noDelay = options.noDelay ?? true;
    this.#reporter = options.errorReporter ?? new ConsoleReporter();
    this.#signal = options.signal;
    if (this.#signal !== undefined) {
      if (this.#signal.aborted) this.#closing = true;
      else this.#signal.addEventListener("abort", this, { once: true });
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
   * connection it owns has finished.
   */
  serve(): Promise<void> {
    if (this.#serving === null) this.#serving = this.#serve();
    return this.#serving;
  }

  /** @internal The `AbortSignal` listener. */
  handleEvent(): void {
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
      const tracked = new TrackedConn(conn, this.#nextId++);
      this.#accepted++;
      this.#conns.add(tracked);
      this.#run(tracked).catch(noop);
    }
    await this.shutdown();
  }

  #run(tracked: TrackedConn): Promise<void> {
    // A promise chain rather than an async function: a long-lived connection
    // (a WebSocket) then holds no suspended frame here.
    let running: Promise<void>;
    try {
      running = this.#handler.handleConnection(tracked.conn, tracked);
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.then(undefined, this.#failed).finally(() => this.#done(tracked));
  }

  /** One handler's connection failed. */
  #failed = (err: unknown): void => {
    if (!isClosedError(err)) this.#report(err, "connection");
  };

  /** One handler's connection is done. */
  #done = (tracked: TrackedConn): void => {
    this.#conns.delete(tracked);
    if (!tracked.detached) tracked.close();
    if (this.#drained !== null && this.#pendingOwned() === 0) this.#drained.resolve();
  };

  /** Reports an error; a reporter that throws must not take the server down. */
  #report(error: unknown, context: string): void {
    try {
      this.#reporter.report(error, context);
    } catch {
      // Nothing left to tell.
    }
  }

  #pendingOwned(): number {
    let n = 0;
    for (const t of this.#conns) if (!t.detached) n++;
    return n;
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
   * Graceful shutdown: stop accepting, tell every connection's handler, wait
   * up to `timeout` ms for them to finish, then close the ones still open
   * that were not detached. Safe to call more than once.
   *
   * @param timeout Milliseconds to wait before closing what is left.
   * @returns A promise that resolves when the server's own connections are
   * closed (after the deadline, at most one more second is given to handlers
   * to return). Detached connections belong to their new owner and are never
   * waited for: their owner was told through `shutdownConnection`.
   */
  shutdown(timeout: number = this.#shutdownTimeout): Promise<void> {
    if (this.#shutdown === null) this.#shutdown = this.#doShutdown(timeout);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<void> {
    this.#closing = true;
    this.#signal?.removeEventListener("abort", this);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    if (this.#backoffTimer !== undefined) {
      clearTimeout(this.#backoffTimer);
      this.#wake();
    }
    this.#drained = Promise.withResolvers<void>();
    for (const t of this.#conns) {
      t.markClosing();
      try {
        this.#handler.shutdownConnection?.(t.conn, t);
      } catch (err) {
        this.#report(err, "shutdown");
      }
    }
    const drained = this.#drained;
    if (this.#pendingOwned() === 0) drained.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeout, true);
    });
    const timedOut = await Promise.race([drained.promise.then(() => false), expired]);
    clearTimeout(timer);
    if (timedOut) {
      for (const t of this.#conns) if (!t.detached) t.close();
      // Handlers whose reads and writes now fail return at once; one that
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

function noop(): void {}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * Whether an error means "the socket or listener was closed" rather than a
 * fault worth reporting.
 *
 * @param err What was thrown.
 * @returns `true` for Deno's closed-resource, interrupted, reset and broken
 * pipe errors.
 */
export function isClosedError(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.NotConnected ||
    (err instanceof Error && err.name === "StreamClosedError");
}
