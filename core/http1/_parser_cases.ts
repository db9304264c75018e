// The parser's case tables (valid, malformed, smuggling, limits, each in its
// own file) and the feeder that runs a case whole, byte by byte or at seeded
// random split points. Test-only.
import { HttpError, type HttpErrorCode } from "./errors.ts";
import type { RequestParser } from "./parser.ts";
import type { RequestHead } from "./head.ts";
import type { InvalidCase } from "./_parser_cases_util.ts";
import { LIMIT_CASES, MALFORMED_CASES } from "./_parser_cases_invalid.ts";
import { SMUGGLING_CASES } from "./_parser_cases_smuggling.ts";

export {
  type ExpectedHead,
  type InvalidCase,
  latin1Bytes,
  type ValidCase,
} from "./_parser_cases_util.ts";
export { BROWSER_HEAD, VALID_CASES } from "./_parser_cases_valid.ts";
export { LIMIT_CASES, MALFORMED_CASES } from "./_parser_cases_invalid.ts";
export { SMUGGLING_CASES } from "./_parser_cases_smuggling.ts";

/** Requests that must be rejected: malformed, smuggling, then past a limit. */
export const INVALID_CASES: InvalidCase[] = [
  ...MALFORMED_CASES,
  ...SMUGGLING_CASES,
  ...LIMIT_CASES,
];

/** The outcome of feeding a case: a head summary, an error, or more bytes needed. */
export type FeedOutcome =
  | { kind: "head"; consumed: number; head: HeadSummary }
  | { kind: "error"; status: number; code: HttpErrorCode }
  | { kind: "incomplete" };

/** Every observable field of a head, for deep comparison. */
export interface HeadSummary {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  upgrade: string | null;
  headLength: number;
  path: string;
  query: string;
}

/** Reads every observable field of a head. */
export function summarize(head: RequestHead): HeadSummary {
  return {
    method: head.method,
    target: head.target,
    version: head.version,
    headers: [...head.headers],
    contentLength: head.contentLength,
    chunked: head.chunked,
    keepAlive: head.keepAlive,
    expectContinue: head.expectContinue,
    upgrade: head.upgrade,
    headLength: head.headLength,
    path: head.path,
    query: head.query,
  };
}

/** Chunk sizes: the whole input in one piece. */
export function wholeSplit(n: number): number[] {
  return n === 0 ? [] : [n];
}

/** Chunk sizes: one byte at a time. */
export function byteSplit(n: number): number[] {
  return Array.from({ length: n }, () => 1);
}

/** A small seeded PRNG (mulberry32), returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Chunk sizes: random pieces (1 to `max` bytes, mostly small) from a seed. */
export function randomSplit(seed: number, max = 64): (n: number) => number[] {
  return (n) => {
    const rand = prng(seed * 7919 + n);
    const sizes: number[] = [];
    let left = n;
    while (left > 0) {
      const r = rand();
      const size = Math.min(left, 1 + Math.floor(r * r * max));
      sizes.push(size);
      left -= size;
    }
    return sizes;
  };
}

/**
 * The feeding modes every case runs in. `window`: each piece is fed as a
 * range (`feed(buf, start, end)`) of a larger buffer whose bytes around it
 * would break the head if they were read.
 */
export const FEED_MODES: { name: string; split: (n: number) => number[]; window?: boolean }[] = [
  { name: "whole", split: wholeSplit },
  { name: "byte by byte", split: byteSplit },
  ...[1, 2, 3, 4, 5].map((seed) => ({
    name: `random split seed ${seed}`,
    split: randomSplit(seed),
  })),
  { name: "whole, as a range of a larger buffer", split: wholeSplit, window: true },
  { name: "byte by byte, as ranges", split: byteSplit, window: true },
  { name: "random split seed 6, as ranges", split: randomSplit(6), window: true },
];

/** Bytes around a fed range: a NUL, a bare LF and a bare CR, which no head may contain. */
const AROUND = [0x00, 0x0a, 0x0d, 0x00, 0x0a];

/**
 * Feeds `bytes` to `parser` in pieces of the given sizes (each piece a fresh
 * array, reused buffers are not assumed), until the head completes, a feed
 * throws, or input runs out.
 */
export function feedPieces(
  parser: RequestParser,
  bytes: Uint8Array,
  sizes: number[],
  window = false,
): FeedOutcome {
  let offset = 0;
  let consumed = 0;
  for (const [i, size] of sizes.entries()) {
    let piece = bytes.slice(offset, offset + size);
    let used: number;
    try {
      if (window) {
        const before = i % (AROUND.length + 1);
        const buf = new Uint8Array(before + size + AROUND.length);
        for (let j = 0; j < buf.length; j++) buf[j] = AROUND[j % AROUND.length]!;
        buf.set(piece, before);
        used = parser.feed(buf, before, before + size);
        piece = buf.subarray(before, before + size);
      } else {
        used = parser.feed(piece);
      }
    } catch (err) {
      if (err instanceof HttpError) return { kind: "error", status: err.status, code: err.code };
      throw err;
    }
    if (used < 0 || used > piece.length) {
      throw new Error(`feed() returned ${used} for ${piece.length} bytes`);
    }
    consumed += used;
    if (parser.head !== null) {
      // Scribble over the piece: the head must not depend on the caller's buffer.
      piece.fill(0x58);
      return { kind: "head", consumed, head: summarize(parser.head) };
    }
    if (used !== piece.length) {
      throw new Error(`feed() consumed ${used} of ${piece.length} without a head`);
    }
    offset += size;
  }
  return { kind: "incomplete" };
}
