/**
 * Reads a V8 CPU profile (`deno run --cpu-prof`, a `.cpuprofile` file) and
 * says where the time went: self time per function, and per category (our
 * JavaScript, Deno's JavaScript op layer, the ops themselves, native code
 * outside JavaScript, the garbage collector, idle).
 *
 * @module
 */

/** The parts of a `.cpuprofile` this module reads. */
export interface CpuProfile {
  /** Call-tree nodes. */
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
  /** Start, microseconds. */
  startTime: number;
  /** End, microseconds. */
  endTime: number;
  /** Node id of each sample. */
  samples?: number[];
}

/** Where a function's time is counted. */
export const Category = {
  /** Our packages and examples (`ownMarkers`). */
  ours: "ours",
  /** Deno's own JavaScript: `ext:` and `node:` modules (op wrappers, streams, timers). */
  runtime: "runtime",
  /**
   * Deno ops called from JavaScript (`op_read`, `op_write`, ...): their Rust code and the
   * system calls they make synchronously.
   */
  op: "op",
  /** `(program)`: native code not on a JavaScript stack (the event loop, op completions, syscalls). */
  native: "native",
  /** `(garbage collector)`. */
  gc: "gc",
  /** `(idle)`: waiting in the event loop. */
  idle: "idle",
  /** Anything else (peers, V8 builtins, `(root)`). */
  other: "other",
} as const;
/** Where a function's time is counted. */
export type Category = typeof Category[keyof typeof Category];

/** One function's self time. */
export interface FunctionCost {
  /** Function name (`(anonymous)` when it has none). */
  name: string;
  /** `file:line`, shortened to the path after the last `ownMarkers` hit or the `ext:` name. */
  where: string;
  /** Its category. */
  category: Category;
  /** Self time, milliseconds. */
  selfMs: number;
}

/** What {@linkcode summariseProfile} returns. */
export interface ProfileSummary {
  /** Profile length, milliseconds. */
  totalMs: number;
  /** Time not idle, milliseconds. */
  busyMs: number;
  /** Self time per category, milliseconds. */
  byCategory: Record<Category, number>;
  /** Functions by self time, largest first (idle left out). */
  top: FunctionCost[];
}

function categorise(functionName: string, url: string, ownMarkers: readonly string[]): Category {
  if (functionName === "(idle)") return Category.idle;
  if (functionName === "(garbage collector)") return Category.gc;
  if (functionName === "(program)") return Category.native;
  if (url === "" && functionName.startsWith("op_")) return Category.op;
  if (url.startsWith("ext:") || url.startsWith("node:")) return Category.runtime;
  if (ownMarkers.some((m) => url.includes(m))) return Category.ours;
  return Category.other;
}

function shorten(url: string, ownMarkers: readonly string[]): string {
  for (const m of ownMarkers) {
    const i = url.lastIndexOf(m);
    if (i >= 0) return url.slice(i + 1);
  }
  return url.replace(/^file:\/\/.*\/(bench\/)/, "$1");
}

/**
 * Sums a profile's self time per function and per category.
 *
 * @param profile The parsed `.cpuprofile`.
 * @param ownMarkers URL fragments that mark our code, e.g. `["/core/", "/ws/"]`.
 * @returns The summary.
 *
 * @example Our function, Deno's JavaScript, an op and idle time
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { summariseProfile } from "./_cpuprof.ts";
 *
 * const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 9 });
 * const s = summariseProfile({
 *   startTime: 0,
 *   endTime: 5000,
 *   nodes: [
 *     { id: 1, callFrame: frame("feed", "file:///repo/ws/codec.ts") },
 *     { id: 2, callFrame: frame("write", "ext:deno_net/01_net.js") },
 *     { id: 3, callFrame: frame("(idle)") },
 *     { id: 4, callFrame: frame("op_write") },
 *   ],
 *   samples: [1, 1, 2, 3, 4],
 * }, ["/ws/"]);
 * strictEqual(s.busyMs, 4);
 * strictEqual(s.byCategory.ours, 2);
 * strictEqual(s.byCategory.op, 1);
 * deepStrictEqual(s.top[0], { name: "feed", where: "ws/codec.ts:10", category: "ours", selfMs: 2 });
 * ```
 */
export function summariseProfile(
  profile: CpuProfile,
  ownMarkers: readonly string[],
): ProfileSummary {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const hits = new Map<number, number>();
  if (profile.samples !== undefined && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  let samples = 0;
  for (const h of hits.values()) samples += h;
  const msPerSample = samples > 0 ? totalMs / samples : 0;
  const byCategory: Record<Category, number> = {
    ours: 0,
    runtime: 0,
    op: 0,
    native: 0,
    gc: 0,
    idle: 0,
    other: 0,
  };
  const byFunction = new Map<string, FunctionCost>();
  for (const n of profile.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (h === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const category = categorise(functionName, url, ownMarkers);
    const ms = h * msPerSample;
    byCategory[category] += ms;
    if (category === Category.idle) continue;
    const name = functionName === "" ? "(anonymous)" : functionName;
    const where = url === "" ? "" : `${shorten(url, ownMarkers)}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const f = byFunction.get(key);
    if (f === undefined) byFunction.set(key, { name, where, category, selfMs: ms });
    else f.selfMs += ms;
  }
  const top = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs, busyMs: totalMs - byCategory.idle, byCategory, top };
}
