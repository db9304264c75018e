import {
  type Handler,
  type HandlerResult,
  HttpError,
  type HttpRequest,
  type HttpResponse,
  HttpServer,
  type HttpServerOptions,
} from "@coroio/http";
import { LazyRequest, type RequestContext } from "./request.ts";
import { blobSize, fastStatus, onlyContentType, untouchedBody, wholeBody } from "./_whole_body.ts";
import { sendCompressed, sendWholeNow, wantsCompression } from "./_compress.ts";
import { upgradeTargetOf } from "./websocket.ts";

/** What a fetch handler receives besides the request, as with `Deno.serve`. */
export interface ServeHandlerInfo {
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** Settles once the response was written (or failed). */
  readonly completed: Promise<void>;
}

/** A fetch-API handler, as `Deno.serve` takes. */
export type ServeHandler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;

/**
 * Options of {@linkcode serve}: `Deno.serve`'s (`hostname`, `port`,
 * `signal`, `onListen`, `onError`, `cert`/`key`, `reusePort`) and the
 * server's limits, timeouts and access log.
 */
export interface ServeOptions extends Omit<HttpServerOptions, "hostname" | "port" | "signal"> {
  /** The interface to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** The port; 0 picks a free one. @default {8000} */
  port?: number;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Several processes may listen on the port (Linux). */
  reusePort?: boolean;
  /** Called once the server listens. @default {prints the address} */
  onListen?: (localAddr: Deno.NetAddr) => void;
  /**
   * Makes the response for an error the handler threw.
   * @default {logs the error and answers 500}
   */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** PEM certificate chain: with `key`, serve HTTPS (ALPN `http/1.1`). */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /**
   * Compress response bodies (gzip or Brotli, by the request's
   * `Accept-Encoding`) with `Deno.serve`'s rules: at least 64 bytes,
   * compressible types (text, JSON, JS, XML, SVG, WASM), `Vary:
   * Accept-Encoding`, a weak `ETag`, never under `Cache-Control:
   * no-transform`, for a range (206, `Content-Range`), or when the response
   * has `Content-Encoding` already. `node:zlib` is loaded when the first
   * response is compressed. Off by default, as in `Deno.serve` (Deno 2.9.6).
   * @default {false}
   */
  compression?: boolean;
  /** `Deno.serve`'s name for {@linkcode ServeOptions.compression}. @default {false} */
  automaticCompression?: boolean;
}

/** {@linkcode ServeOptions} with the handler in it, `Deno.serve`'s third form. */
export interface ServeInit extends ServeOptions {
  /** The handler. */
  handler: ServeHandler;
}

/**
 * A running server, shaped like `Deno.HttpServer`.
 */
export class Server implements AsyncDisposable {
  #http: HttpServer;
  #listener: Deno.Listener;
  #adapter: FetchAdapter;
  #finished: Promise<void>;

  /**
   * Starts serving; {@linkcode serve} does this.
   *
   * @param handler The fetch handler.
   * @param options The options.
   */
  constructor(handler: ServeHandler, options: ServeOptions) {
    const {
      hostname = "0.0.0.0",
      port = 8000,
      signal,
      onListen,
      onError,
      cert,
      key,
      reusePort,
      compression,
      automaticCompression,
      ...limits
    } = options;
    if (typeof handler !== "function") {
      throw new TypeError("Cannot serve: the handler must be a function");
    }
    if ((cert === undefined) !== (key === undefined)) {
      throw new TypeError("Cannot serve over TLS: give both cert and key");
    }
    const secure = cert !== undefined;
    this.#listener = secure
      ? Deno.listenTls(
        {
          hostname,
          port,
          cert,
          key: key!,
          alpnProtocols: ["http/1.1"],
          ...(reusePort ? { reusePort } : {}),
        } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
      )
      : Deno.listen({ hostname, port, ...(reusePort ? { reusePort } : {}) });
    const addr = this.#listener.addr as Deno.NetAddr;
    this.#adapter = new FetchAdapter(
      handler,
      onError ?? defaultOnError,
      secure,
      addr,
      (compression ?? automaticCompression) === true,
    );
    try {
      this.#http = new HttpServer(this.#adapter, limits);
      this.#finished = this.#http.serve(this.#listener);
    } catch (err) {
      this.#listener.close();
      throw err;
    }
    if (signal !== undefined) {
      if (signal.aborted) this.shutdown();
      else signal.addEventListener("abort", this, { once: true });
    }
    try {
      (onListen ?? defaultOnListen)(addr);
    } catch (err) {
      this.shutdown();
      throw err;
    }
  }

  /** Resolves once the server stopped. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /**
   * Stops accepting, aborts the signals of requests in flight, and waits
   * for them to finish (up to `shutdownTimeout`).
   *
   * @returns A promise that resolves once the server stopped.
   */
  async shutdown(): Promise<void> {
    this.#adapter.abortAll();
    await this.#http.shutdown();
  }

  /** Lets the process exit only when the server stops (the default). */
  ref(): void {
    this.#listener.ref();
  }

  /** Lets the process exit while the server runs. */
  unref(): void {
    this.#listener.unref();
  }

  /**
   * The signal's abort listener.
   *
   * @ignore
   */
  handleEvent(): void {
    this.shutdown();
  }

  /**
   * Shuts down, for `await using`.
   *
   * @returns A promise that resolves once the server stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/**
 * Serves a fetch-API handler on `@coroio/http`, with the overloads and
 * behaviour of `Deno.serve`: `serve(handler)`, `serve(options, handler)`,
 * `serve({ ...options, handler })`. Change the import of a `Deno.serve`
 * program (or `serve(app.fetch)` for hono) and it runs on coroio's parser,
 * limits and pipelining.
 *
 * @example Hello
 * ```ts
 * import { serve } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(`hello ${new URL(req.url).pathname}`));
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/x`);
 * equal(await res.text(), "hello /x");
 * await server.shutdown();
 * ```
 *
 * @param handlerOrOptions The handler, or the options.
 * @param maybeHandler The handler, when the options come first.
 * @returns The running server.
 * @throws {TypeError} If no handler is given.
 */
export function serve(handler: ServeHandler): Server;
/**
 * Serves a fetch-API handler with options, as `Deno.serve(options, handler)`.
 *
 * @example With options first
 * ```ts
 * import { serve } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("a"));
 * equal(await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text(), "a");
 * await server.shutdown();
 * ```
 *
 * @param options The options.
 * @param handler The handler.
 * @returns The running server.
 */
export function serve(options: ServeOptions, handler: ServeHandler): Server;
/**
 * Serves a fetch-API handler given with the options, as
 * `Deno.serve({ ...options, handler })`.
 *
 * @example Handler inside the options
 * ```ts
 * import { serve } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {}, handler: () => new Response("b") });
 * equal(await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text(), "b");
 * await server.shutdown();
 * ```
 *
 * @param init The options and the handler.
 * @returns The running server.
 */
export function serve(init: ServeInit): Server;
export function serve(
  handlerOrOptions: ServeHandler | ServeOptions | ServeInit,
  maybeHandler?: ServeHandler,
): Server {
  if (typeof handlerOrOptions === "function") return new Server(handlerOrOptions, {});
  if (typeof maybeHandler === "function") return new Server(maybeHandler, handlerOrOptions);
  const { handler, ...options } = handlerOrOptions as ServeInit;
  if (typeof handler !== "function") {
    throw new TypeError("Cannot serve: no handler was given");
  }
  return new Server(handler, options);
}

function defaultOnListen(addr: Deno.NetAddr): void {
  const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
  // deno-lint-ignore no-console
  console.log(`Listening on http://${host}:${addr.port}/`);
}

function defaultOnError(error: unknown): Response {
  // deno-lint-ignore no-console
  console.error(error);
  return new Response("Internal Server Error", { status: 500 });
}

/** The info object handed to the handler with each request. */
class Info implements ServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  #done: PromiseWithResolvers<void> | null = null;
  #settled = false;
  constructor(remoteAddr: Deno.NetAddr) {
    this.remoteAddr = remoteAddr;
  }
  get completed(): Promise<void> {
    if (this.#done === null) {
      this.#done = Promise.withResolvers<void>();
      if (this.#settled) this.#done.resolve();
    }
    return this.#done.promise;
  }
  settle(): void {
    this.#settled = true;
    this.#done?.resolve();
  }
}

/** The fetch handler adapted once into a `Handler` object. */
class FetchAdapter implements Handler, RequestContext {
  readonly scheme: string;
  readonly fallbackHost: string;
  #fn: ServeHandler;
  #onError: (error: unknown) => Response | Promise<Response>;
  #watched = new Set<LazyRequest>();
  #closing = false;
  readonly #compress: boolean;

  constructor(
    fn: ServeHandler,
    onError: (error: unknown) => Response | Promise<Response>,
    secure: boolean,
    addr: Deno.NetAddr,
    compress: boolean,
  ) {
    this.#fn = fn;
    this.#compress = compress;
    this.#onError = onError;
    this.scheme = secure ? "https://" : "http://";
    this.fallbackHost = `${
      addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
    }:${addr.port}`;
  }

  watch(req: LazyRequest): void {
    if (this.#closing) req.abort(new DOMException("The server is shutting down", "AbortError"));
    else this.#watched.add(req);
  }

  abortAll(): void {
    this.#closing = true;
    for (const req of this.#watched) {
      req.abort(new DOMException("The server is shutting down", "AbortError"));
    }
    this.#watched.clear();
  }

  handle(req: HttpRequest, res: HttpResponse): HandlerResult | Promise<HandlerResult> {
    const request = new LazyRequest(req, this);
    const info = new Info(req.remoteAddr as Deno.NetAddr);
    let out: Response | Promise<Response>;
    try {
      out = this.#fn(request as unknown as Request, info);
    } catch (err) {
      return this.#failed(err, request, info, res);
    }
    if (out instanceof Response) return this.#respond(out, request, info, res);
    return this.#await(out, request, info, res);
  }

  async #await(
    out: Promise<Response>,
    request: LazyRequest,
    info: Info,
    res: HttpResponse,
  ): Promise<HandlerResult> {
    let response: Response;
    try {
      response = await out;
    } catch (err) {
      return this.#failed(err, request, info, res);
    }
    return this.#respond(response, request, info, res);
  }

  async #failed(
    err: unknown,
    request: LazyRequest,
    info: Info,
    res: HttpResponse,
  ): Promise<HandlerResult> {
    // The server's own errors (413 for a body over the limit, 400 for a
    // malformed one) are answered by the server with their status.
    if (err instanceof HttpError) {
      this.#done(request, info);
      throw err;
    }
    let response: Response;
    try {
      response = await this.#onError(err);
      if (!(response instanceof Response)) throw new TypeError("onError must return a Response");
    } catch (err2) {
      this.#done(request, info);
      throw err2;
    }
    return this.#respond(response, request, info, res);
  }

  #respond(
    response: Response,
    request: LazyRequest,
    info: Info,
    res: HttpResponse,
  ): HandlerResult | Promise<HandlerResult> {
    if (!(response instanceof Response)) {
      return this.#failed(
        new TypeError(
          "Return value from serve handler must be a response or a promise resolving to a response",
        ),
        request,
        info,
        res,
      );
    }
    // Read once: the getter checks its receiver on every call.
    const status = fastStatus(response);
    if (status === 101) {
      const target = upgradeTargetOf(response);
      if (target !== undefined) {
        this.#done(request, info);
        return target;
      }
    }
    let body: ReadableStream<Uint8Array> | null;
    try {
      res.status = status;
      // `bodyUsed` would turn an untouched string body into a stream first.
      const whole = untouchedBody(response) ??
        (response.bodyUsed ? undefined : wholeBody(response));
      const type = onlyContentType(response);
      if (type !== undefined) res.setHeader("Content-Type", type);
      else for (const [name, value] of response.headers) res.appendHeader(name, value);
      if (this.#compress && wantsCompression(request.raw)) {
        if (sendWholeNow(request.raw, res, whole)) {
          this.#done(request, info);
          return;
        }
        return this.#compressed(response, whole, request, info, res);
      }
      if (whole !== undefined) {
        // A string or bytes: one write, no stream, no await.
        res.send(whole);
        this.#done(request, info);
        return;
      }
      body = response.body;
      if (body !== null && res.getHeader("content-length") === null) {
        // A Blob, File or FormData body: its size is known, so it goes out
        // with Content-Length instead of chunked.
        const size = blobSize(response);
        if (size >= 0) res.setHeader("Content-Length", String(size));
      }
      if (body === null) {
        if (request.raw.method === "HEAD" && response.headers.has("content-length")) {
          // Keep the length the application gave (the GET length).
          return this.#headOnly(request, info, res);
        }
        res.send(null);
        this.#done(request, info);
        return;
      }
    } catch (err) {
      // A status the server cannot send (Response.error() has 0): the server
      // answers 500.
      this.#done(request, info);
      throw err;
    }
    return this.#pipe(body, request, info, res);
  }

  async #compressed(
    response: Response,
    whole: string | Uint8Array | undefined,
    request: LazyRequest,
    info: Info,
    res: HttpResponse,
  ): Promise<void> {
    try {
      const body = whole === undefined ? response.body : null;
      await sendCompressed(request.raw, res, whole, body, body === null ? -1 : blobSize(response));
    } catch (err) {
      request.abort(err);
      if (!res.headersSent) throw err;
    } finally {
      this.#done(request, info);
    }
  }

  async #headOnly(request: LazyRequest, info: Info, res: HttpResponse): Promise<void> {
    try {
      await res.end(new Uint8Array(0)).catch(ignore);
    } finally {
      this.#done(request, info);
    }
  }

  async #pipe(
    body: ReadableStream<Uint8Array>,
    request: LazyRequest,
    info: Info,
    res: HttpResponse,
  ): Promise<void> {
    const reader = body.getReader();
    try {
      const first = await reader.read();
      if (first.done) {
        res.send(null);
        return;
      }
      // A body made from a string, bytes or a Blob is a stream that is
      // already closed here: its end is known without waiting. A real
      // stream's next chunk may be far off; the first is written now.
      const next = reader.read();
      const second = await Promise.race([next, NOT_YET]);
      if (second === null) {
        await res.write(chunkOf(first.value));
        await this.#rest(reader, next, res);
        return;
      }
      if (second.done) {
        // A whole body in one piece (a string, bytes, a Blob): Content-Length.
        res.send(chunkOf(first.value));
        return;
      }
      if (request.raw.method === "HEAD") {
        reader.cancel().catch(ignore);
        await res.end();
        return;
      }
      await res.write(chunkOf(first.value));
      await res.write(chunkOf(second.value));
      await this.#rest(reader, reader.read(), res);
    } catch (err) {
      // The client went away (a write failed) or the stream errored: the
      // server closes the connection; tell the application.
      request.abort(err);
      reader.cancel(err).catch(ignore);
      if (!res.headersSent) throw err;
    } finally {
      this.#done(request, info);
    }
  }

  async #rest(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    pending: Promise<ReadableStreamReadResult<Uint8Array>>,
    res: HttpResponse,
  ): Promise<void> {
    for (let r = await pending; !r.done; r = await reader.read()) {
      await res.write(chunkOf(r.value));
    }
    await res.end();
  }

  #done(request: LazyRequest, info: Info): void {
    if (request.watched) {
      this.#watched.delete(request);
      // As Deno.serve does by default (its "legacy abort"): the signal also
      // aborts once the response is done, so cleanup hung on it runs.
      request.abort(new DOMException("The request has been cancelled.", "AbortError"));
    }
    info.settle();
  }
}

function chunkOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError("Cannot write response body: a chunk is not a Uint8Array");
}

function ignore(): void {}

// Settled already: a race against it tells whether a promise has settled.
const NOT_YET: Promise<null> = Promise.resolve(null);
