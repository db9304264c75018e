/** Something a {@linkcode Deadlines} set can expire. */
export interface Expirable {
  /**
   * Called once when the deadline set for this object has passed.
   *
   * @param now The time of the check, in milliseconds since the epoch.
   */
  expire(now: number): void;
}

/** Options for {@linkcode Deadlines}. */
export interface DeadlinesOptions {
  /**
   * How often deadlines are checked, in milliseconds: a deadline fires up to
   * this late.
   *
   * @default {250}
   */
  resolution?: number;
}

/**
 * A coarse deadline set: one interval timer checks every armed object instead
 * of a timer per read. Arming and disarming is a `Map` update, so protocol
 * code can re-arm on every message without allocating a timer or a closure.
 * The timer runs only while something is armed.
 *
 * @example Expiring an idle connection
 * ```ts
 * import { Deadlines, type Expirable } from "@coroio/core";
 * import { ok as assert } from "node:assert/strict";
 *
 * class Idle implements Expirable {
 *   expired = false;
 *   expire(): void {
 *     this.expired = true;
 *   }
 * }
 * const deadlines = new Deadlines({ resolution: 5 });
 * const idle = new Idle();
 * deadlines.arm(idle, 10);
 * await new Promise((r) => setTimeout(r, 50));
 * assert(idle.expired);
 * deadlines.close();
 * ```
 */
export class Deadlines {
  #items = new Map<Expirable, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #resolution: number;
  #closed = false;

  /**
   * Creates an empty set.
   *
   * @param options Check resolution.
   * @throws {RangeError} If `resolution` is not a positive number.
   */
  constructor(options: DeadlinesOptions = {}) {
    const resolution = options.resolution ?? 250;
    if (!(resolution > 0)) throw new RangeError("Cannot create Deadlines: resolution must be > 0");
    this.#resolution = resolution;
  }

  /**
   * Number of armed deadlines.
   *
   * @returns The count.
   */
  get size(): number {
    return this.#items.size;
  }

  /**
   * Arms (or re-arms) a deadline `ms` milliseconds from now. A non-finite or
   * non-positive `ms` disarms instead.
   *
   * @param item The object to expire.
   * @param ms Milliseconds from now.
   */
  arm(item: Expirable, ms: number): void {
    if (!(ms > 0) || ms === Infinity || this.#closed) {
      this.#items.delete(item);
      return;
    }
    this.#items.set(item, Date.now() + ms);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.#resolution);
    }
  }

  /**
   * Disarms the deadline of `item`, if any.
   *
   * @param item The object.
   */
  disarm(item: Expirable): void {
    this.#items.delete(item);
  }

  /**
   * Whether `item` has an armed deadline.
   *
   * @param item The object.
   * @returns `true` if armed.
   */
  has(item: Expirable): boolean {
    return this.#items.has(item);
  }

  #tick = (): void => {
    const now = Date.now();
    for (const [item, at] of this.#items) {
      if (at <= now) {
        this.#items.delete(item);
        try {
          item.expire(now);
        } catch {
          // An expiry handler must not stop the others.
        }
      }
    }
    if (this.#items.size === 0) this.#stop();
  };

  #stop(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Disarms everything and stops the timer; later `arm()` calls are ignored. */
  close(): void {
    this.#closed = true;
    this.#items.clear();
    this.#stop();
  }
}
