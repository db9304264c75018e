import {
  BufReader,
  BufWriter,
  closeQuietly,
  type Deadlines,
  type ErrorReporter,
  type Expirable,
  type FlushListener,
  isClosedError,
} from "@coroio/core";
import {
  ChunkedDecoder,
  encodeRefusal,
  HttpError,
  HttpErrorCode,
  type RequestHead,
  RequestParser,
  STATUS_TEXT,
} from "@coroio/core/http1";
import { httpDate } from "./_date.ts";
import type { AccessLogger } from "./access_log.ts";
import type { ErrorHandler } from "./error_handler.ts";
import type { Handler, HandlerResult } from "./handler.ts";
import { HttpRequest, RequestBody } from "./request.ts";
import type { BodyHost, ResponseHost, SignalHost } from "./_hosts.ts";
import { DisconnectWatch, type WatchHost } from "./_disconnect.ts";
import { HttpResponse } from "./response.ts";
import type { Takeover, UpgradeTarget } from "./upgrade.ts";
import type { ConnectionSlot } from "./_connection_slot.ts";

/** The server's validated settings, shared by all its connections. */
export interface ConnectionConfig {
  readonly handler: Handler;
  readonly deadlines: Deadlines;
  readonly maxHeadSize: number;
  readonly maxRequestLineLength: number;
  readonly maxHeaderCount: number;
  readonly maxBodySize: number;
  readonly maxDrainSize: number;
  readonly maxOutputBuffer: number;
  readonly headerTimeout: number;
  readonly keepAliveTimeout: number;
  readonly bodyTimeout: number;
  readonly writeTimeout: number;
  readonly logger: AccessLogger | null;
  readonly reporter: ErrorReporter | null;
  readonly errorHandler: ErrorHandler | null;
}

/** What the HTTP loop hands on when a handler chose an upgrade. */
export interface PendingTakeover {
  readonly slot: ConnectionSlot;
  readonly target: UpgradeTarget;
  readonly takeover: TakeoverRecord;
}

/**
 * The takeover the target receives; logs the request once, with what the
 * target answered ({@linkcode Takeover.answered}).
 */
export class TakeoverRecord implements Takeover {
  readonly request: HttpRequest;
  readonly conn: Deno.Conn;
  readonly buffered: Uint8Array;
  #config: ConnectionConfig | null;
  readonly #started: number;

  constructor(
    config: ConnectionConfig,
    request: HttpRequest,
    conn: Deno.Conn,
    buffered: Uint8Array,
    started: number,
  ) {
    this.request = request;
    this.conn = conn;
    this.buffered = buffered;
    this.#config = config.logger === null ? null : config;
    this.#started = started;
  }

  answered(status: number, bytesSent = 0): void {
    const config = this.#config;
    if (config === null) return;
    this.#config = null;
    logResponse(config, this.request.head, this.conn, status, bytesSent, this.#started);
  }
}

/**
 * Hands one access-log entry to the logger: the one place entries are
 * made. `head` is `null` for a response to a head that was never parsed.
 */
function logResponse(
  config: ConnectionConfig,
  head: RequestHead | null,
  conn: Deno.Conn,
  status: number,
  bytes: number,
  started: number,
): void {
  const logger = config.logger;
  if (logger === null) return;
  const addr = conn.remoteAddr as Deno.NetAddr;
  const now = Date.now();
  if (started === 0) started = now;
  try {
    logger.log({
      remoteAddr: addr.hostname ?? "-",
      time: new Date(started),
      method: head?.method ?? "",
      target: head?.target ?? "",
      version: head?.version ?? "",
      status,
      bytesSent: bytes,
      referer: head?.headers.get("referer") ?? null,
      userAgent: head?.headers.get("user-agent") ?? null,
      durationMs: now - started,
    });
  } catch (err) {
    config.reporter?.report(err, "logger");
  }
}

/** `true`: keep the connection for more requests; `false`: close it; a target: take over. */
type Outcome = boolean | UpgradeTarget;

/**
 * What #dispatch() returns when the handler returned a promise: run()
 * awaits it (kept in #awaiting) and completes the request.
 */
const AWAITING = null;

/** Where the connection is in its request cycle. */
const ConnPhase = { Idle: 0, Head: 1, Busy: 2, Upgraded: 3, Closed: 4 } as const;
type ConnPhase = typeof ConnPhase[keyof typeof ConnPhase];

/**
 * Which deadline is armed, i.e. which timeout judges the connection now:
 * - `Header`: the request head must be complete by `#headDeadlineAt`;
 * - `KeepAlive`: idle between requests (`keepAliveTimeout`);
 * - `BodyRead`: a body read waits for the client (`bodyTimeout`);
 * - `Write`: a flush waits for the client to take bytes (`writeTimeout`).
 *
 * `BodyRead` and `Write` are I/O deadlines: their expiry closes the
 * connection. When one ends, the phase's deadline (`Header` or
 * `KeepAlive`, or none while a handler runs) is armed again.
 */
const Deadline = { None: 0, Header: 1, KeepAlive: 2, BodyRead: 3, Write: 4 } as const;
type Deadline = typeof Deadline[keyof typeof Deadline];

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
/** Shared by every request without a body: it holds no state. */
const NO_BODY = new RequestBody(null, null, 0);

function noop(): void {}

/** Per-connection HTTP state; implements the hosts the request and response use. */
export class HttpConnection
  implements BodyHost, ResponseHost, SignalHost, WatchHost, Expirable, FlushListener {
  readonly reader: BufReader<Deno.Conn>;
  readonly writer: BufWriter;
  readonly #server: ConnectionConfig;
  readonly #conn: Deno.Conn;
  /** The handle the accept loop holds; a takeover continues there. */
  readonly #slot: ConnectionSlot;
  readonly #parser: RequestParser;

  // Request cycle.
  #phase: ConnPhase = ConnPhase.Head;
  /** Whether bytes of the current request head were fed to the parser. */
  #fed = false;
  /** Whether the connection closes after the current response (shutdown, handler error). */
  #closing = false;
  #closed = false;

  // Timeouts: the one armed deadline, and when the current head must be complete.
  #deadline: Deadline = Deadline.None;
  /** When the current request head must be complete (clock ms; 0: not started). */
  #headDeadlineAt = 0;

  // The request in flight (all null between requests).
  #head: RequestHead | null = null;
  #req: HttpRequest | null = null;
  #res: HttpResponse | null = null;
  #body: RequestBody | null = null;
  #chunked: ChunkedDecoder | null = null;
  /** Whether an unread body cannot be skipped (so the connection closes instead). */
  #bodyUnskippable = false;
  #continueSent = false;
  /** When the handler was called (for the access log; 0 without a logger). */
  #started = 0;
  /** The disconnect watch of the request in flight, if its handler asked for `req.signal`. */
  #watch: DisconnectWatch | null = null;
  /** The promise of the handler running now, for run() to await (see AWAITING). */
  #awaiting: Promise<HandlerResult> | null = null;
  /** A watch's read still in flight after its response: the next read awaits it. */
  #watchRead: Promise<number | null> | null = null;
  /** Settles a background flush (bound once: no closure per flush). */
  readonly #flushed = (): void => this.#afterFlush();

  constructor(server: ConnectionConfig, conn: Deno.Conn, slot: ConnectionSlot) {
    this.#server = server;
    this.#conn = conn;
    this.#slot = slot;
    // 1 KiB holds a typical browser head; the buffer doubles when reads fill it.
    this.reader = new BufReader<Deno.Conn>(conn, { initialSize: 1024 });
    this.writer = new BufWriter(conn);
    this.#parser = new RequestParser({
      maxHeadSize: server.maxHeadSize,
      maxRequestLineLength: server.maxRequestLineLength,
      maxHeaderCount: server.maxHeaderCount,
    });
  }

  /**
   * Arms the deadline `kind` (replacing the armed one), or disarms with
   * `Deadline.None`. The one place that decides how long each deadline is.
   */
  #armFor(kind: Deadline): void {
    const server = this.#server;
    let ms: number;
    switch (kind) {
      case Deadline.None:
        // Also when `None` already: a suspended deadline is still in the set.
        this.#deadline = Deadline.None;
        server.deadlines.disarm(this);
        return;
      case Deadline.Header:
        ms = Math.max(1, this.#headDeadlineAt - server.deadlines.now());
        break;
      case Deadline.KeepAlive:
        // Re-armed after every response: no clock read (up to two
        // resolutions late, never early; see Deadlines.armCoarse).
        this.#deadline = kind;
        server.deadlines.armCoarse(this, server.keepAliveTimeout);
        return;
      case Deadline.BodyRead:
        ms = server.bodyTimeout;
        break;
      default:
        ms = server.writeTimeout;
    }
    this.#deadline = kind;
    server.deadlines.arm(this, ms);
  }

  /**
   * No deadline while a handler runs, on the hot path: the entry stays in
   * the deadline set, where its expiry is ignored (`expire()` sees `None`),
   * so that arming the keep-alive deadline after the response updates it
   * instead of deleting and inserting a map entry per request.
   */
  #suspendDeadline(): void {
    this.#deadline = Deadline.None;
  }

  /** Starts the header deadline for a new request head. */
  #startHeadDeadline(): void {
    this.#headDeadlineAt = this.#server.deadlines.now() + this.#server.headerTimeout;
    this.#armFor(Deadline.Header);
  }

  /** After an I/O deadline: arms the phase's deadline again (or none while busy). */
  #armForPhase(): void {
    if (this.#phase === ConnPhase.Head && this.#headDeadlineAt !== 0) {
      this.#armFor(Deadline.Header);
    } else if (this.#phase === ConnPhase.Idle) {
      this.#armFor(Deadline.KeepAlive);
    } else {
      this.#armFor(Deadline.None);
    }
  }

  // Expirable: the armed deadline passed.
  expire(): void {
    const kind = this.#deadline;
    // A deadline suspended while a handler runs (#suspendDeadline).
    if (kind === Deadline.None) return;
    this.#deadline = Deadline.None;
    if (kind === Deadline.BodyRead || kind === Deadline.Write) {
      // A stalled body or a client that stopped reading: nothing useful can be sent.
      this.#phase = ConnPhase.Closed;
      this.#close();
    } else if (this.writer.buffered > 0 && this.#phase !== ConnPhase.Closed) {
      // The idle or header deadline passed while a response is still being
      // written: the client is slow to read, which writeTimeout judges.
      this.#armFor(Deadline.Write);
    } else if (this.#phase === ConnPhase.Head) {
      this.#phase = ConnPhase.Closed;
      this.#sendErrorAndClose(408, "Request Timeout: the request head took too long");
    } else if (this.#phase === ConnPhase.Idle) {
      this.#phase = ConnPhase.Closed;
      this.#close();
    }
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

  async fillBody(minFree = 1): Promise<number | null> {
    this.#armFor(Deadline.BodyRead);
    try {
      return await this.reader.fill(minFree);
    } finally {
      this.#armForPhase();
    }
  }

  bodyEnded(): void {
    this.#watch?.start();
  }

  // SignalHost: only requests whose handler asks for the signal get here.
  watchDisconnect(req: HttpRequest): AbortSignal {
    // Asked after its response (the connection may serve another request
    // by now): nothing left to watch.
    if (this.#req !== req || this.#phase !== ConnPhase.Busy) return new AbortController().signal;
    const head = this.#head!;
    // A request that may be taken over keeps no read pending: the target
    // gets the conn and every byte read so far.
    const watch = new DisconnectWatch(this, head.upgrade === null && head.method !== "CONNECT");
    this.#watch = watch;
    if (this.#body!.done) watch.start();
    return watch.signal;
  }

  // WatchHost
  clientGone(): void {
    this.#closing = true;
  }

  /** Ends the watch of the request that just finished (see #watchRead). */
  #endWatch(): void {
    this.#watchRead = this.#watch!.stop();
    this.#watch = null;
  }

  // ResponseHost
  closeAfterResponse(): boolean {
    const head = this.#head;
    if (this.#closing || head === null || !head.keepAlive) return true;
    // A body we will not be able to skip: close rather than misframe.
    return this.#bodyUnskippable && !(this.#body?.done ?? true);
  }

  /** Flushes under the write timeout. */
  async flush(): Promise<void> {
    if (this.writer.buffered === 0) return;
    this.#armFor(Deadline.Write);
    try {
      await this.writer.flush();
    } finally {
      this.#armForPhase();
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
    const bounded = (this.#phase === ConnPhase.Idle && this.#deadline !== Deadline.None) ||
      (this.#phase === ConnPhase.Head && this.#headDeadlineAt !== 0);
    // Bounded: no promise to wait on, the writer tells flushed() when done.
    if (bounded) this.writer.startFlush(this);
    else this.flush().then(this.#flushed, this.#flushed);
  }

  // FlushListener: a background flush is over.
  flushed(): void {
    this.#afterFlush();
  }

  /** A background flush settled: end a write deadline, finish a shutdown. */
  #afterFlush(): void {
    if (this.#deadline === Deadline.Write) this.#armForPhase();
    if (this.#closing && this.#waitingForRequest()) this.#closeIdle();
  }

  /** Whether the connection is between requests with nothing in flight. */
  #waitingForRequest(): boolean {
    if (this.writer.buffered > 0) return false;
    return this.#phase === ConnPhase.Idle ||
      (this.#phase === ConnPhase.Head && !this.#fed && this.reader.buffered === 0);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  #closeIdle(): void {
    this.#phase = ConnPhase.Closed;
    this.#armFor(Deadline.None);
    this.#close();
  }

  shutdown(): void {
    this.#closing = true;
    // A handler waiting on req.signal can stop now rather than at the timeout.
    this.#watch?.serverClosing();
    // Idle, or connected without a byte of a request: close now. With a
    // response still being written, close once it is out (#flushed).
    if (this.#waitingForRequest()) this.#closeIdle();
  }

  async #sendErrorAndClose(status: number, message: string): Promise<void> {
    // Bounded like any write: the client may have stopped reading.
    this.#armFor(Deadline.Write);
    const head = this.#head;
    this.#log(head, status, 0, head === null ? 0 : this.#started);
    try {
      this.writer.write(encodeRefusal(status, message, [], httpDate()));
      await this.writer.flush();
    } catch {
      // The peer is gone; nothing to tell it.
    } finally {
      this.#close();
    }
  }

  /**
   * Serves requests until the connection closes or a handler hands it to an
   * upgrade target; returns the takeover then, `null` otherwise.
   */
  async run(handler: Handler): Promise<PendingTakeover | null> {
    const server = this.#server;
    const reader = this.reader;
    const parser = this.#parser;
    try {
      this.#startHeadDeadline();
      for (;;) {
        // Read and parse a request head.
        let head: RequestHead | null = null;
        for (;;) {
          if (reader.buffered > 0) {
            if (this.#phase === ConnPhase.Idle) {
              this.#phase = ConnPhase.Head;
              // Armed below only if the head is not already complete.
              this.#headDeadlineAt = 0;
            }
            this.#fed = true;
            const at = reader.offset;
            reader.consume(parser.feed(reader.bytes, at, at + reader.buffered));
            if (parser.head !== null) {
              head = parser.head;
              break;
            }
            if (this.#headDeadlineAt === 0) this.#startHeadDeadline();
          }
          if (this.writer.buffered > 0) this.#flushBeforeRead();
          if (this.#phase === ConnPhase.Closed) return null;
          if (this.#closing && this.#phase === ConnPhase.Idle) return null;
          let n: number | null;
          if (this.#watchRead === null) {
            // fill() in two halves: one promise hop less per read.
            n = reader.endFill(await reader.beginFill());
          } else {
            // The read a disconnect watch left in flight (see #endWatch).
            const pending = this.#watchRead;
            this.#watchRead = null;
            n = await pending;
          }
          if (n === null) {
            // EOF. A partial head gets a 400; a clean close between requests is fine.
            if (this.#fed) {
              // Bytes that never formed a head.
              await this.#sendErrorAndClose(
                400,
                "Bad Request: connection ended inside a request head",
              );
            }
            return null;
          }
          if ((this.#phase as ConnPhase) === ConnPhase.Closed) return null;
        }
        this.#suspendDeadline();
        this.#phase = ConnPhase.Busy;
        let outcome = this.#dispatch(handler, head);
        if (outcome === AWAITING) {
          // The handler's promise, awaited here: no async frame of its own.
          const ret = this.#awaiting!;
          this.#awaiting = null;
          let target: HandlerResult = undefined;
          let failure: { err: unknown } | null = null;
          try {
            target = await ret;
          } catch (err) {
            failure = { err };
          }
          outcome = failure === null
            ? this.#complete(target ?? null)
            : this.#handlerFailed(failure.err);
        }
        if (outcome instanceof Promise) outcome = await outcome;
        if (this.#watch !== null) this.#endWatch();
        if (outcome !== true && outcome !== false) return await this.#takeover(outcome);
        // An idle keep-alive connection holds no request.
        this.#req = null;
        this.#res = null;
        this.#body = null;
        this.#head = null;
        parser.reset();
        this.#fed = false;
        if (!outcome) break;
        if (this.writer.buffered > server.maxOutputBuffer) await this.flush();
        if (this.#closing) break;
        this.#phase = ConnPhase.Idle;
        if (reader.buffered === 0) this.#armFor(Deadline.KeepAlive);
      }
      if (this.writer.buffered > 0) await this.flush();
      return null;
    } catch (err) {
      if (err instanceof HttpError) {
        this.#armFor(Deadline.None);
        this.#phase = ConnPhase.Closed;
        await this.#sendErrorAndClose(err.status, err.message);
        return null;
      }
      if (this.#phase === ConnPhase.Closed || isClosedError(err)) return null;
      throw err;
    } finally {
      if (this.#phase !== ConnPhase.Upgraded && this.writer.flushing) {
        // A response still on its way (the client may have half-closed).
        await this.flush().catch(noop);
      }
      this.#armFor(Deadline.None);
      if (this.#phase !== ConnPhase.Upgraded) {
        this.writer.close();
        this.#close();
      }
    }
  }

  /**
   * Runs one request; returns whether the connection stays open for more, or
   * the upgrade target the handler handed it to. Synchronous when the
   * handler is (no promise per request then).
   */
  #dispatch(handler: Handler, head: RequestHead): Outcome | Promise<Outcome> | typeof AWAITING {
    const server = this.#server;
    this.#head = head;
    this.#continueSent = false;
    this.#bodyUnskippable = false;
    this.#started = server.logger !== null ? Date.now() : 0;
    if (head.contentLength > server.maxBodySize) {
      // Too large to read and too large to skip.
      throw new HttpError(
        HttpErrorCode.BodyTooLarge,
        `Content Too Large: request body of ${head.contentLength} bytes exceeds the limit of ${server.maxBodySize}`,
      );
    }
    const expect = head.hasExpect && !head.expectContinue ? head.headers.get("expect") : null;
    if (expect !== null) {
      throw new HttpError(
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
    const req = new HttpRequest(head, body, this.#conn.remoteAddr, this);
    const res = new HttpResponse(this, head.method === "HEAD", head.version === "HTTP/1.0");
    this.#req = req;
    this.#res = res;
    let ret: HandlerResult | Promise<HandlerResult>;
    try {
      ret = handler.handle(req, res);
    } catch (err) {
      return this.#handlerFailed(err);
    }
    if (ret === undefined) return this.#complete(null);
    if (ret instanceof Promise) {
      // run() awaits it and completes the request.
      this.#awaiting = ret;
      return AWAITING;
    }
    return this.#complete(ret);
  }

  /** After the handler returned: upgrade, finish the response, skip the body. */
  #complete(target: UpgradeTarget | null): Outcome | Promise<Outcome> {
    const res = this.#res!;
    const head = this.#head!;
    if (target !== null) {
      if (res.headersSent) {
        return this.#handlerFailed(
          new TypeError(`Cannot upgrade ${head.method} ${head.target}: a response was started`),
        );
      }
      if (this.#watch?.reading) {
        // The watch's read cannot be handed to the target, and waiting for
        // it would hang a target that speaks first.
        return this.#handlerFailed(
          new TypeError(
            `Cannot take over ${head.method} ${head.target}: req.signal keeps a read pending ` +
              "on the connection (only requests that are not taken over can be watched)",
          ),
        );
      }
      // Logged once the target answered (TakeoverRecord).
      return target;
    }
    if (!res.headersSent) {
      return this.#handlerFailed(
        new Error(`Handler returned without responding to ${head.method} ${head.target}`),
      );
    }
    if (!res.finished) return this.#endThenFinish();
    this.#log(head, res.status, res.bytesSent, this.#started);
    if (res.closesConnection) return false;
    const body = this.#body!;
    if (body.done) return true;
    return this.#finishBody(body);
  }

  async #endThenFinish(): Promise<Outcome> {
    await this.#res!.end();
    return await this.#complete(null);
  }

  /** A handler threw or rejected (or did not respond). */
  #handlerFailed(err: unknown): Outcome | Promise<Outcome> {
    const res = this.#res!;
    const body = this.#body!;
    const server = this.#server;
    const hook = server.errorHandler;
    const bodyBroke = body.error !== null && body.error === err;
    if (!res.headersSent) {
      // Without a hook, the server answers an HttpError itself (and closes);
      // a body that failed on I/O leaves nothing to answer on.
      if (err instanceof HttpError && hook === null) throw err;
      if (bodyBroke && !(err instanceof HttpError)) throw err;
    }
    if (!(err instanceof HttpError) || res.headersSent) this.#report(err);
    if (res.headersSent) {
      // Mid-response, the only honest signal left is to close.
      this.#log(this.#head, res.status, res.bytesSent, this.#started);
      return false;
    }
    // A client error leaves the connection usable, unless it broke the body.
    if (!(err instanceof HttpError) || bodyBroke) this.#closing = true;
    // A fresh response: headers the failed handler set are not sent.
    const head = this.#head!;
    const fresh = new HttpResponse(this, head.method === "HEAD", head.version === "HTTP/1.0");
    this.#res = fresh;
    if (hook === null) return this.#answerError(err);
    let ret: void | Promise<void>;
    try {
      ret = hook.handleError(err, this.#req!, fresh);
    } catch (hookErr) {
      return this.#errorHookFailed(hookErr, err);
    }
    if (ret instanceof Promise) return this.#awaitErrorHook(ret, err);
    return this.#afterErrorHook(err);
  }

  async #awaitErrorHook(ret: Promise<void>, err: unknown): Promise<Outcome> {
    try {
      await ret;
    } catch (hookErr) {
      return await this.#errorHookFailed(hookErr, err);
    }
    return await this.#afterErrorHook(err);
  }

  #afterErrorHook(err: unknown): Outcome | Promise<Outcome> {
    if (!this.#res!.headersSent) return this.#answerError(err);
    return this.#complete(null);
  }

  #errorHookFailed(hookErr: unknown, err: unknown): Outcome | Promise<Outcome> {
    this.#report(hookErr);
    this.#closing = true;
    const res = this.#res!;
    if (!res.headersSent) return this.#answerError(err);
    this.#log(this.#head, res.status, res.bytesSent, this.#started);
    return false;
  }

  /** The default answer to a handler's error, on a fresh response. */
  #answerError(err: unknown): Outcome | Promise<Outcome> {
    const res = this.#res!;
    const status = err instanceof HttpError ? err.status : 500;
    res.status = status;
    res.send(err instanceof HttpError ? err.message + "\n" : STATUS_TEXT[500] + "\n");
    return this.#complete(null);
  }

  #report(err: unknown): void {
    const server = this.#server;
    server.reporter?.report(err, "handler");
    if (server.reporter === null && !(err instanceof HttpError)) {
      // deno-lint-ignore no-console
      console.error("coroio/http: handler error:", err);
    }
  }

  async #finishBody(body: RequestBody): Promise<boolean> {
    if (body.done) return true;
    if (body.error !== null) return false;
    return await body.drain(this.#server.maxDrainSize);
  }

  #log(head: RequestHead | null, status: number, bytes: number, started: number): void {
    if (this.#server.logger !== null) {
      logResponse(this.#server, head, this.#conn, status, bytes, started);
    }
  }

  /**
   * Flushes earlier responses and detaches the conn: from here the target
   * owns it, and nothing of this connection's HTTP state stays reachable
   * from what is returned but the request.
   */
  async #takeover(target: UpgradeTarget): Promise<PendingTakeover> {
    const request = this.#req!;
    await this.flush();
    // A watch read of a handler that took over a plain request: its bytes
    // belong to the target (an Upgrade request is never watched).
    if (this.#watchRead !== null) {
      const pending = this.#watchRead;
      this.#watchRead = null;
      await pending;
    }
    this.writer.close();
    const { conn, buffered } = this.reader.detach();
    this.#phase = ConnPhase.Upgraded;
    this.#armFor(Deadline.None);
    const takeover = new TakeoverRecord(this.#server, request, conn, buffered, this.#started);
    return { slot: this.#slot, target, takeover };
  }
}
