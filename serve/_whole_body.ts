// Which responses carry a whole body (a string or bytes given to the
// constructor) rather than a stream. The Fetch API cannot tell: `body` is a
// ReadableStream either way. Deno keeps such bodies as they are internally;
// this module finds where, once, by probing Responses it made (and checking
// that each slot holds what was given). When a probe fails (another Deno
// version), every body takes the stream path, which only uses public API.

type Internal = Record<symbol, unknown>;

function symbolOf(r: Response, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(r).find((s) => s.description === description);
}

const lazyProbe = new Response("probe");
const LAZY = symbolOf(lazyProbe, "lazy static body");
const LAZY_OK = LAZY !== undefined && (lazyProbe as unknown as Internal)[LAZY] === "probe";

// Deno.serve's own fast path keeps some bodies (hono's `c.json()`) in a
// third slot.
const fastProbe = Response.json("probe");
const FAST = symbolOf(fastProbe, "serve fast body");
const FAST_OK = FAST !== undefined && (fastProbe as unknown as Internal)[FAST] === '"probe"';

const staticProbe = new Response("probe", { headers: { "x-probe": "1" } });
const INNER = symbolOf(staticProbe, "response");

function staticSource(r: Response): unknown {
  if (INNER === undefined) return undefined;
  const inner = (r as unknown as Internal)[INNER] as { body?: { streamOrStatic?: unknown } } | null;
  const sos = inner?.body?.streamOrStatic as { body?: unknown; consumed?: boolean } | undefined;
  if (sos === undefined || sos === null || sos instanceof ReadableStream || sos.consumed) {
    return undefined;
  }
  return sos.body;
}

const INNER_OK = staticSource(staticProbe) === "probe";

// Deno.serve's fast path: a response made with at most a content type and
// whose headers were never touched keeps a "header kind" (1: the default
// text type, 2: the type in the next slot) and no Headers object yet.
const KIND = symbolOf(lazyProbe, "serve fast header kind");
const FAST_TYPE = symbolOf(lazyProbe, "serve fast content type");
const HEADERS = symbolOf(lazyProbe, "headers");

function probeHead(): boolean {
  if (KIND === undefined || FAST_TYPE === undefined || HEADERS === undefined) return false;
  const plain = new Response("p") as unknown as Internal;
  const json = Response.json(1) as unknown as Internal;
  const general = new Response("p", { headers: { a: "1" } }) as unknown as Internal;
  const touched = new Response("p");
  touched.headers.set("a", "1");
  const t = touched as unknown as Internal;
  return plain[KIND] === 1 && plain[HEADERS] === null && json[KIND] === 2 &&
    json[FAST_TYPE] === "application/json" && general[KIND] === 0 && t[KIND] === 0 &&
    t[HEADERS] !== null;
}

const HEAD_OK = probeHead();

// Deno.serve's fast path also keeps the status of a response made with at
// most a content type (0 for any other response).
const FAST_STATUS = symbolOf(lazyProbe, "serve fast status");
const STATUS_OK = FAST_STATUS !== undefined &&
  (lazyProbe as unknown as Internal)[FAST_STATUS] === 200 &&
  (Response.json(1) as unknown as Internal)[FAST_STATUS] === 200 &&
  [0, 201].includes(
    (new Response("p", { status: 201 }) as unknown as Internal)[FAST_STATUS] as number,
  );

/**
 * The status of a response, read from Deno.serve's fast-path slot when it
 * holds one (no getter call), else from `status`.
 *
 * @param r A response.
 * @returns Its status.
 */
export function fastStatus(r: Response): number {
  if (STATUS_OK) {
    const v = (r as unknown as Internal)[FAST_STATUS!];
    if (typeof v === "number" && v !== 0) return v;
  }
  return r.status;
}

/** Whether the probes found Deno's whole-body slots (checked by a test). */
export const WHOLE_BODY_PROBED: boolean = LAZY_OK && INNER_OK && FAST_OK && HEAD_OK && STATUS_OK;

/**
 * The only header of a response that has no other (Deno.serve's fast path):
 * its content type, read without making the `Headers` object.
 *
 * @param r A response.
 * @returns The content type, or `undefined` when the headers must be read.
 */
export function onlyContentType(r: Response): string | undefined {
  if (!HEAD_OK) return undefined;
  const o = r as unknown as Internal;
  if (o[HEADERS!] !== null) return undefined;
  const kind = o[KIND!];
  if (kind === 1) return "text/plain;charset=UTF-8";
  if (kind === 2) {
    const type = o[FAST_TYPE!];
    if (typeof type === "string") return type;
  }
  return undefined;
}

/**
 * The body of a response made from a string and never touched since: Deno
 * keeps that string in its "lazy static body" slot until anything reads the
 * body (`bodyUsed`, `body`, `text()`, `clone()` all turn it into a stream
 * first and empty the slot). So a string here is the whole body and the
 * body is unused; no getter is called, so nothing is built.
 *
 * @param r A response.
 * @returns The body, or `undefined` when {@linkcode wholeBody} must decide.
 */
export function untouchedBody(r: Response): string | undefined {
  if (!LAZY_OK) return undefined;
  const v = (r as unknown as Internal)[LAZY!];
  return typeof v === "string" ? v : undefined;
}

/**
 * The whole body of a response, if Deno holds it as the string or bytes it
 * was made from (no stream): then it is sent at once, without a read.
 *
 * @param r A response whose body was not used.
 * @returns The body, or `undefined` when it must be read as a stream.
 */
export function wholeBody(r: Response): string | Uint8Array | undefined {
  const o = r as unknown as Internal;
  if (LAZY_OK) {
    const v = o[LAZY!];
    if (typeof v === "string") return v;
  }
  if (FAST_OK) {
    const v = o[FAST!];
    if (typeof v === "string") return v;
  }
  if (INNER_OK) {
    const src = staticSource(r);
    if (typeof src === "string" || src instanceof Uint8Array) return src;
  }
  return undefined;
}

/**
 * The size of a response body made from a `Blob` (a `File`, or `FormData`,
 * which Deno serializes to a Blob), known before it is read.
 *
 * @param r A response whose body was not used.
 * @returns The size in bytes, or -1 when the body is not a Blob.
 */
export function blobSize(r: Response): number {
  if (INNER === undefined) return -1;
  const inner = (r as unknown as Internal)[INNER] as
    | { body?: { source?: unknown; length?: unknown } | null }
    | null;
  const body = inner?.body;
  if (body === undefined || body === null || !(body.source instanceof Blob)) return -1;
  return typeof body.length === "number" && body.length === body.source.size ? body.length : -1;
}
