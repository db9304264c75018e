import {
  BufReader,
  BufWriter,
  type ConnectionHandler,
  Deadlines,
  type ErrorReporter,
  type Expirable,
  isClosedError,
  TcpServer,
  type TrackedConn,
} from "@coroio/core";
import { acquireClock, httpDate, releaseClock } from "./_date.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { HttpError, HttpErrorCode } from "./errors.ts";
import type { AccessLogger, Handler, Takeover, UpgradeTarget } from "./handler.ts";
import type { RequestHead } from "./head.ts";
import { RequestParser } from "./parser.ts";
import { type BodyHost, HttpRequest, RequestBody } from "./request.ts";
import { HttpResponse, type ResponseHost } from "./response.ts";
import { STATUS_TEXT } from "./status.ts";

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
  /** Receives one entry per request. */
  logger?: AccessLogger;
  /** Receives errors the server survives (handler errors, accept errors). */
  errorReporter?: ErrorReporter;
}

const ConnPhase = { Idle: 0, Head: 1, Busy: 2, Upgraded: 3, Closed: 4 } as const;
type ConnPhase = typeof ConnPhase[keyof typeof ConnPhase];

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
/** Shared by every request without a body: it holds no state. */
const NO_BODY = new RequestBody(null, null, 0);

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
export class HttpServer implements ConnectionHandler {
  #handler: Handler;
  #options: HttpServerOptions;
  #tcp: TcpServer | null = null;
  #finished: Promise<void> | null = null;
  #conns = new Map<TrackedConn, HttpConnection | Upgraded>();
  /** @internal */ readonly deadlines: Deadlines = new Deadlines({ resolution: 250 });
  /** @internal */ readonly maxHeadSize: number;
  /** @internal */ readonly maxRequestLineLength: number;
  /** @internal */ readonly maxHeaderCount: number;
  /** @internal */ readonly maxBodySize: number;
  /** @internal */ readonly maxDrainSize: number;
  /** @internal */ readonly maxOutputBuffer: number;
  /** @internal */ readonly headerTimeout: number;
  /** @internal */ readonly keepAliveTimeout: number;
  /** @internal */ readonly bodyTimeout: number;
  /** @internal */ readonly writeTimeout: number;
  /** @internal */ readonly logger: AccessLogger | null;
  /** @internal */ readonly reporter: ErrorReporter | null;

  /**
   * Creates a server; call {@linkcode listen} or {@linkcode serve} to start.
   *
   * @param handler Serves every request (usually a {@linkcode Router}).
   * @param options Address, limits, timeouts, logger.
   * @throws {RangeError} If a limit is not a positive number.
   */
  constructor(handler: Handler, options: HttpServerOptions = {}) {
    this.#handler = handler;
    this.#options = options;
    this.maxHeadSize = positive(options.maxHeadSize ?? 16384, "maxHeadSize");
    this.maxRequestLineLength = positive(
      options.maxRequestLineLength ?? 8192,
      "maxRequestLineLength",
    );
    this.maxHeaderCount = positive(options.maxHeaderCount ?? 100, "maxHeaderCount");
    this.maxBodySize = positive(options.maxBodySize ?? 1048576, "maxBodySize");
    this.maxDrainSize = positive(options.maxDrainSize ?? 65536, "maxDrainSize");
    this.maxOutputBuffer = positive(options.maxOutputBuffer ?? 65536, "maxOutputBuffer");
    this.headerTimeout = positive(options.headerTimeout ?? 15000, "headerTimeout");
    this.keepAliveTimeout = positive(options.keepAliveTimeout ?? 5000, "keepAliveTimeout");
    this.bodyTimeout = positive(options.bodyTimeout ?? 30000, "bodyTimeout");
    this.writeTimeout = positive(options.writeTimeout ?? 30000, "writeTimeout");
    this.logger = options.logger ?? null;
    this.reporter = options.errorReporter ?? null;
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
   * the server owns is closed.
   * @throws {TypeError} If the server was already started.
   */
  serve(listener: Deno.Listener): Promise<void> {
    if (this.#tcp !== null) throw new TypeError("Cannot serve: the server is already running");
    const opts = this.#options;
    this.#tcp = new TcpServer(listener, this, {
      maxConnections: opts.maxConnections ?? 10000,
      shutdownTimeout: opts.shutdownTimeout ?? 10000,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.errorReporter !== undefined ? { errorReporter: opts.errorReporter } : {}),
    });
    acquireClock();
    this.#finished = this.#tcp.serve().finally(() => {
      releaseClock();
      this.deadlines.close();
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
   * tell upgrade targets about the connections they own, and after
   * `timeout` ms close what is left (taken-over connections excepted).
   *
   * @param timeout Milliseconds to wait. Defaults to `shutdownTimeout`.
   * @returns A promise that resolves when the server has stopped.
   */
  async shutdown(timeout?: number): Promise<void> {
    if (this.#tcp === null) return;
    await this.#tcp.shutdown(timeout);
    await this.#finished;
  }

  /**
   * Serves one connection (called by the accept loop).
   *
   * @param conn The connection.
   * @param tracked The accept loop's record of it.
   * @returns A promise that settles when the connection is done or taken over.
   */
  async handleConnection(conn: Deno.Conn, tracked: TrackedConn): Promise<void> {
    let hc: HttpConnection | null = new HttpConnection(this, conn, tracked);
    this.#conns.set(tracked, hc);
    try {
      await hc.run(this.#handler);
      let takeover: PendingTakeover | null = hc.takeover;
      if (takeover === null) return;
      // From here the HTTP state (parser, buffers, request) is garbage: only
      // the target and the conn stay referenced for shutdown.
      hc = null;
      const upgraded = new Upgraded(takeover.target, takeover.conn);
      this.#conns.set(tracked, upgraded);
      let running: void | Promise<void>;
      try {
        running = takeover.target.upgrade(takeover);
        // This frame stays suspended for the whole session: let the request,
        // its headers and the leftover bytes go.
        takeover = null;
      } catch (err) {
        // The target owns the conn but failed before taking care of it.
        try {
          conn.close();
        } catch {
          // Closed by the target.
        }
        throw err;
      }
      if (tracked.closing) upgraded.shutdown();
      await running;
    } finally {
      this.#conns.delete(tracked);
    }
  }

  /**
   * Starts graceful shutdown of one connection (called by the accept loop).
   *
   * @param _conn The connection.
   * @param tracked The accept loop's record of it.
   */
  shutdownConnection(_conn: Deno.Conn, tracked: TrackedConn): void {
    this.#conns.get(tracked)?.shutdown();
  }
}

/** A connection handed to an upgrade target: all the server keeps of it. */
class Upgraded {
  readonly target: UpgradeTarget;
  readonly conn: Deno.Conn;
  constructor(target: UpgradeTarget, conn: Deno.Conn) {
    this.target = target;
    this.conn = conn;
  }
  shutdown(): void {
    this.target.shutdown?.(this.conn);
  }
}

/** What the connection loop leaves for `handleConnection` after a takeover. */
interface PendingTakeover extends Takeover {
  readonly target: UpgradeTarget;
}

function noop(): void {}

function positive(n: number, name: string): number {
  if (!(n > 0)) throw new RangeError(`Cannot create HttpServer: ${name} must be > 0`);
  return n;
}

/** Per-connection state; implements the hosts the request and response use. */
class HttpConnection implements BodyHost, ResponseHost, Expirable {
  readonly reader: BufReader<Deno.Conn>;
  readonly writer: BufWriter;
  readonly #server: HttpServer;
  readonly #conn: Deno.Conn;
  readonly #tracked: TrackedConn;
  readonly #parser: RequestParser;
  #phase: ConnPhase = ConnPhase.Head;
  #chunked: ChunkedDecoder | null = null;
  #closing = false;
  #head: RequestHead | null = null;
  #continueSent = false;
  /** Set when a handler chose an upgrade; the loop has then ended. */
  takeover: PendingTakeover | null = null;

  constructor(server: HttpServer, conn: Deno.Conn, tracked: TrackedConn) {
    this.#server = server;
    this.#conn = conn;
    this.#tracked = tracked;
    // 1 KiB holds a typical browser head; the buffer doubles when reads fill it.
    this.reader = new BufReader<Deno.Conn>(conn, { initialSize: 1024 });
    this.writer = new BufWriter(conn);
    this.#parser = new RequestParser({
      maxHeadSize: server.maxHeadSize,
      maxRequestLineLength: server.maxRequestLineLength,
      maxHeaderCount: server.maxHeaderCount,
    });
  }

  // BodyHost
  chunkedDecoder(): ChunkedDecoder {
    return this.#chunked ??= new ChunkedDecoder();
  }

  async continueIfExpected(): Promise<void> {
    // Once the final response has started, a 100 would land inside it
    // (RFC 9110 10.1.1 lets a server skip it).
    if (this.#head?.expectContinue && !this.#continueSent && !this.#res?.headersSent) {
      this.#continueSent = true;
      this.writer.write(CONTINUE);
      await this.flush();
    }
  }

  async fillBody(): Promise<number | null> {
    this.#io = true;
    this.#bodyReading = true;
    this.#arm(this.#server.bodyTimeout);
    try {
      return await this.reader.fill();
    } finally {
      this.#io = false;
      this.#bodyReading = false;
      this.#rearm();
    }
  }

  #bodyReading = false;

  // ResponseHost
  closeAfterResponse(): boolean {
    const head = this.#head;
    if (this.#closing || head === null || !head.keepAlive) return true;
    // A body we will not be able to skip: close rather than misframe.
    return this.#bodyUnskippable && !(this.#body?.done ?? true);
  }

  #bodyUnskippable = false;
  #body: RequestBody | null = null;
  #fed = false;

  /** Flushes under the write timeout. */
  async flush(): Promise<void> {
    if (this.writer.buffered === 0) return;
    this.#io = true;
    this.#arm(this.#server.writeTimeout);
    try {
      await this.writer.flush();
    } finally {
      this.#io = false;
      this.#rearm();
    }
  }

  /**
   * Starts writing the staged responses and goes on to read without waiting
   * for the write: the next request is read in the same event-loop turn. A
   * client that stops reading is still bounded: in the idle phase by the
   * keep-alive deadline, in the head phase by the header deadline, otherwise
   * by the write deadline. A failed write closes the writer; the loop sees
   * it at the next write or flush.
   */
  #flushBeforeRead(): void {
    const bounded = (this.#phase === ConnPhase.Idle && this.#armed) ||
      (this.#phase === ConnPhase.Head && this.#headDeadline !== 0);
    if (bounded) this.writer.flush().then(this.#flushed, this.#flushed);
    else this.flush().then(this.#flushed, this.#flushed);
  }

  /** Whether a body read or a write is waiting under its own deadline. */
  #io = false;
  /** When the current request head must be complete (epoch ms). */
  #headDeadline = 0;

  /** Restores the deadline of the phase after an I/O deadline. */
  #rearm(): void {
    if (this.#phase === ConnPhase.Head && this.#headDeadline !== 0) {
      this.#arm(Math.max(1, this.#headDeadline - Date.now()));
    } else if (this.#phase === ConnPhase.Idle) {
      this.#arm(this.#server.keepAliveTimeout);
    } else {
      this.#disarm();
    }
  }

  /** Whether this connection may have a deadline armed (saves Map work). */
  #armed = false;

  #arm(ms: number): void {
    this.#armed = true;
    this.#server.deadlines.arm(this, ms);
  }

  #disarm(): void {
    if (this.#armed) {
      this.#armed = false;
      this.#server.deadlines.disarm(this);
    }
  }

  // Expirable: header, keep-alive, body-read and write timeouts.
  expire(): void {
    this.#armed = false;
    if (this.#io) {
      // A stalled body or a client that stopped reading: nothing useful can be sent.
      this.#phase = ConnPhase.Closed;
      this.#tracked.close();
    } else if (this.writer.buffered > 0 && this.#phase !== ConnPhase.Closed) {
      // The idle or header deadline passed while a response is still being
      // written: the client is slow to read, which writeTimeout judges.
      this.#io = true;
      this.#arm(this.#server.writeTimeout);
    } else if (this.#phase === ConnPhase.Head) {
      this.#phase = ConnPhase.Closed;
      this.#sendErrorAndClose(408, "Request Timeout: the request head took too long");
    } else if (this.#phase === ConnPhase.Idle) {
      this.#phase = ConnPhase.Closed;
      this.#tracked.close();
    }
  }

  /** A background flush settled: end a write deadline, finish a shutdown. */
  #flushed = (): void => {
    if (this.#io && !this.#bodyReading) {
      this.#io = false;
      this.#rearm();
    }
    if (this.#closing && this.#waitingForRequest()) this.#closeIdle();
  };

  /** Whether the connection is between requests with nothing in flight. */
  #waitingForRequest(): boolean {
    if (this.writer.buffered > 0) return false;
    return this.#phase === ConnPhase.Idle ||
      (this.#phase === ConnPhase.Head && !this.#fed && this.reader.buffered === 0);
  }

  #closeIdle(): void {
    this.#phase = ConnPhase.Closed;
    this.#disarm();
    this.#tracked.close();
  }

  shutdown(): void {
    this.#closing = true;
    // Idle, or connected without a byte of a request: close now. With a
    // response still being written, close once it is out (#flushed).
    if (this.#waitingForRequest()) this.#closeIdle();
  }

  async #sendErrorAndClose(status: number, message: string): Promise<void> {
    // Bounded like any write: the client may have stopped reading.
    this.#io = true;
    this.#arm(this.#server.writeTimeout);
    try {
      const body = message + "\n";
      this.writer.writeLatin1(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nDate: ${httpDate()}\r\n` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
      await this.writer.flush();
    } catch {
      // The peer is gone; nothing to tell it.
    } finally {
      this.#tracked.close();
    }
  }

  async run(handler: Handler): Promise<void> {
    const server = this.#server;
    const reader = this.reader;
    const parser = this.#parser;
    try {
      this.#headDeadline = Date.now() + server.headerTimeout;
      this.#arm(server.headerTimeout);
      for (;;) {
        // Read and parse a request head.
        let head: RequestHead | null = null;
        for (;;) {
          if (reader.buffered > 0) {
            if (this.#phase === ConnPhase.Idle) {
              this.#phase = ConnPhase.Head;
              // Armed below only if the head is not already complete.
              this.#headDeadline = 0;
            }
            this.#fed = true;
            reader.consume(parser.feed(reader.peek()));
            if (parser.head !== null) {
              head = parser.head;
              break;
            }
            if (this.#headDeadline === 0) {
              this.#headDeadline = Date.now() + server.headerTimeout;
              this.#arm(server.headerTimeout);
            }
          }
          if (this.writer.buffered > 0) this.#flushBeforeRead();
          if (this.#phase === ConnPhase.Closed) return;
          if (this.#closing && this.#phase === ConnPhase.Idle) return;
          const n = await reader.fill();
          if (n === null) {
            // EOF. A partial head gets a 400; a clean close between requests is fine.
            if (this.#fed) {
              // Bytes that never formed a head.
              await this.#sendErrorAndClose(
                400,
                "Bad Request: connection ended inside a request head",
              );
            }
            return;
          }
          if ((this.#phase as ConnPhase) === ConnPhase.Closed) return;
        }
        this.#disarm();
        this.#phase = ConnPhase.Busy;
        let keep = this.#dispatch(handler, head);
        if (keep !== true && keep !== false) keep = await keep;
        // An idle keep-alive connection holds no request.
        this.#req = null;
        this.#res = null;
        this.#body = null;
        this.#head = null;
        parser.reset();
        this.#fed = false;
        if (!keep) break;
        if (this.writer.buffered > server.maxOutputBuffer) await this.flush();
        if (this.#closing) break;
        this.#phase = ConnPhase.Idle;
        if (reader.buffered === 0) this.#arm(server.keepAliveTimeout);
      }
      if ((this.#phase as ConnPhase) !== ConnPhase.Upgraded && this.writer.buffered > 0) {
        await this.flush();
      }
    } catch (err) {
      if (err instanceof HttpError) {
        this.#disarm();
        this.#phase = ConnPhase.Closed;
        await this.#sendErrorAndClose(err.status, err.message);
        return;
      }
      if (this.#phase === ConnPhase.Closed || isClosedError(err)) return;
      throw err;
    } finally {
      if (this.#phase !== ConnPhase.Upgraded && this.writer.flushing) {
        // A response still on its way (the client may have half-closed).
        await this.flush().catch(noop);
      }
      this.#disarm();
      if (this.#phase !== ConnPhase.Upgraded) {
        this.writer.close();
        this.#tracked.close();
      }
    }
  }

  /**
   * Runs one request; returns whether the connection stays open for more.
   * Synchronous when the handler is (no promise per request then).
   */
  #dispatch(handler: Handler, head: RequestHead): boolean | Promise<boolean> {
    const server = this.#server;
    this.#head = head;
    this.#continueSent = false;
    this.#bodyUnskippable = false;
    this.#started = server.logger !== null ? Date.now() : 0;
    if (head.contentLength > server.maxBodySize) {
      // Too large to read and too large to skip.
      throw new HttpError(
        413,
        HttpErrorCode.BodyTooLarge,
        `Content Too Large: request body of ${head.contentLength} bytes exceeds the limit of ${server.maxBodySize}`,
      );
    }
    const expect = head.hasExpect && !head.expectContinue ? head.headers.get("expect") : null;
    if (expect !== null) {
      throw new HttpError(
        417,
        HttpErrorCode.ExpectationFailed,
        `Expectation Failed: cannot meet "${expect}"`,
      );
    }
    const hasBody = head.chunked || head.contentLength > 0;
    if (hasBody && head.expectContinue) this.#bodyUnskippable = true;
    else if (!head.chunked && head.contentLength > server.maxDrainSize) {
      this.#bodyUnskippable = true;
    }
    const body = hasBody ? new RequestBody(this, head, server.maxBodySize) : NO_BODY;
    this.#body = body;
    const req = new HttpRequest(head, body, this.#conn.remoteAddr);
    const res = new HttpResponse(this, head.method === "HEAD", head.version === "HTTP/1.0");
    this.#req = req;
    this.#res = res;
    let ret: void | Promise<void>;
    try {
      ret = handler.handle(req, res);
    } catch (err) {
      return this.#handlerFailed(err);
    }
    if (ret !== undefined && typeof (ret as Promise<void>).then === "function") {
      return this.#awaitHandler(ret);
    }
    return this.#complete();
  }

  #req: HttpRequest | null = null;
  #res: HttpResponse | null = null;
  #started = 0;

  async #awaitHandler(ret: Promise<void>): Promise<boolean> {
    try {
      await ret;
    } catch (err) {
      return await this.#handlerFailed(err);
    }
    return await this.#complete();
  }

  /** After the handler returned: upgrade, finish the response, skip the body. */
  #complete(): boolean | Promise<boolean> {
    const res = this.#res!;
    const head = this.#head!;
    if (!res.headersSent) {
      return this.#handlerFailed(
        new Error(`Handler returned without responding to ${head.method} ${head.target}`),
      );
    }
    const target = res.upgradeTarget;
    if (target !== null) return this.#upgrade(target);
    if (!res.finished) return this.#endThenFinish();
    this.#log(head, res.status, res.bytesSent, this.#started);
    if (res.closesConnection) return false;
    const body = this.#body!;
    if (body.done) return true;
    return this.#finishBody(body);
  }

  async #upgrade(target: UpgradeTarget): Promise<boolean> {
    await this.#takeover(target, this.#req!, this.#head!);
    this.#log(this.#head!, 101, 0, this.#started);
    return false;
  }

  async #endThenFinish(): Promise<boolean> {
    await this.#res!.end();
    return await this.#complete();
  }

  /** A handler threw or rejected (or did not respond). */
  #handlerFailed(err: unknown): boolean | Promise<boolean> {
    const res = this.#res!;
    const body = this.#body!;
    if (err instanceof HttpError && !res.headersSent) throw err;
    if (body.error !== null && body.error === err && !res.headersSent) throw err;
    const server = this.#server;
    server.reporter?.report(err, "handler");
    if (server.reporter === null && !(err instanceof HttpError)) {
      // deno-lint-ignore no-console
      console.error("coroio/http: handler error:", err);
    }
    // Mid-response, the only honest signal left is to close.
    if (res.headersSent) return false;
    this.#closing = true;
    res.status = 500;
    res.send("Internal Server Error\n");
    return this.#complete();
  }

  async #finishBody(body: RequestBody): Promise<boolean> {
    if (body.done) return true;
    if (body.error !== null) return false;
    return await body.drain(this.#server.maxDrainSize);
  }

  #log(head: RequestHead, status: number, bytes: number, started: number): void {
    const logger = this.#server.logger;
    if (logger === null) return;
    const addr = this.#conn.remoteAddr as Deno.NetAddr;
    try {
      logger.log({
        remoteAddr: addr.hostname ?? "-",
        time: new Date(started),
        method: head.method,
        target: head.target,
        version: head.version,
        status,
        bytesSent: bytes,
        referer: head.headers.get("referer"),
        userAgent: head.headers.get("user-agent"),
        durationMs: Date.now() - started,
      });
    } catch (err) {
      this.#server.reporter?.report(err, "logger");
    }
  }

  /** Flushes earlier responses and detaches the conn for the target. */
  async #takeover(target: UpgradeTarget, req: HttpRequest, head: RequestHead): Promise<void> {
    await this.flush();
    this.writer.close();
    const { conn, buffered } = this.reader.detach();
    this.#phase = ConnPhase.Upgraded;
    this.#tracked.detach();
    this.#disarm();
    this.takeover = { target, request: head, httpRequest: req, conn, head: buffered };
  }
}
