// The lazy Fetch API request: an object whose prototype chain reaches
// `Request.prototype` (so `instanceof Request` holds) and that builds only
// what the application touches. Members it does not cover are forwarded to a
// real `Request`, made once on first use. Globals are never replaced.
import type { HttpRequest } from "@coroio/http";

const decoder = new TextDecoder();

/** Where a lazy request finds per-server facts; one object per server. */
export interface RequestContext {
  /** `"http://"` or `"https://"`. */
  readonly scheme: string;
  /** `host:port` used when the request has no `Host` field. */
  readonly fallbackHost: string;
  /** Registers a request whose signal must abort at shutdown. */
  watch(req: LazyRequest): void;
}

const OWN = new Set<string | symbol>();

/**
 * A `Request` built on demand over the server's parsed request. Created by
 * the adapter; applications see it as a `Request`.
 */
export class LazyRequest {
  /** The parsed request, valid while the handler runs. */
  readonly raw: HttpRequest;
  #ctx: RequestContext;
  #url: string | null = null;
  #headers: Headers | null = null;
  #abort: AbortController | null = null;
  #real: Request | null = null;
  #used = false;

  /**
   * Wraps a parsed request.
   *
   * @param raw The parsed request.
   * @param ctx The server's context.
   */
  constructor(raw: HttpRequest, ctx: RequestContext) {
    this.raw = raw;
    this.#ctx = ctx;
  }

  /** The method. */
  get method(): string {
    return this.raw.method;
  }

  /** The absolute URL, built from the scheme, `Host` and the target. */
  get url(): string {
    if (this.#url === null) {
      const target = this.raw.target;
      if (target.charCodeAt(0) !== 0x2f /* / */ && /^https?:\/\//i.test(target)) {
        this.#url = target;
      } else {
        const host = this.raw.headers.get("host") ?? this.#ctx.fallbackHost;
        this.#url = this.#ctx.scheme + host + (target === "*" ? "/" : target);
      }
    }
    return this.#url;
  }

  /** The header fields, copied once from the parsed list. */
  get headers(): Headers {
    return this.#headers ??= this.raw.headers.toHeaders();
  }

  /**
   * Aborts when the client goes away (the connection watches for that from
   * the first access, once the body was read), when the server shuts down,
   * and once the response is done (as `Deno.serve` does).
   */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      this.#ctx.watch(this);
      const gone = this.raw.signal;
      if (gone.aborted) this.abort(gone.reason);
      else gone.addEventListener("abort", this, { once: true });
    }
    return this.#abort.signal;
  }

  /**
   * The client went away (the connection's signal aborted).
   *
   * @ignore
   */
  handleEvent(): void {
    this.abort(this.raw.signal.reason);
  }

  /**
   * Aborts the signal, if the application asked for it.
   *
   * @param reason The abort reason.
   */
  abort(reason: unknown): void {
    if (this.#abort !== null && !this.#abort.signal.aborted) this.#abort.abort(reason);
  }

  /** Whether the application asked for the signal. */
  get watched(): boolean {
    return this.#abort !== null;
  }

  /** The body as a stream, or `null` when the request has none. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real !== null) return this.#real.body;
    if (!this.#hasBody()) return null;
    return this.#toReal().body;
  }

  /** Whether the body was read. */
  get bodyUsed(): boolean {
    return this.#real !== null ? this.#real.bodyUsed : this.#used;
  }

  /**
   * Reads the body as text.
   *
   * @returns The text.
   */
  async text(): Promise<string> {
    return decoder.decode(await this.#bytes());
  }

  /**
   * Reads the body and parses it as JSON.
   *
   * @returns The value.
   */
  async json(): Promise<unknown> {
    return JSON.parse(decoder.decode(await this.#bytes()));
  }

  /**
   * Reads the body into a new array.
   *
   * @returns The bytes.
   */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    // A copy: small bodies come from a slab shared with other requests.
    return (await this.#bytes()).slice();
  }

  /**
   * Reads the body into a new buffer.
   *
   * @returns The buffer.
   */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.#bytes()).slice().buffer;
  }

  /**
   * Reads the body into a `Blob`.
   *
   * @returns The blob.
   */
  async blob(): Promise<Blob> {
    const type = this.raw.headers.get("content-type") ?? "";
    return new Blob([await this.bytes()], { type });
  }

  /**
   * The real `Request` behind members this object does not cover (made once).
   *
   * @returns The real request.
   */
  toRequest(): Request {
    return this.#toReal();
  }

  #hasBody(): boolean {
    const body = this.raw.body;
    return !(body.done && body.received === 0);
  }

  #bytes(): Promise<Uint8Array> {
    if (this.#real !== null) return this.#real.bytes();
    if (this.#used) return Promise.reject(new TypeError("Body already consumed"));
    this.#used = true;
    return this.raw.body.bytes();
  }

  #toReal(): Request {
    if (this.#real !== null) return this.#real;
    const method = this.raw.method;
    const init: RequestInit & { duplex?: "half" } = {
      method,
      headers: this.headers,
      signal: this.signal,
    };
    if (method !== "GET" && method !== "HEAD" && this.#hasBody()) {
      if (this.#used) throw new TypeError("Body already consumed");
      init.body = this.raw.body.stream();
      init.duplex = "half";
    }
    this.#real = new Request(this.url, init);
    return this.#real;
  }
}

for (const name of Object.getOwnPropertyNames(LazyRequest.prototype)) OWN.add(name);

// Every other member of Request.prototype is read from the real request.
for (const name of Object.getOwnPropertyNames(Request.prototype)) {
  if (OWN.has(name)) continue;
  const desc = Object.getOwnPropertyDescriptor(Request.prototype, name)!;
  if (typeof desc.value === "function") {
    Object.defineProperty(LazyRequest.prototype, name, {
      configurable: true,
      writable: true,
      value: forwardMethod(name),
    });
  } else if (desc.get !== undefined) {
    Object.defineProperty(LazyRequest.prototype, name, {
      configurable: true,
      get: forwardGetter(name),
    });
  }
}
Object.setPrototypeOf(LazyRequest.prototype, Request.prototype);

function forwardMethod(name: string) {
  return function (this: LazyRequest, ...args: unknown[]): unknown {
    const real = this.toRequest() as unknown as Record<string, (...a: unknown[]) => unknown>;
    return real[name]!(...args);
  };
}

function forwardGetter(name: string) {
  return function (this: LazyRequest): unknown {
    return (this.toRequest() as unknown as Record<string, unknown>)[name];
  };
}

// Deno's inspector calls Request's own inspect function, which needs the
// real object; show the real request instead.
const inspect = Symbol.for("Deno.privateCustomInspect");
Object.defineProperty(LazyRequest.prototype, inspect, {
  configurable: true,
  value: function (this: LazyRequest, ...args: unknown[]): unknown {
    const real = this.toRequest() as unknown as Record<symbol, (...a: unknown[]) => unknown>;
    return real[inspect]!(...args);
  },
});
