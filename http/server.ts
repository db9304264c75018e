import {
  type ConnectionHandle,
  type ConnectionHandler,
  Deadlines,
  type ErrorReporter,
  intOption,
  TcpServer,
} from "@coroio/core";
import { acquireClock, releaseClock } from "./_date.ts";
import type { ConnectionConfig } from "./_connection.ts";
import { ConnectionSlot } from "./_connection_slot.ts";
import type { AccessLogger } from "./access_log.ts";
import type { ErrorHandler } from "./error_handler.ts";
import type { Handler } from "./handler.ts";

/** Options for {@linkcode HttpServer}. */
export interface HttpServerOptions {
  /** Host to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. @default {8080} */
  port?: number;
  /** Most bytes of a request head (431 past it). @default {16384} */
  maxHeadSize?: number;
  /** Most bytes of the request line (414 past it). @default {8192} */
  maxRequestLineLength?: number;
  /** Most header fields (431 past it). @default {100} */
  maxHeaderCount?: number;
  /** Most bytes of a request body (413 past it). @default {1048576} */
  maxBodySize?: number;
  /**
   * Most body bytes the server reads and discards when a handler leaves a
   * body unread; past it the connection is closed instead. @default {65536}
   */
  maxDrainSize?: number;
  /**
   * Staged output (pipelined responses) above which the server flushes
   * before parsing the next request. @default {65536}
   */
  maxOutputBuffer?: number;
  /**
   * Milliseconds a client has to send a complete request head, from its
   * first byte (or from accept, for the first request): past it, 408 and
   * close. @default {15000}
   */
  headerTimeout?: number;
  /** Milliseconds an idle keep-alive connection is kept open. @default {5000} */
  keepAliveTimeout?: number;
  /**
   * Milliseconds a body read may wait for the client's next bytes before the
   * connection is closed (a client that stalls mid-body). @default {30000}
   */
  bodyTimeout?: number;
  /**
   * Milliseconds a write may wait for the client to take bytes (a client
   * that stops reading responses) before the connection is closed. Between
   * requests the keep-alive or header deadline runs first; when it passes
   * with a response still unwritten, this deadline takes over.
   * @default {30000}
   */
  writeTimeout?: number;
  /** Most connections at once (core's accept loop). @default {10000} */
  maxConnections?: number;
  /** Milliseconds graceful shutdown waits before closing what is left. @default {10000} */
  shutdownTimeout?: number;
  /** Aborting it starts a graceful shutdown. */
  signal?: AbortSignal;
  /** Receives one entry per response (the server's own refusals included). */
  logger?: AccessLogger;
  /** Receives errors the server survives (handler errors, accept errors). */
  errorReporter?: ErrorReporter;

  /**
   * The deadline set that times the connections (header, keep-alive, body
   * and write timeouts). Tests pass one on a clock they move by hand; the
   * server does not close a set it was given.
   *
   * @default {A set of the server's own, closed when it stops}
   */
  deadlines?: Deadlines;
}

/**
 * What {@linkcode HttpServer}'s constructor takes: the
 * {@linkcode HttpServerOptions} (address, limits, timeouts, logging) and the
 * hook that answers handler errors. Kept apart from `HttpServerOptions`,
 * which `@coroio/serve` shares: its fetch-style handlers answer errors
 * through its own `onError`.
 */
export interface HttpServerInit extends HttpServerOptions {
  /**
   * Shapes the response to an error a handler threw before responding (JSON
   * errors for an API, an HTML error page).
   *
   * @default {Plain text: an `HttpError`'s status and message, else 500}
   */
  errorHandler?: ErrorHandler;
}

/**
 * An HTTP/1.1 server over `Deno.listen` with a parser written from scratch:
 * keep-alive, pipelining with batched writes, strict framing, limits and
 * timeouts, graceful shutdown, and connection takeover through
 * {@linkcode UpgradeTarget}.
 *
 * @example Serving a router
 * ```ts
 * import { HttpRequest, HttpResponse, HttpServer, Router } from "@coroio/http";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * class Hello {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.send("hello");
 *   }
 * }
 * const router = new Router().get("/", new Hello());
 * const server = new HttpServer(router, { port: 0 });
 * const addr = server.listen();
 * const res = await fetch(`http://127.0.0.1:${addr.port}/`);
 * assertEquals(await res.text(), "hello");
 * await server.shutdown();
 * ```
 */
export class HttpServer {
  #options: HttpServerOptions;
  #config: ConnectionConfig;
  #tcp: TcpServer | null = null;
  #finished: Promise<void> | null = null;

  /**
   * Creates a server; call {@linkcode listen} or {@linkcode serve} to start.
   *
   * @param handler Serves every request (usually a {@linkcode Router}).
   * @param options Address, limits, timeouts, logger.
   * @throws {TypeError} If `handler` has no `handle` method, or
   * `options.errorHandler` no `handleError` method.
   * @throws {RangeError} If a limit or timeout is not an integer >= 1.
   */
  constructor(handler: Handler, options: HttpServerInit = {}) {
    if (typeof handler?.handle !== "function") {
      throw new TypeError("Cannot create HttpServer: the handler must have a handle() method");
    }
    const errorHandler = options.errorHandler;
    if (errorHandler !== undefined && typeof errorHandler?.handleError !== "function") {
      throw new TypeError(
        "Cannot create HttpServer: the errorHandler must have a handleError() method",
      );
    }
    const o = options;
    const int = (name: keyof HttpServerOptions & string, value: number | undefined, d: number) =>
      intOption("HttpServer", name, value, d);
    this.#options = options;
    this.#config = {
      handler,
      deadlines: o.deadlines ?? new Deadlines({ resolution: 250 }),
      maxHeadSize: int("maxHeadSize", o.maxHeadSize, 16384),
      maxRequestLineLength: int("maxRequestLineLength", o.maxRequestLineLength, 8192),
      maxHeaderCount: int("maxHeaderCount", o.maxHeaderCount, 100),
      maxBodySize: int("maxBodySize", o.maxBodySize, 1048576),
      maxDrainSize: int("maxDrainSize", o.maxDrainSize, 65536),
      maxOutputBuffer: int("maxOutputBuffer", o.maxOutputBuffer, 65536),
      headerTimeout: int("headerTimeout", o.headerTimeout, 15000),
      keepAliveTimeout: int("keepAliveTimeout", o.keepAliveTimeout, 5000),
      bodyTimeout: int("bodyTimeout", o.bodyTimeout, 30000),
      writeTimeout: int("writeTimeout", o.writeTimeout, 30000),
      logger: o.logger ?? null,
      reporter: o.errorReporter ?? null,
      errorHandler: errorHandler ?? null,
    };
    // Checked here too, so that a bad value fails at construction, not at listen().
    int("maxConnections", o.maxConnections, 10000);
    intOption("HttpServer", "shutdownTimeout", o.shutdownTimeout, 10000, 0);
  }

  /**
   * Listens on `options.hostname`/`options.port` and starts serving in the
   * background (see {@linkcode finished}).
   *
   * @returns The bound address (read `.port` when listening on port 0).
   * @throws {Deno.errors.AddrInUse} If the port is taken.
   */
  listen(): Deno.NetAddr {
    if (this.#tcp !== null) throw new TypeError("Cannot listen: the server is already running");
    const listener = Deno.listen({
      hostname: this.#options.hostname ?? "127.0.0.1",
      port: this.#options.port ?? 8080,
    });
    try {
      this.serve(listener);
    } catch (err) {
      listener.close();
      throw err;
    }
    return listener.addr;
  }

  /**
   * Serves connections from a listener you created.
   *
   * @param listener A TCP listener.
   * @returns A promise that resolves after shutdown, when every connection
   * the server accepted is closed.
   * @throws {TypeError} If the server was already started.
   */
  serve(listener: Deno.Listener): Promise<void> {
    if (this.#tcp !== null) throw new TypeError("Cannot serve: the server is already running");
    const opts = this.#options;
    this.#tcp = new TcpServer(listener, new HttpAcceptor(this.#config), {
      maxConnections: opts.maxConnections ?? 10000,
      shutdownTimeout: opts.shutdownTimeout ?? 10000,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.errorReporter !== undefined ? { errorReporter: opts.errorReporter } : {}),
    });
    acquireClock();
    this.#finished = this.#tcp.serve().finally(() => {
      releaseClock();
      if (this.#options.deadlines === undefined) this.#config.deadlines.close();
    });
    return this.#finished;
  }

  /**
   * Resolves when the server has stopped.
   *
   * @returns The promise returned by `serve()`, or a resolved one if never
   * started.
   */
  get finished(): Promise<void> {
    return this.#finished ?? Promise.resolve();
  }

  /**
   * The bound address.
   *
   * @returns The address.
   * @throws {TypeError} If the server is not running.
   */
  get addr(): Deno.NetAddr {
    if (this.#tcp === null) throw new TypeError("Cannot get address: the server is not running");
    return this.#tcp.addr;
  }

  /**
   * Connections open now, including taken-over ones.
   *
   * @returns The count.
   */
  get connections(): number {
    return this.#tcp?.connections ?? 0;
  }

  /**
   * Graceful shutdown: stop accepting, close idle keep-alive connections,
   * let requests in flight finish (their responses say `Connection: close`),
   * shut down what upgrade targets started (a WebSocket gets close 1001), and
   * after `timeout` ms close what is left.
   *
   * @param timeout Milliseconds to wait. Defaults to `shutdownTimeout`.
   * @returns A promise that resolves when the server has stopped.
   */
  async shutdown(timeout?: number): Promise<void> {
    if (this.#tcp === null) return;
    await this.#tcp.shutdown(timeout);
    await this.#finished;
  }
}

/** Opens a connection slot per accepted connection (core's accept loop calls it). */
class HttpAcceptor implements ConnectionHandler {
  readonly #config: ConnectionConfig;
  constructor(config: ConnectionConfig) {
    this.#config = config;
  }
  open(conn: Deno.Conn): ConnectionHandle {
    return new ConnectionSlot(this.#config, conn);
  }
}
