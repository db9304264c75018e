// Static files as Handler objects: content types, ETag and Last-Modified
// with 304, one Range with 206/416, HEAD, bounded streaming reads, and no
// way out of the root (no `..` segment, raw or percent-encoded, and no
// symlink that resolves outside it).
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  map: "application/json",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  xml: "application/xml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/vnd.microsoft.icon",
  wasm: "application/wasm",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  webm: "video/webm",
  ogg: "audio/ogg",
  wav: "audio/wav",
};

/**
 * The content type for a file name, from its extension.
 *
 * @example Looking up types
 * ```ts
 * import { contentTypeOf } from "./static.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(contentTypeOf("a/index.HTML"), "text/html; charset=utf-8");
 * equal(contentTypeOf("blob"), "application/octet-stream");
 * ```
 *
 * @param name A file name or path.
 * @returns The type, `application/octet-stream` when unknown.
 */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot === -1 || dot < name.lastIndexOf("/")) return "application/octet-stream";
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? "application/octet-stream";
}

/** Options for {@linkcode ServeFile} and {@linkcode ServeDir}. */
export interface StaticOptions {
  /**
   * Files up to this size are read whole and sent with one write; larger
   * ones are streamed in reads of this size. @default {65536}
   */
  chunkSize?: number;
  /** `Cache-Control` value to send, if any. */
  cacheControl?: string;
}

/** Options for {@linkcode ServeDir}. */
export interface ServeDirOptions extends StaticOptions {
  /**
   * The route parameter holding the file path (already percent-decoded by
   * the router), e.g. `"*"` for a route `/static/*`. When the request has no
   * such parameter, its path (decoded) is used, less `prefix`.
   * @default {"*"}
   */
  param?: string;
  /** A path prefix to strip when the request path is used. @default {""} */
  prefix?: string;
  /** The file served for a directory. @default {"index.html"} */
  index?: string;
  /** Serve names starting with a dot. @default {false} */
  dotfiles?: boolean;
}

/**
 * Serves one file: `Content-Type`, `ETag` (size and modification time) and
 * `Last-Modified` with `304 Not Modified` for `If-None-Match` and
 * `If-Modified-Since`, one byte range (`206`, or `416` when unsatisfiable;
 * several ranges get the whole file), `HEAD` without reading the file, and
 * reads of at most `chunkSize` bytes written with backpressure.
 *
 * @example Serving a file
 * ```ts
 * import { HttpServer } from "./mod.ts";
 * import { ServeFile } from "./static.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "hello file");
 * const server = new HttpServer(new ServeFile(path), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { range: "bytes=6-" } });
 * equal(res.status, 206);
 * equal(await res.text(), "file");
 * await server.shutdown();
 * await Deno.remove(path);
 * ```
 */
export class ServeFile implements Handler {
  #path: string;
  #options: StaticOptions;

  /**
   * Creates the handler.
   *
   * @param path The file.
   * @param options Chunk size and cache control.
   */
  constructor(path: string, options: StaticOptions = {}) {
    this.#path = path;
    this.#options = options;
  }

  /**
   * Serves the file.
   *
   * @param req The request.
   * @param res The response.
   * @returns A promise that settles once the file was sent.
   */
  handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    return sendFile(req, res, this.#path, this.#options);
  }
}

/**
 * Serves the files under a directory (no listings). A path with a `..`
 * segment (raw, or percent-encoded as `..%2F` and decoded by the router)
 * gets 404, as does one that resolves, through symlinks, outside the root,
 * and by default a name starting with a dot.
 *
 * @example A static route
 * ```ts
 * import { HttpServer, Router } from "./mod.ts";
 * import { ServeDir } from "./static.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/app.js`, "console.log(1)");
 * const router = new Router().get("/static/*", new ServeDir(root));
 * const server = new HttpServer(router, { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/static/app.js`);
 * equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
 * equal(await res.text(), "console.log(1)");
 * const out = await fetch(`http://127.0.0.1:${port}/static/..%2F..%2Fetc%2Fpasswd`);
 * equal(out.status, 404);
 * await out.body?.cancel();
 * await server.shutdown();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class ServeDir implements Handler {
  #root: string;
  #options: ServeDirOptions;
  #param: string;
  #prefix: string;
  #index: string;

  /**
   * Creates the handler.
   *
   * @param root The directory (resolved through symlinks now).
   * @param options Where the path comes from, index file, dotfiles.
   * @throws {Deno.errors.NotFound} If the root does not exist.
   */
  constructor(root: string, options: ServeDirOptions = {}) {
    this.#root = Deno.realPathSync(root);
    this.#options = options;
    this.#param = options.param ?? "*";
    this.#prefix = options.prefix ?? "";
    this.#index = options.index ?? "index.html";
  }

  /**
   * Serves the file the request names, or 404.
   *
   * @param req The request.
   * @param res The response.
   * @returns A promise that settles once the answer was sent.
   */
  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res);
    let rel = req.params[this.#param];
    if (rel === undefined) {
      let path = req.path;
      if (this.#prefix !== "" && path.startsWith(this.#prefix)) {
        path = path.slice(this.#prefix.length);
      }
      try {
        rel = decodeURIComponent(path);
      } catch {
        return notFound(res);
      }
    }
    const full = this.#join(rel);
    if (full === null) return notFound(res);
    let real: string;
    let info: Deno.FileInfo;
    try {
      real = await Deno.realPath(full);
      if (!this.#inside(real)) return notFound(res);
      info = await Deno.stat(real);
      if (info.isDirectory) {
        real = await Deno.realPath(real + "/" + this.#index);
        if (!this.#inside(real)) return notFound(res);
        info = await Deno.stat(real);
      }
    } catch {
      return notFound(res);
    }
    if (!info.isFile) return notFound(res);
    return sendFile(req, res, real, this.#options, info);
  }

  #join(rel: string): string | null {
    if (rel.includes("\0") || rel.includes("\\")) return null;
    let out = this.#root;
    for (const seg of rel.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") return null;
      if (seg.charCodeAt(0) === 0x2e && !this.#options.dotfiles) return null;
      out += "/" + seg;
    }
    return out;
  }

  #inside(real: string): boolean {
    const root = this.#root;
    return real === root || (real.startsWith(root) && real.charCodeAt(root.length) === 0x2f) ||
      root === "/";
  }
}

function notFound(res: HttpResponse): void {
  res.status = 404;
  res.send("Not Found\n");
}

function methodNotAllowed(res: HttpResponse): void {
  res.status = 405;
  res.setHeader("Allow", "GET, HEAD");
  res.send("Method Not Allowed\n");
}

const EMPTY = new Uint8Array(0);

async function sendFile(
  req: HttpRequest,
  res: HttpResponse,
  path: string,
  options: StaticOptions,
  known?: Deno.FileInfo,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res);
  let info: Deno.FileInfo;
  try {
    info = known ?? await Deno.stat(path);
  } catch {
    return notFound(res);
  }
  if (!info.isFile) return notFound(res);
  const size = info.size;
  const mtime = info.mtime?.getTime() ?? 0;
  const etag = `"${size.toString(36)}-${Math.floor(mtime).toString(36)}"`;
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("ETag", etag);
  if (info.mtime !== null) res.setHeader("Last-Modified", info.mtime.toUTCString());
  if (options.cacheControl !== undefined) res.setHeader("Cache-Control", options.cacheControl);
  if (notModified(req, etag, mtime)) {
    res.status = 304;
    res.send(null);
    return;
  }
  res.setHeader("Content-Type", contentTypeOf(path));
  let start = 0;
  let end = size - 1;
  const range = req.headers.get("range");
  if (range !== null && size > 0 && ifRangeHolds(req, etag)) {
    const r = parseRange(range, size);
    if (r === "unsatisfiable") {
      res.status = 416;
      res.setHeader("Content-Range", `bytes */${size}`);
      res.send(null);
      return;
    }
    if (r !== null) {
      [start, end] = r;
      res.status = 206;
      res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
    }
  }
  const length = end - start + 1;
  if (req.method === "HEAD" || length === 0) {
    res.setHeader("Content-Length", String(length));
    await res.write(EMPTY);
    await res.end();
    return;
  }
  const file = await Deno.open(path, { read: true });
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    const chunk = options.chunkSize ?? 65536;
    const buf = new Uint8Array(Math.min(chunk, length));
    if (length <= chunk) {
      await readFull(file, buf);
      res.send(buf);
      return;
    }
    res.setHeader("Content-Length", String(length));
    let left = length;
    while (left > 0) {
      const view = left < buf.length ? buf.subarray(0, left) : buf;
      await readFull(file, view);
      // write() resolves once the bytes reached the kernel: the buffer is
      // free again, and a slow client slows the reads down.
      await res.write(view);
      left -= view.length;
    }
    await res.end();
  } finally {
    file.close();
  }
}

async function readFull(file: Deno.FsFile, into: Uint8Array): Promise<void> {
  let at = 0;
  while (at < into.length) {
    const n = await file.read(into.subarray(at));
    if (n === null) throw new Error("Cannot read file: it became shorter while being sent");
    at += n;
  }
}

function notModified(req: HttpRequest, etag: string, mtime: number): boolean {
  const inm = req.headers.get("if-none-match");
  if (inm !== null) {
    if (inm.trim() === "*") return true;
    const bare = etag.replace(/^W\//, "");
    for (const tag of inm.split(",")) {
      if (tag.trim().replace(/^W\//, "") === bare) return true;
    }
    return false;
  }
  const ims = req.headers.get("if-modified-since");
  if (ims !== null && mtime > 0) {
    const since = Date.parse(ims);
    if (!Number.isNaN(since) && Math.floor(mtime / 1000) * 1000 <= since) return true;
  }
  return false;
}

function ifRangeHolds(req: HttpRequest, etag: string): boolean {
  const ir = req.headers.get("if-range");
  return ir === null || ir.trim() === etag;
}

/**
 * Parses one `bytes=` range against a size.
 *
 * @returns `[start, end]` (inclusive), `null` to ignore the header (invalid
 * syntax or several ranges), or `"unsatisfiable"`.
 */
function parseRange(header: string, size: number): [number, number] | null | "unsatisfiable" {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  if (end < start) return null;
  return [start, end];
}
