/**
 * The native zlib backend of `_zlib.ts`: loads Deno's `node:zlib` lazily,
 * probes the low-level handle of its raw streams once per process, creates
 * handles for the deflaters and inflaters, and keeps the process-wide
 * counters (open streams, deflated messages).
 *
 * The documented sync API of `node:zlib` (`deflateRawSync`, ...) closes its
 * stream after one call, so it cannot keep a sliding window across messages.
 * `_zlib.ts` drives the low-level handle of a `createDeflateRaw()` /
 * `createInflateRaw()` stream directly, like Node's own `processChunkSync()`:
 * `handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)` runs
 * zlib once and leaves `[availOut, availIn]` in the stream's `_writeState`.
 * Deno keeps that binding shape on purpose for npm packages that call it
 * (`setupHandleWriteState` in `ext/node/polyfills/zlib.js`); it is still
 * private API, so everything that reaches it is here and in `_zlib.ts`, and
 * `_zlib_test.ts` fails loudly if it changes. Where the handle is missing,
 * {@linkcode zlibBackend} reports `"none"` and {@linkcode create} throws
 * {@linkcode ZlibUnavailableError}: the caller then declines compression.
 *
 * `node:zlib` is loaded on the first {@linkcode create} or
 * {@linkcode zlibBackend} call (through `process.getBuiltinModule`), never at
 * import time, so importing this module costs nothing until compression is
 * really used.
 *
 * @module
 */

/** zlib's `Z_NO_FLUSH`. */
export const Z_NO_FLUSH = 0;
/** zlib's `Z_SYNC_FLUSH`. */
export const Z_SYNC_FLUSH = 2;

/** The part of Deno's (and Node's) native zlib handle `_zlib.ts` uses. */
export interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number) => void;
}

/** The part of a `node:zlib` stream object `_zlib.ts` uses. */
export interface NativeStream {
  _handle?: NativeHandle | null;
  _writeState?: Uint32Array;
}

/** The options of a `node:zlib` raw stream that `_zlib.ts` passes. */
export interface ZlibOptions {
  level?: number;
  windowBits?: number;
  memLevel?: number;
  strategy?: number;
  chunkSize?: number;
}

/** The part of `node:zlib` this module uses. */
interface ZlibModule {
  createDeflateRaw(options: ZlibOptions): NativeStream;
  createInflateRaw(options: ZlibOptions): NativeStream;
}

let zlibCache: ZlibModule | null | undefined;

function zlibModule(): ZlibModule | null {
  if (zlibCache !== undefined) return zlibCache;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  const mod = proc?.getBuiltinModule?.("node:zlib") as Partial<ZlibModule> | undefined;
  zlibCache = mod && typeof mod.createDeflateRaw === "function" &&
      typeof mod.createInflateRaw === "function"
    ? mod as ZlibModule
    : null;
  return zlibCache;
}

/**
 * Thrown by the constructors when the native zlib handle is not available
 * (see {@linkcode zlibBackend}); a server then negotiates no compression.
 *
 * @example Its message says what is missing
 * ```ts
 * import { ZlibUnavailableError } from "./_zlib_backend.ts";
 * import { match } from "node:assert/strict";
 *
 * match(new ZlibUnavailableError("no handle").message, /no handle/);
 * ```
 */
export class ZlibUnavailableError extends Error {
  /**
   * Creates the error.
   *
   * @param reason What is missing.
   */
  constructor(reason: string) {
    super(`Cannot use zlib for permessage-deflate: ${reason}`);
    this.name = "ZlibUnavailableError";
  }
}

/**
 * Thrown when zlib reports an error on a call that should not fail (a
 * deflate call; inflate errors are returned as `Invalid`, see `_zlib.ts`).
 *
 * @example It carries zlib's error number
 * ```ts
 * import { ZlibError } from "./_zlib_backend.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(new ZlibError("stream error", -2).errno, -2);
 * ```
 */
export class ZlibError extends Error {
  /** zlib's error number (for example -3, `Z_DATA_ERROR`). */
  readonly errno: number;
  /**
   * Creates the error.
   *
   * @param message zlib's message.
   * @param errno zlib's error number.
   */
  constructor(message: string, errno: number) {
    super(`zlib failed: ${message} (errno ${errno})`);
    this.name = "ZlibError";
    this.errno = errno;
  }
}

/**
 * Which path this runtime offers: `"handle"` (the synchronous native handle)
 * or `"none"` (no usable `node:zlib`; constructors throw).
 *
 * @returns The backend name.
 *
 * @example On Deno 2.9
 * ```ts
 * import { zlibBackend } from "./_zlib_backend.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(zlibBackend(), "handle");
 * ```
 */
export function zlibBackend(): "handle" | "none" {
  const z = zlibModule();
  if (z === null) return "none";
  return probed ??= probe(z);
}

let probed: "handle" | "none" | undefined;

// Checks the handle's shape and behaviour once per process: one byte
// deflated with a sync flush must consume the input, report it through the
// write state and end in 00 00 ff ff.
function probe(z: ZlibModule): "handle" | "none" {
  let h: NativeHandle | null | undefined;
  try {
    const s = z.createDeflateRaw({ chunkSize: 64 });
    h = s._handle;
    const st = s._writeState;
    if (
      !h || typeof h.writeSync !== "function" || typeof h.reset !== "function" ||
      typeof h.close !== "function" || !(st instanceof Uint32Array) || st.length !== 2
    ) {
      return "none";
    }
    const out = new Uint8Array(64);
    h.writeSync(Z_SYNC_FLUSH, new Uint8Array([0x61]), 0, 1, out, 0, 64);
    const n = 64 - st[0]!;
    return st[1] === 0 && n >= 5 && out[n - 4] === 0 && out[n - 3] === 0 &&
        out[n - 2] === 0xff && out[n - 1] === 0xff
      ? "handle"
      : "none";
  } catch {
    return "none";
  } finally {
    try {
      h?.close();
    } catch {
      // nothing to free
    }
  }
}

let live = 0;

/**
 * How many native zlib streams this module holds open right now (for tests
 * and memory accounting).
 *
 * @returns The number of open deflaters and inflaters.
 *
 * @example Opening and closing
 * ```ts
 * import { liveStreams } from "./_zlib_backend.ts";
 * import { RawInflater } from "./_zlib.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const before = liveStreams();
 * const i = new RawInflater();
 * equal(liveStreams(), before + 1);
 * i.close();
 * equal(liveStreams(), before);
 * ```
 */
export function liveStreams(): number {
  return live;
}

let deflates = 0;

/**
 * How many messages the deflaters of this process have compressed with zlib
 * (empty messages, written without zlib, are not counted). Lets a test check
 * that a message published to many shared-mode sessions is deflated once.
 *
 * @returns The running count.
 *
 * @example One call, one count
 * ```ts
 * import { deflateCount } from "./_zlib_backend.ts";
 * import { RawDeflater } from "./_zlib.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const d = new RawDeflater();
 * const before = deflateCount();
 * d.compress(new TextEncoder().encode("x"));
 * equal(deflateCount(), before + 1);
 * d.close();
 * ```
 */
export function deflateCount(): number {
  return deflates;
}

/** One native handle with its write state and the last error zlib reported. */
export class Native {
  /** The native handle. */
  readonly handle: NativeHandle;
  /** `[availOut, availIn]` after each `writeSync()`. */
  readonly state: Uint32Array;
  /** The message of the last error zlib reported, until handled. */
  error: string | null = null;
  /** The error number of the last error zlib reported. */
  errno = 0;

  /**
   * Takes over a stream's handle.
   *
   * @param stream A raw stream from `node:zlib`.
   * @throws {ZlibUnavailableError} If the stream has no usable handle.
   */
  constructor(stream: NativeStream) {
    const h = stream._handle;
    const st = stream._writeState;
    if (!h || typeof h.writeSync !== "function" || !(st instanceof Uint32Array)) {
      throw new ZlibUnavailableError("node:zlib has no low-level handle with writeSync()");
    }
    this.handle = h;
    this.state = st;
    // Replaces node:zlib's handler, which would destroy the stream on the
    // next tick: errors are reported synchronously and handled here.
    h.onerror = (message: string, errno: number): void => {
      this.error = message;
      this.errno = errno;
    };
  }
}

/**
 * Creates one native raw stream (loading `node:zlib` on first use) and
 * counts it in {@linkcode liveStreams} until {@linkcode destroy}.
 *
 * @param kind Which stream.
 * @param options zlib's options (`chunkSize` is ignored).
 * @returns The handle.
 * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
 *
 * @example Create and destroy
 * ```ts
 * import { create, destroy, liveStreams } from "./_zlib_backend.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const before = liveStreams();
 * const n = create("inflate", { windowBits: 15 });
 * equal(liveStreams(), before + 1);
 * destroy(n);
 * equal(liveStreams(), before);
 * ```
 */
export function create(kind: "deflate" | "inflate", options: ZlibOptions): Native {
  const z = zlibModule();
  if (z === null) throw new ZlibUnavailableError("node:zlib cannot be loaded");
  if (zlibBackend() === "none") {
    throw new ZlibUnavailableError("node:zlib has no low-level handle with writeSync()");
  }
  const opts = { ...options, chunkSize: 64 };
  const stream = kind === "deflate" ? z.createDeflateRaw(opts) : z.createInflateRaw(opts);
  const n = new Native(stream);
  live++;
  return n;
}

/**
 * Frees a handle from {@linkcode create} at once and stops counting it in
 * {@linkcode liveStreams}. Call it once per handle.
 *
 * @param n The handle.
 */
export function destroy(n: Native): void {
  live--;
  n.handle.close();
}

/** Counts one message deflated with zlib (see {@linkcode deflateCount}). */
export function countDeflate(): void {
  deflates++;
}
