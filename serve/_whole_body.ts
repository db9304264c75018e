// Which responses carry a whole body (a string or bytes given to the
// constructor) rather than a stream. The Fetch API cannot tell: `body` is a
// ReadableStream either way. Deno keeps such bodies as they are internally;
// this module finds where, once, by probing a Response it made, and only
// uses that to choose which public method reads the body (`text()` or
// `bytes()`, which Deno answers without a stream, instead of a reader). When
// the probe fails (another Deno version), every body takes the stream path.

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

/** Whether the probes found Deno's whole-body slots (checked by a test). */
export const WHOLE_BODY_PROBED: boolean = LAZY_OK && INNER_OK && FAST_OK;

/** How to read a response body: 0 as a stream, 1 with `text()`, 2 with `bytes()`. */
export type BodyKind = 0 | 1 | 2;

/**
 * Tells how a response's body is best read.
 *
 * @param r A response with a body.
 * @returns The kind.
 */
export function bodyKind(r: Response): BodyKind {
  if (LAZY_OK && typeof (r as unknown as Internal)[LAZY!] === "string") return 1;
  if (FAST_OK && typeof (r as unknown as Internal)[FAST!] === "string") return 1;
  if (INNER_OK) {
    const src = staticSource(r);
    if (typeof src === "string") return 1;
    if (src instanceof Uint8Array) return 2;
  }
  return 0;
}
