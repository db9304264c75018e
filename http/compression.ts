// Response compression (gzip, br) with the rules Deno.serve uses: a size
// floor, compressible types only, `Vary: Accept-Encoding`, a weak ETag, no
// compression under `Cache-Control: no-transform`, of a range or of an
// already encoded body. node:zlib is loaded only by importing this module
// (keep it out of mod.ts).
import * as zlib from "node:zlib";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/** A content coding this module produces. */
export type Coding = "br" | "gzip";

/** Options for {@linkcode Compressor}. */
export interface CompressorOptions {
  /** Bodies shorter than this are sent as they are. @default {64} */
  minSize?: number;
  /** gzip level (1 is nginx's and Deno's default). @default {1} */
  gzipLevel?: number;
  /** Brotli quality (Deno uses 6). @default {4} */
  brotliQuality?: number;
  /** Whether a content type is worth compressing. @default {text, JSON, JS, XML, SVG, WASM} */
  compressible?: (contentType: string) => boolean;
}

const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|x-javascript|ecmascript|xml|wasm|manifest\+json|ld\+json|[\w.-]+\+(?:json|xml))|image\/svg\+xml)/i;

/**
 * The default test of {@linkcode CompressorOptions.compressible}.
 *
 * @example Types
 * ```ts
 * import { isCompressible } from "./compression.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isCompressible("text/html; charset=utf-8"), true);
 * equal(isCompressible("application/problem+json"), true);
 * equal(isCompressible("image/png"), false);
 * ```
 *
 * @param contentType A `Content-Type` value.
 * @returns Whether compressing it usually pays.
 */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}

/**
 * The coding a request accepts, Brotli first: `"br"`, `"gzip"` or `null`
 * (identity). `q=0` refuses a coding; `*` accepts both.
 *
 * @example Negotiation
 * ```ts
 * import { acceptedCoding } from "./compression.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(acceptedCoding("gzip, deflate, br"), "br");
 * equal(acceptedCoding("gzip;q=1, br;q=0"), "gzip");
 * equal(acceptedCoding("identity"), null);
 * equal(acceptedCoding(null), null);
 * ```
 *
 * @param header The `Accept-Encoding` value, or `null`.
 * @returns The coding to use, or `null`.
 */
export function acceptedCoding(header: string | null): Coding | null {
  if (header === null || header === "") return null;
  if (header === "gzip, deflate, br" || header === "gzip, deflate, br, zstd") return "br";
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m !== null) q = Number(m[1]);
    }
    if (name === "br") br = q;
    else if (name === "gzip" || name === "x-gzip") gzip = q;
    else if (name === "*") star = q;
  }
  if (br === -1) br = star;
  if (gzip === -1) gzip = star;
  if (br > 0 && br >= gzip) return "br";
  if (gzip > 0) return "gzip";
  return null;
}

/**
 * Compresses response bodies when the rules allow, through the response's
 * own `send()`/`write()`/`end()`. One object serves every request.
 *
 * @example A handler that compresses its JSON
 * ```ts
 * import { type HttpRequest, type HttpResponse, HttpServer } from "./mod.ts";
 * import { Compressor } from "./compression.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const compressor = new Compressor();
 * class Report {
 *   handle(req: HttpRequest, res: HttpResponse): void {
 *     res.setHeader("Content-Type", "application/json");
 *     compressor.send(req, res, JSON.stringify({ rows: Array(100).fill("same row") }));
 *   }
 * }
 * const server = new HttpServer(new Report(), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { "accept-encoding": "gzip" } });
 * equal(res.headers.get("content-encoding"), "gzip");
 * equal(((await res.json()) as { rows: string[] }).rows.length, 100); // fetch decodes it
 * await server.shutdown();
 * ```
 */
export class Compressor {
  #minSize: number;
  #gzip: zlib.ZlibOptions;
  #brotli: zlib.BrotliOptions;
  #compressible: (contentType: string) => boolean;

  /**
   * Creates a compressor.
   *
   * @param options Size floor, levels and the type test.
   */
  constructor(options: CompressorOptions = {}) {
    this.#minSize = options.minSize ?? 64;
    this.#gzip = { level: options.gzipLevel ?? 1 };
    this.#brotli = {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: options.brotliQuality ?? 4,
        [zlib.constants.BROTLI_PARAM_LGWIN]: 22,
      },
    };
    this.#compressible = options.compressible ?? isCompressible;
  }

  /**
   * Decides whether to compress this response and, if so, sets
   * `Content-Encoding`, adds `Vary: Accept-Encoding`, weakens the ETag and
   * drops `Content-Length`. Compressible responses of at least the size
   * floor get `Vary` either way.
   *
   * @param req The request.
   * @param res The response, before its head is sent.
   * @param length The body length if known, else -1.
   * @returns The coding to apply, or `null` to send the body as it is.
   */
  prepare(req: HttpRequest, res: HttpResponse, length: number): Coding | null {
    // Under the floor the answer never depends on Accept-Encoding (no Vary).
    if (length >= 0 && length < this.#minSize) return null;
    const type = res.getHeader("content-type");
    if (type === null || !this.#compressible(type)) return null;
    if (
      res.getHeader("content-encoding") !== null || res.getHeader("content-range") !== null ||
      res.status === 206 || res.status === 204 || res.status === 304
    ) {
      return null;
    }
    const cc = res.getHeader("cache-control");
    if (cc !== null && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(cc)) return null;
    addVary(res);
    const coding = acceptedCoding(req.headers.get("accept-encoding"));
    if (coding === null) return null;
    res.setHeader("Content-Encoding", coding);
    res.removeHeader("content-length");
    const etag = res.getHeader("etag");
    if (etag !== null && !etag.startsWith("W/")) res.setHeader("ETag", "W/" + etag);
    return coding;
  }

  /**
   * Sends a whole body, compressed when {@linkcode Compressor.prototype.prepare}
   * allows.
   *
   * @param req The request.
   * @param res The response, before its head is sent.
   * @param body The body.
   */
  send(req: HttpRequest, res: HttpResponse, body: string | Uint8Array): void {
    if (typeof body === "string") {
      if (res.getHeader("content-type") === null) {
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
      }
      // At most 3 bytes per UTF-16 unit: surely under the floor, no encoding.
      if (body.length * 3 < this.#minSize) {
        res.send(body);
        return;
      }
    }
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    const coding = this.prepare(req, res, bytes.length);
    if (coding === null) {
      res.send(bytes);
      return;
    }
    res.send(
      coding === "br"
        ? zlib.brotliCompressSync(bytes, this.#brotli)
        : zlib.gzipSync(bytes, this.#gzip),
    );
  }

  /**
   * Starts a streamed body, compressed when the rules allow (the length is
   * unknown, so the size floor does not apply). Each `write()` is flushed
   * through the compressor, so server-sent events arrive as they are sent.
   *
   * @param req The request.
   * @param res The response, before its head is sent.
   * @returns The body writer.
   */
  stream(req: HttpRequest, res: HttpResponse): CompressedBody {
    const coding = this.prepare(req, res, -1);
    return new CompressedBody(
      res,
      coding,
      coding === null
        ? null
        : coding === "br"
        ? zlib.createBrotliCompress(this.#brotli)
        : zlib.createGzip(this.#gzip),
    );
  }
}

const encoder = new TextEncoder();

function addVary(res: HttpResponse): void {
  const vary = res.getHeader("vary");
  if (vary === null) res.setHeader("Vary", "Accept-Encoding");
  else if (!/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(vary)) {
    res.setHeader("Vary", vary + ", Accept-Encoding");
  }
}

/**
 * A streamed response body going through a compressor (or straight to the
 * response when not compressing). Made by {@linkcode Compressor.prototype.stream}.
 */
export class CompressedBody {
  #res: HttpResponse;
  #z: zlib.Gzip | zlib.BrotliCompress | null;
  #coding: Coding | null;
  #out: Uint8Array[] = [];

  /**
   * Wraps a response.
   *
   * @param res The response.
   * @param coding The coding `z` produces, or `null`.
   * @param z The compressor, or `null` to pass bytes through.
   */
  constructor(
    res: HttpResponse,
    coding: Coding | null,
    z: zlib.Gzip | zlib.BrotliCompress | null,
  ) {
    this.#res = res;
    this.#coding = z === null ? null : coding;
    this.#z = z;
    if (z !== null) z.on("data", this.#collect.bind(this));
  }

  /** The coding applied, or `null`. */
  get coding(): Coding | null {
    return this.#coding;
  }

  #collect(chunk: Uint8Array): void {
    this.#out.push(chunk);
  }

  /**
   * Compresses and sends a piece of the body, flushed so the client can
   * decode it now.
   *
   * @param chunk The bytes or text.
   * @returns A promise that resolves once the bytes reached the kernel.
   */
  async write(chunk: string | Uint8Array): Promise<void> {
    const z = this.#z;
    if (z === null) return this.#res.write(chunk);
    const done = Promise.withResolvers<void>();
    z.write(chunk);
    z.flush(
      this.#coding === "gzip" ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.BROTLI_OPERATION_FLUSH,
      done.resolve,
    );
    await done.promise;
    await this.#drain();
  }

  /**
   * Finishes the body.
   *
   * @param chunk A last piece, if any.
   * @returns A promise that resolves once the response was written.
   */
  async end(chunk?: string | Uint8Array): Promise<void> {
    const z = this.#z;
    if (z === null) return this.#res.end(chunk);
    const done = Promise.withResolvers<void>();
    z.once("end", done.resolve);
    z.once("error", done.reject);
    if (chunk !== undefined) z.end(chunk);
    else z.end();
    await done.promise;
    await this.#drain();
    await this.#res.end();
  }

  async #drain(): Promise<void> {
    const out = this.#out;
    if (out.length === 0) return;
    let bytes: Uint8Array;
    if (out.length === 1) bytes = out[0]!;
    else {
      let total = 0;
      for (const c of out) total += c.length;
      bytes = new Uint8Array(total);
      let at = 0;
      for (const c of out) {
        bytes.set(c, at);
        at += c.length;
      }
    }
    out.length = 0;
    await this.#res.write(bytes);
  }
}
