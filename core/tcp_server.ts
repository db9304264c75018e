import { closeQuietly, isClosedError } from "./io.ts";
import { intOption } from "./options.ts";

/**
 * What runs on one connection, as whoever holds the connection sees it: a
 * promise that settles when the connection's work is over, and a way to ask
 * for a graceful end. The accept loop holds one handle per connection; an
 * HTTP connection that hands its socket to an upgrade target holds the
 * target's handle in turn (for WebSocket, the session). A handle may also
 * take an end listener ({@linkcode ConnectionHandle.prototype.onEnd}), which
 * holders prefer to `done`: a long-lived idle connection then holds no
 * promise for its holder.
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
   * Optional: tells the handle whom to call when its work is over, in place
   * of a reaction on `done` (a long-lived connection then holds one field,
   * not a promise, its reaction and a continuation). The holder calls it at
   * most once; the handle then calls `listener.connectionEnded(this)`
   * exactly once when its work ends, or soon if it has already ended (with
   * the error `done` rejects with, if any). `done` keeps working for other
   * callers.
   *
   * @param listener Told when the work is over.
   */
  onEnd?(listener: ConnectionEndListener): void;
  /**
   * Graceful shutdown began: finish the work in flight and close soon (an
   * idle connection closes at once; a WebSocket sends close 1001). Safe to
   * call more than once.
   */
  shutdown(): void;
}

/**
 * Told when the work of a {@linkcode ConnectionHandle} is over (see
 * {@linkcode ConnectionHandle.prototype.onEnd}): one object for any number
 * of handles, one method call per ended connection.
 *
 * @example A handle that reports its end to a listener
 * ```ts
 * import type { ConnectionEndListener, ConnectionHandle } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Task implements ConnectionHandle {
 *   #listener: ConnectionEndListener | null = null;
 *   get done(): Promise<void> {
 *     return Promise.resolve(); // not used by this holder
 *   }
 *   onEnd(listener: ConnectionEndListener): void {
 *     this.#listener = listener;
 *   }
 *   shutdown(): void {
 *     this.#listener?.connectionEnded(this);
 *   }
 * }
 * const ended: ConnectionHandle[] = [];
 * const t = new Task();
 * t.onEnd({ connectionEnded: (h) => ended.push(h) });
 * t.shutdown();
 * equal(ended[0], t);
 * ```
 */
export interface ConnectionEndListener {
  /**
   * The handle's work is over and its connection closed (or to be closed by
   * the holder).
   *
   * @param handle The handle that ended.
   * @param error What `done` would have rejected with; `undefined` when it
   * ended normally.
   */
  connectionEnded(handle: ConnectionHandle, error?: unknown): void;
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
   * @returns The handle of what serves it: one per connection (a handle
   * the server already holds for another open connection is an error: the
   * new connection is reported and closed).
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

/** The handle of a connection whose handler's `open()` threw. */
class Failed implements ConnectionHandle {
  readonly done: Promise<void>;
  constructor(err: unknown) {
    this.done = Promise.reject(err);
  }
  shutdown(): void {}
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
  /** Each open connection's handle, and its socket. */
  #conns = new Map<ConnectionHandle, Deno.Conn>();
  /** Told by handles with `onEnd` (one object for all connections). */
  #ends: ConnectionEndListener = {
    connectionEnded: (handle: ConnectionHandle, error?: unknown): void =>
      this.#ended(handle, error),
  };
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
      this.#open(conn);
    }
    await this.shutdown();
  }

  #open(conn: Deno.Conn): void {
    let handle: ConnectionHandle;
    try {
      handle = this.#handler.open(conn);
    } catch (err) {
      handle = new Failed(err);
    }
    if (this.#conns.has(handle)) {
      // Keyed by handle: a shared one would leak the other connection.
      handle = new Failed(
        new TypeError(
          "ConnectionHandler.open() returned a handle already serving another connection",
        ),
      );
    }
    this.#conns.set(handle, conn);
    if (typeof handle.onEnd === "function") {
      // The handle calls back when it ends: no promise, reaction or
      // continuation per connection (a long-lived idle WebSocket holds
      // nothing here but its map entry).
      handle.onEnd(this.#ends);
      return;
    }
    // One reaction with one callback rather than an async function or a
    // then/finally chain.
    const settled = this.#ended.bind(this, handle);
    handle.done.then(settled, settled);
  }

  /** A connection's work is over (`err`: it failed). */
  #ended(handle: ConnectionHandle, err?: unknown): void {
    const conn = this.#conns.get(handle);
    if (conn === undefined) return; // Told twice.
    if (err !== undefined && !isClosedError(err)) this.#report(err, "connection");
    this.#conns.delete(handle);
    closeQuietly(conn);
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
    for (const handle of this.#conns.keys()) {
      try {
        handle.shutdown();
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
      for (const conn of this.#conns.values()) closeQuietly(conn);
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
