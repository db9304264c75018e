import type { BufReader } from "@coroio/core";
import type { ChunkedDecoder } from "@coroio/core/http1";
import { HttpError, HttpErrorCode } from "@coroio/core/http1";
import type { HeaderList } from "@coroio/core/http1";
import type { RequestHead } from "@coroio/core/http1";
import type { BodyHost, SignalHost } from "./_hosts.ts";

const EMPTY = new Uint8Array(0);

const decoder = new TextDecoder();
/** The largest body {@linkcode RequestBody.prototype.borrow} lends from the read buffer. */
const BORROW_MAX = 64 * 1024;

/**
 * The body of a request, read from the connection as the handler asks for
 * it. Size-limited: past the server's `maxBodySize` a read throws an
 * {@linkcode HttpError} with status 413. A body the handler leaves unread is
 * drained by the server (or the connection closed) so that the next request
 * on the connection is framed correctly.
 *
 * @example Reading a body whole
 * ```ts
 * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements Handler {
 *   async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
 *     res.send(await req.body.bytes());
 *   }
 * }
 * const server = new HttpServer(new Echo(), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "ping" });
 * equal(await res.text(), "ping");
 * await server.shutdown();
 * ```
 */
export class RequestBody {
  #host: BodyHost | null;
  #chunked: ChunkedDecoder | null = null;
  #remaining: number;
  #received = 0;
  #limit: number;
  #done: boolean;
  #started = false;
  #failed: unknown = null;
  #trailers: HeaderList | null = null;
  /** Whether the client waits for `100 Continue` before it sends the body. */
  #expectContinue: boolean;

  /**
   * Creates the body of a request; the server does this.
   *
   * @ignore
   * @param host The connection to read from, or `null` for no body.
   * @param head The request head (its framing fields).
   * @param limit The most body bytes accepted.
   */
  constructor(host: BodyHost | null, head: RequestHead | null, limit: number) {
    this.#host = host;
    this.#limit = limit;
    this.#expectContinue = head !== null && head.expectContinue;
    if (host === null || head === null) {
      this.#remaining = 0;
      this.#done = true;
    } else if (head.chunked) {
      this.#remaining = -1;
      this.#done = false;
      this.#chunked = host.chunkedDecoder();
      this.#chunked.reset();
    } else {
      this.#remaining = head.contentLength > 0 ? head.contentLength : 0;
      this.#done = this.#remaining === 0;
    }
  }

  /**
   * The declared length (`Content-Length`), or `null` when chunked or absent.
   *
   * @returns Bytes, or `null`.
   */
  get length(): number | null {
    return this.#chunked !== null ? null : this.#remaining + this.#received;
  }

  /**
   * Whether the whole body has been read.
   *
   * @returns `true` once `read()` returned `null` or there was no body.
   */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Whether the handler started reading.
   *
   * @returns `true` after the first `read()`.
   */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Bytes of body received so far.
   *
   * @returns The count.
   */
  get received(): number {
    return this.#received;
  }

  /**
   * The error that broke the body, if reading failed.
   *
   * @returns The error, or `null`.
   */
  get error(): unknown {
    return this.#failed;
  }

  /**
   * Trailer fields of a chunked body, once it has been read whole.
   *
   * @returns The trailers, or `null`.
   */
  get trailers(): HeaderList | null {
    return this.#trailers;
  }

  /**
   * Reads the next piece of the body. Sends `100 Continue` first when the
   * client asked for it.
   *
   * @returns A view of the next bytes (valid until the next read), or `null`
   * at the end of the body.
   * @throws {HttpError} 400 if the body is malformed or the connection ends
   * early, 413 if it is larger than the limit.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    if (this.#failed !== null) throw this.#failed;
    const host = this.#host!;
    if (!this.#started) {
      this.#started = true;
      if (this.#remaining > this.#limit) {
        this.#fail(tooLarge(this.#limit));
      }
      await host.continueIfExpected();
    }
    try {
      return this.#chunked === null
        ? await this.#readLength(host.reader)
        : await this.#readChunked(host.reader, this.#chunked);
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): never {
    this.#failed = err;
    throw err;
  }

  async #readLength(reader: BufReader): Promise<Uint8Array> {
    if (reader.buffered === 0) {
      const n = await this.#host!.fillBody();
      if (n === null) throw truncated(this.#received, this.#remaining);
    }
    const view = reader.peek();
    const n = view.length < this.#remaining ? view.length : this.#remaining;
    reader.consume(n);
    this.#remaining -= n;
    this.#received += n;
    if (this.#remaining === 0) {
      this.#done = true;
      this.#host!.bodyEnded?.();
    }
    return view.subarray(0, n);
  }

  async #readChunked(reader: BufReader, dec: ChunkedDecoder): Promise<Uint8Array | null> {
    for (;;) {
      const view = reader.peek();
      // Every decode() call forgets the previous data span (even on empty input).
      const n = dec.decode(view);
      reader.consume(n);
      if (dec.dataLength > 0) {
        const len = dec.dataLength;
        this.#received += len;
        if (this.#received > this.#limit) throw tooLarge(this.#limit);
        const data = view.subarray(dec.dataStart, dec.dataStart + len);
        if (dec.done) this.#finishChunked(dec);
        return data;
      }
      if (dec.done) {
        this.#finishChunked(dec);
        return null;
      }
      if (n === 0 || reader.buffered === 0) {
        const got = await this.#host!.fillBody();
        if (got === null) throw truncated(this.#received, -1);
      }
    }
  }

  #finishChunked(dec: ChunkedDecoder): void {
    this.#done = true;
    this.#trailers = dec.trailers;
    this.#host!.bodyEnded?.();
  }

  /**
   * Reads the whole body into one array.
   *
   * @param limit The most bytes to accept (at most the server's limit).
   * @returns The body, in an array of its own (its `.buffer` holds this
   * body and nothing else). For zero-copy access, {@linkcode
   * RequestBody.prototype.read} returns views of the connection's buffer,
   * valid until the next read.
   * @throws {HttpError} 413 if the body is larger than `limit`, 400 if it is
   * malformed or cut short.
   */
  async bytes(limit: number = this.#limit): Promise<Uint8Array> {
    if (this.#done && this.#received === 0) return EMPTY;
    if (limit < this.#limit) this.#limit = limit;
    const declared = this.#chunked === null ? this.#remaining : -1;
    if (declared > this.#limit) {
      this.#started = true;
      this.#fail(tooLarge(this.#limit));
    }
    if (declared >= 0) {
      const out = new Uint8Array(declared);
      let at = 0;
      for (let chunk; (chunk = await this.read()) !== null;) {
        out.set(chunk, at);
        at += chunk.length;
      }
      return out;
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let chunk; (chunk = await this.read()) !== null;) {
      parts.push(chunk.slice());
      total += chunk.length;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /**
   * Reads the whole body without allocating: an explicit opt-in for
   * handlers that use the bytes at once (echo them, parse them) and keep
   * nothing. A `Content-Length` body of at most 64 KiB is returned as a view
   * of the connection's read buffer, valid only until the handler returns
   * (or its promise settles): the next request is read into the same
   * memory, and the view's `.buffer` holds other bytes of the connection.
   * Copy what you keep (`.slice()`), or use {@linkcode
   * RequestBody.prototype.bytes}, which returns an array of its own. A
   * chunked or larger body is returned as `bytes()` would (owned).
   *
   * @param limit The most bytes to accept (at most the server's limit).
   * @returns The body: a borrowed view, or an owned array.
   * @throws {HttpError} As {@linkcode RequestBody.prototype.bytes}.
   *
   * @example Echoing a body without a copy of its own
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class Echo implements Handler {
   *   async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
   *     // send() copies the bytes into the output buffer before returning.
   *     res.send(await req.body.borrow());
   *   }
   * }
   * const server = new HttpServer(new Echo(), { port: 0 });
   * const { port } = server.listen();
   * const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "ping" });
   * equal(await res.text(), "ping");
   * await server.shutdown();
   * ```
   */
  borrow(limit: number = this.#limit): Promise<Uint8Array> {
    const now = this.tryBorrow(limit);
    if (now !== null) return Promise.resolve(now);
    const declared = this.#chunked === null ? this.#remaining : -1;
    if (declared < 0 || declared > BORROW_MAX || this.#started || this.#failed !== null) {
      return this.bytes(limit);
    }
    return this.#borrowRead(limit, declared);
  }

  /**
   * {@linkcode RequestBody.prototype.borrow} without a promise, when it
   * can lend at once: a `Content-Length` body of at most 64 KiB (and at most
   * `limit` and the server's limit) that is all in the read buffer (a small
   * body usually comes in the read with its head), with no `100 Continue`
   * due, is returned as a view of the connection's read buffer, valid only
   * until the handler returns (or its promise settles). A request without a
   * body gives an empty array. Otherwise (part of the body still to come,
   * chunked, too large, a `100 Continue` due, or the body already read) it
   * returns `null` and leaves the body as it was: call `borrow()` then,
   * which waits for the rest, copies or throws as it does. A handler that
   * answers at once when the body is here costs no promise and no turn of
   * the event loop.
   *
   * @param limit The most bytes to lend (at most the server's limit).
   * @returns The body as a borrowed view, or `null`.
   *
   * @example A synchronous echo, with borrow() for the rest
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * let atOnce = 0;
   * class Echo implements Handler {
   *   handle(req: HttpRequest, res: HttpResponse): void | Promise<void> {
   *     const body = req.body.tryBorrow();
   *     if (body === null) return this.later(req, res);
   *     atOnce++;
   *     res.send(body); // send() copies the bytes before returning
   *   }
   *   async later(req: HttpRequest, res: HttpResponse): Promise<void> {
   *     res.send(await req.body.borrow());
   *   }
   * }
   * const server = new HttpServer(new Echo(), { port: 0 });
   * const { port } = server.listen();
   * // Head and body in one write, so they arrive in one read.
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
   * await conn.write(new TextEncoder().encode(
   *   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping",
   * ));
   * const reply = await new Response(conn.readable).text();
   * equal(reply.endsWith("\r\n\r\nping"), true);
   * equal(atOnce, 1);
   * await server.shutdown();
   * ```
   */
  tryBorrow(limit: number = this.#limit): Uint8Array | null {
    const declared = this.#chunked === null ? this.#remaining : -1;
    if (declared < 0 || declared > BORROW_MAX || this.#started || this.#failed !== null) {
      return null;
    }
    if (declared === 0) return EMPTY;
    if (
      this.#expectContinue || declared > limit || declared > this.#limit ||
      this.#host!.reader.buffered < declared
    ) {
      return null;
    }
    if (limit < this.#limit) this.#limit = limit;
    this.#started = true;
    return this.#lend(declared);
  }

  /** borrow() of a body still to be read (or after a 100 Continue). */
  async #borrowRead(limit: number, declared: number): Promise<Uint8Array> {
    if (limit < this.#limit) this.#limit = limit;
    this.#started = true;
    if (declared > this.#limit) this.#fail(tooLarge(this.#limit));
    const host = this.#host!;
    const reader = host.reader;
    try {
      await host.continueIfExpected();
      while (reader.buffered < declared) {
        if (await host.fillBody(declared - reader.buffered) === null) {
          throw truncated(this.#received + reader.buffered, declared - reader.buffered);
        }
      }
    } catch (err) {
      this.#fail(err);
    }
    return this.#lend(declared);
  }

  /** The `declared` buffered bytes of the body, as a view of the read buffer. */
  #lend(declared: number): Uint8Array {
    const host = this.#host!;
    const reader = host.reader;
    const view = reader.peek(declared);
    reader.consume(declared);
    this.#remaining = 0;
    this.#received = declared;
    this.#done = true;
    host.bodyEnded?.();
    return view;
  }

  /**
   * Reads the whole body as UTF-8 text (invalid sequences are replaced).
   *
   * @param limit The most bytes to accept.
   * @returns The text.
   * @throws {HttpError} As {@linkcode RequestBody.prototype.bytes}.
   */
  async text(limit?: number): Promise<string> {
    // Decoding copies: the borrowed bytes are not kept.
    return decoder.decode(await this.borrow(limit));
  }

  /**
   * Reads the whole body and parses it as JSON.
   *
   * @param limit The most bytes to accept.
   * @returns The parsed value.
   * @throws {HttpError} 400 if it is not valid JSON; as `bytes()` otherwise.
   */
  async json(limit?: number): Promise<unknown> {
    const text = await this.text(limit);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new HttpError(
        HttpErrorCode.InvalidBody,
        "Cannot parse request body: invalid JSON",
        {
          cause: err,
        },
      );
    }
  }

  /**
   * The body as a web `ReadableStream` (each chunk a copy).
   *
   * @returns A stream of the remaining body.
   */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(new BodySource(this), { highWaterMark: 0 });
  }

  /**
   * Reads and discards what is left of the body, up to `max` bytes.
   *
   * @param max The most bytes to discard.
   * @returns `true` if the body was fully consumed, `false` if more than
   * `max` bytes remained or reading failed.
   */
  async drain(max: number): Promise<boolean> {
    if (this.#done) return true;
    if (this.#failed !== null) return false;
    if (this.#chunked === null && this.#remaining > max) return false;
    let dropped = 0;
    try {
      for (let chunk; (chunk = await this.read()) !== null;) {
        dropped += chunk.length;
        if (dropped > max) return false;
      }
    } catch {
      return false;
    }
    return true;
  }
}

class BodySource implements UnderlyingDefaultSource<Uint8Array> {
  #body: RequestBody;
  constructor(body: RequestBody) {
    this.#body = body;
  }
  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const chunk = await this.#body.read();
    if (chunk === null) controller.close();
    else controller.enqueue(chunk.slice());
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    HttpErrorCode.BodyTooLarge,
    `Cannot read request body: larger than the limit of ${limit} bytes`,
  );
}

function truncated(received: number, remaining: number): HttpError {
  const what = remaining >= 0 ? `${remaining} bytes short` : "before the last chunk";
  return new HttpError(
    HttpErrorCode.IncompleteRequest,
    `Cannot read request body: connection ended after ${received} bytes, ${what}`,
  );
}

/**
 * A request as a handler sees it: the parsed head, route parameters, the
 * peer address and the body.
 *
 * @example Reading parts of a request
 * ```ts
 * import { type Handler, type HttpRequest, type HttpResponse, HttpServer, Router } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Show implements Handler {
 *   handle(req: HttpRequest, res: HttpResponse): void {
 *     res.send(`${req.method} ${req.path} ${req.query} id=${req.params.id} x=${req.headers.get("x-tag")}`);
 *   }
 * }
 * const server = new HttpServer(new Router().get("/users/:id", new Show()), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/users/7?full=1`, { headers: { "X-Tag": "t" } });
 * equal(await res.text(), "GET /users/7 full=1 id=7 x=t");
 * await server.shutdown();
 * ```
 */
export class HttpRequest {
  /** The parsed head. */
  readonly head: RequestHead;
  /** The body. */
  readonly body: RequestBody;
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Route parameters (`/users/:id` gives `params.id`), set by the router. */
  params: Record<string, string>;
  #url: string | null = null;
  #searchParams: URLSearchParams | null = null;
  #signalHost: SignalHost | null;
  #signal: AbortSignal | null = null;

  /**
   * Creates a request; the server does this.
   *
   * @ignore
   * @param head The parsed head.
   * @param body The body.
   * @param remoteAddr The peer's address.
   * @param signalHost The connection, which watches for the client going away.
   */
  constructor(
    head: RequestHead,
    body: RequestBody,
    remoteAddr: Deno.Addr,
    signalHost: SignalHost | null = null,
  ) {
    this.head = head;
    this.body = body;
    this.remoteAddr = remoteAddr;
    this.params = NO_PARAMS;
    this.#signalHost = signalHost;
  }

  /**
   * A signal that aborts when the client goes away (closes or resets the
   * connection, or shuts down its sending side, as `Deno.serve` also takes
   * it) before the response is done, so a handler that waits (a
   * long poll, a slow query, a stream) can stop early, and when the server
   * shuts down. Its reason is a `DOMException` named `"AbortError"`; after a
   * client left, the connection closes after the response.
   *
   * The first access starts the watch, and only requests that ask pay for
   * it: once the body was read to its end (or there was none), the server
   * keeps one read pending on the connection. Bytes that arrive meanwhile
   * (a pipelined request) are kept for the next request and end the watch,
   * as does the end of the response. Until the body was read, and for a
   * request with `Upgrade` or `CONNECT` (which a handler may take over), a
   * client that leaves is noticed only when a write fails. Asked for after
   * the response, it is a signal that never aborts. A handler that asked
   * for it on another request and then returns an `UpgradeTarget` while the
   * watch's read is pending gets a `TypeError` (answered 500): that read
   * cannot be handed over.
   *
   * @returns The signal.
   *
   * @example Stopping work when the client leaves
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const aborted = Promise.withResolvers<string>();
   * class LongPoll implements Handler {
   *   async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
   *     const signal = req.signal;
   *     await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
   *     aborted.resolve((signal.reason as DOMException).name);
   *     res.send("too late");
   *   }
   * }
   * const server = new HttpServer(new LongPoll(), { port: 0 });
   * const { port } = server.listen();
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
   * await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
   * conn.close(); // the client leaves while the handler waits
   * equal(await aborted.promise, "AbortError");
   * await server.shutdown();
   * ```
   */
  get signal(): AbortSignal {
    return this.#signal ??= this.#signalHost?.watchDisconnect(this) ?? new AbortController().signal;
  }

  /**
   * The method, e.g. `"GET"`.
   *
   * @returns The method.
   */
  get method(): string {
    return this.head.method;
  }

  /**
   * The request target as sent.
   *
   * @returns The target.
   */
  get target(): string {
    return this.head.target;
  }

  /**
   * The target's path, without the query.
   *
   * @returns The path.
   */
  get path(): string {
    return this.head.path;
  }

  /**
   * The target's query, without `?`.
   *
   * @returns The query, or `""`.
   */
  get query(): string {
    return this.head.query;
  }

  /**
   * The header fields.
   *
   * @returns The case-insensitive header list.
   */
  get headers(): HeaderList {
    return this.head.headers;
  }

  /**
   * The full URL of the request as a string (the shape of `Request.url`),
   * built on first access and cached: `http://` + the `Host` header + the
   * target for an origin-form target (`/p?q`); an absolute-form target
   * (`http://h/p?q`) as sent; for `OPTIONS *` and `CONNECT h:p`, the root
   * of that authority (`http://h/`). A request without `Host` (HTTP/1.0)
   * gets `localhost`. The scheme is always `http`. The string is not
   * normalized or validated: pass it to `new URL()` when you need the parts
   * (a malformed `Host` makes that throw); for the path and query alone,
   * {@linkcode HttpRequest.path} and {@linkcode HttpRequest.query} cost
   * nothing.
   *
   * @returns The URL.
   *
   * @example The URL of a request
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class ShowUrl implements Handler {
   *   handle(req: HttpRequest, res: HttpResponse): void {
   *     res.send(req.url);
   *   }
   * }
   * const server = new HttpServer(new ShowUrl(), { port: 0 });
   * const { port } = server.listen();
   * const res = await fetch(`http://127.0.0.1:${port}/a/b?x=1`);
   * equal(await res.text(), `http://127.0.0.1:${port}/a/b?x=1`);
   * await server.shutdown();
   * ```
   */
  get url(): string {
    return this.#url ??= requestUrl(this.head);
  }

  /**
   * The query parsed as `application/x-www-form-urlencoded`, built on first
   * access and cached.
   *
   * @returns The parameters (a live object: changes stay on this request).
   *
   * @example Reading query parameters
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class Search implements Handler {
   *   handle(req: HttpRequest, res: HttpResponse): void {
   *     const q = req.searchParams;
   *     res.send(`${q.get("q")} ${q.getAll("tag").join("+")}`);
   *   }
   * }
   * const server = new HttpServer(new Search(), { port: 0 });
   * const { port } = server.listen();
   * const res = await fetch(`http://127.0.0.1:${port}/s?q=deno%20http&tag=a&tag=b`);
   * equal(await res.text(), "deno http a+b");
   * await server.shutdown();
   * ```
   */
  get searchParams(): URLSearchParams {
    return this.#searchParams ??= new URLSearchParams(this.head.query);
  }
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The URL string of a request (see {@linkcode HttpRequest.url}). */
function requestUrl(head: RequestHead): string {
  const target = head.target;
  if (target.charCodeAt(0) === 0x2f /* / */) {
    return "http://" + (head.headers.get("host") ?? "localhost") + target;
  }
  if (head.method !== "CONNECT" && target !== "*") return target; // absolute form, as sent
  return "http://" + (target === "*" ? head.headers.get("host") ?? "localhost" : target) + "/";
}
