// serve()'s automatic response compression, on @coroio/http's Compressor
// (the one place the rules live: size floor, compressible types, Vary, weak
// ETag, no-transform, no ranges, not when already encoded). The compression
// module, and with it node:zlib, is imported when the first response is
// about to be compressed, not before: a server whose clients send no
// Accept-Encoding never loads it.
import type { HttpRequest, HttpResponse } from "@coroio/http";
import type { Compressor } from "@coroio/http/compression";

let shared: Promise<Compressor> | null = null;
/** The compressor once loaded: whole bodies then go out without an await. */
let ready: Compressor | null = null;

/** Whether the compression module was loaded in this process (for tests). */
export function compressionLoaded(): boolean {
  return ready !== null;
}

function compressor(): Promise<Compressor> {
  return shared ??= import("@coroio/http/compression").then((m) => {
    // The Compressor's defaults: gzip level 1 as Deno.serve, Brotli
    // quality 4 (Deno's 6 costs more CPU per byte for little gain).
    ready = new m.Compressor();
    return ready;
  });
}

/**
 * Sends a whole body at once (compressed when the rules allow) if the
 * compressor is loaded already: no promise, as for an uncompressed body.
 *
 * @param req The request.
 * @param res The response, its head set.
 * @param whole The whole body, or `undefined` for a stream.
 * @returns Whether the body was sent; `false`: use {@linkcode sendCompressed}.
 */
export function sendWholeNow(
  req: HttpRequest,
  res: HttpResponse,
  whole: string | Uint8Array | undefined,
): boolean {
  if (ready === null || whole === undefined) return false;
  ready.send(req, res, whole);
  return true;
}

/**
 * Whether a request may get a compressed response: it names a coding and is
 * not HEAD. Cheap: one header lookup.
 *
 * @param req The request.
 * @returns `true` to take the compressing path.
 */
export function wantsCompression(req: HttpRequest): boolean {
  return req.method !== "HEAD" && req.headers.get("accept-encoding") !== null;
}

/**
 * Sends a response body through the compressor. The head (status, fields)
 * is already on `res`.
 *
 * @param req The request.
 * @param res The response.
 * @param whole The body when Deno holds it whole, else `undefined`.
 * @param body The body stream (when `whole` is undefined), or `null`.
 * @param length The body's length when known (a Blob), else -1.
 */
export async function sendCompressed(
  req: HttpRequest,
  res: HttpResponse,
  whole: string | Uint8Array | undefined,
  body: ReadableStream<Uint8Array> | null,
  length: number,
): Promise<void> {
  const c = await compressor();
  if (whole !== undefined) {
    c.send(req, res, whole);
    return;
  }
  if (body === null) {
    res.send(null);
    return;
  }
  if (length >= 0) {
    // A Blob: its size decides, as a whole body's would.
    const reader = body.getReader();
    try {
      if (c.prepare(req, res, length) === null) {
        // Not compressed: the known length, not chunked framing.
        if (res.getHeader("content-length") === null) {
          res.setHeader("Content-Length", String(length));
        }
        await pipe(reader, res);
        return;
      }
      // prepare() set the coding: send it through a stream of that coding.
      res.removeHeader("content-encoding");
      await pipe(reader, c.stream(req, res));
    } catch (err) {
      reader.cancel(err).catch(ignore);
      throw err;
    }
    return;
  }
  const reader = body.getReader();
  try {
    await pipe(reader, c.stream(req, res));
  } catch (err) {
    reader.cancel(err).catch(ignore);
    throw err;
  }
}

interface BodyWriter {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

async function pipe(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  out: BodyWriter,
): Promise<void> {
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    await out.write(r.value);
  }
  await out.end();
}

function ignore(): void {}
