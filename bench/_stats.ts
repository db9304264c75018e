/**
 * Statistics for the benchmark runner: medians, ranges, a latency histogram
 * that merges across load-client processes, and the ratio of ours to a peer.
 *
 * @module
 */

/**
 * Median of a list of numbers (mean of the two middle values for an even count).
 *
 * @param values The numbers; not modified.
 * @returns The median, or `NaN` for an empty list.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Smallest and largest value of a list.
 *
 * @param values The numbers.
 * @returns `[min, max]`, or `[NaN, NaN]` for an empty list.
 */
export function minMax(values: readonly number[]): [number, number] {
  if (values.length === 0) return [NaN, NaN];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Which direction of a metric is good. */
export const Better = { higher: "higher", lower: "lower" } as const;
/** Which direction of a metric is good. */
export type Better = typeof Better[keyof typeof Better];

/**
 * How much better ours is than a peer, as a factor where `> 1` means ours is
 * better whichever direction the metric goes: `ours / peer` for throughput,
 * `peer / ours` for costs such as memory per connection.
 *
 * @param ours Our median.
 * @param peer The peer's median.
 * @param better Which direction of the metric is good.
 * @returns The factor, or `NaN` when either side is missing or zero.
 */
export function advantage(ours: number, peer: number, better: Better): number {
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || ours <= 0 || peer <= 0) return NaN;
  return better === Better.higher ? ours / peer : peer / ours;
}

/** Width of one latency bucket, in microseconds. */
export const BUCKET_US = 10;
/** Number of latency buckets; the last one collects everything slower (>= 200 ms). */
export const BUCKETS = 20_000;

/**
 * A fixed-width latency histogram (10 microsecond buckets up to 200 ms, then one
 * overflow bucket). Recording is one array increment; histograms from several
 * load-client processes merge exactly.
 */
export class LatencyHistogram {
  /** The bucket counts. */
  readonly counts: Uint32Array = new Uint32Array(BUCKETS);
  /** Number of recorded samples. */
  total = 0;

  /**
   * Records one latency.
   *
   * @param ms The latency in milliseconds.
   */
  record(ms: number): void {
    let i = (ms * (1000 / BUCKET_US)) | 0;
    if (i >= BUCKETS) i = BUCKETS - 1;
    else if (i < 0) i = 0;
    this.counts[i]!++;
    this.total++;
  }

  /**
   * Adds another histogram's samples into this one.
   *
   * @param other The histogram to add.
   */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
  }

  /**
   * The latency below which the given share of samples fall (bucket midpoint).
   *
   * @param q The quantile, 0 to 1.
   * @returns Microseconds, or `NaN` when empty.
   */
  quantileUs(q: number): number {
    if (this.total === 0) return NaN;
    const target = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return i * BUCKET_US + BUCKET_US / 2;
    }
    return BUCKETS * BUCKET_US;
  }

  /**
   * Sparse form for JSON: pairs of bucket index and count.
   *
   * @returns `[[index, count], ...]` for the non-empty buckets.
   */
  toSparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i]!;
      if (c !== 0) out.push([i, c]);
    }
    return out;
  }

  /**
   * Rebuilds a histogram from {@linkcode LatencyHistogram.prototype.toSparse}.
   *
   * @param pairs The sparse pairs.
   * @returns The histogram.
   * @throws {RangeError} When a bucket index is out of range.
   */
  static fromSparse(pairs: ReadonlyArray<readonly [number, number]>): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, c] of pairs) {
      if (!(i >= 0 && i < BUCKETS)) {
        throw new RangeError(`Cannot read latency histogram: bucket ${i} is out of range`);
      }
      h.counts[i]! += c;
      h.total += c;
    }
    return h;
  }
}
