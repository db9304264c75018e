import { intOption } from "./options.ts";

/**
 * Something a {@linkcode Deadlines} set can expire.
 *
 * @example A request that times out
 * ```ts
 * import { Deadlines, type Expirable } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Request implements Expirable {
 *   timedOutAt = -1;
 *   expire(now: number): void {
 *     this.timedOutAt = now;
 *   }
 * }
 * const clock = { t: 100, now() { return this.t; } };
 * const deadlines = new Deadlines({ clock });
 * const req = new Request();
 * deadlines.arm(req, 50);
 * clock.t = 150;
 * deadlines.check();
 * equal(req.timedOutAt, 150);
 * deadlines.close();
 * ```
 */
export interface Expirable {
  /**
   * Called once when the deadline set for this object has passed.
   *
   * @param now The time of the check, in the set's clock milliseconds.
   */
  expire(now: number): void;
}

/**
 * The time source of a {@linkcode Deadlines} set: `Date` by default, a clock
 * moved by hand in tests.
 *
 * @example A clock moved by hand
 * ```ts
 * import { type Clock, Deadlines } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class ManualClock implements Clock {
 *   t = 0;
 *   now(): number {
 *     return this.t;
 *   }
 * }
 * const clock = new ManualClock();
 * const deadlines = new Deadlines({ clock });
 * clock.t = 42;
 * equal(deadlines.now(), 42);
 * deadlines.close();
 * ```
 */
export interface Clock {
  /**
   * The current time in milliseconds (any epoch, never going backwards).
   *
   * @returns The time.
   */
  now(): number;
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
  /**
   * Where the time comes from. Tests pass a clock they move by hand and call
   * {@linkcode Deadlines.prototype.check} instead of waiting.
   *
   * @default {Date}
   */
  clock?: Clock;
}

/**
 * A coarse deadline set: one interval timer checks every armed object instead
 * of a timer per read. Arming and disarming is a `Map` update, so protocol
 * code can re-arm on every message without allocating a timer or a closure.
 * The timer runs only while something is armed.
 *
 * @example Expiring an idle connection, with a clock moved by hand
 * ```ts
 * import { Deadlines, type Expirable } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Idle implements Expirable {
 *   expired = false;
 *   expire(): void {
 *     this.expired = true;
 *   }
 * }
 * const clock = { t: 0, now() { return this.t; } };
 * const deadlines = new Deadlines({ clock });
 * const idle = new Idle();
 * deadlines.arm(idle, 10);
 * clock.t = 9;
 * deadlines.check();
 * equal(idle.expired, false);
 * clock.t = 10;
 * deadlines.check();
 * equal(idle.expired, true);
 * deadlines.close();
 * ```
 */
export class Deadlines {
  #items = new Map<Expirable, number>();
  /**
   * Items armed by armCoarse() since the last check, with the `ms` they were
   * armed for: settled by that check.
   */
  #coarse = new Map<Expirable, number>();
  /** Whether check() is expiring items (an expiry may arm again). */
  #checking = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #resolution: number;
  #clock: Clock;
  #closed = false;
  /**
   * The clock at the last check (or when the timer started): what
   * {@linkcode Deadlines.prototype.armCoarse} measures from instead of
   * reading the clock.
   */
  #tickAt = 0;

  /**
   * Creates an empty set.
   *
   * @param options Check resolution and clock.
   * @throws {RangeError} If `resolution` is not an integer >= 1.
   */
  constructor(options: DeadlinesOptions = {}) {
    this.#resolution = intOption("Deadlines", "resolution", options.resolution, 250);
    this.#clock = options.clock ?? Date;
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
   * The time on this set's clock: what deadlines are measured against.
   *
   * @returns Milliseconds.
   */
  now(): number {
    return this.#clock.now();
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
      this.disarm(item);
      return;
    }
    if (this.#timer === undefined) this.#start();
    this.#items.set(item, this.#clock.now() + ms);
    if (this.#coarse.size !== 0) this.#coarse.delete(item);
  }

  /**
   * Arms (or re-arms) a deadline at least `ms` milliseconds from now, without
   * reading the clock: for deadlines re-armed on every request, where a
   * clock read costs more than the rest of the arming. The deadline is
   * measured from the time of the last check, rounded up by one resolution,
   * and settled at the next check (by how late that check runs), so that it
   * never expires early. It expires up to two resolutions late (plus however
   * late the timer runs), against one for {@linkcode Deadlines.prototype.arm}.
   * A non-finite or non-positive `ms` disarms instead.
   *
   * @example Rounded up by one resolution
   * ```ts
   * import { Deadlines, type Expirable } from "@coroio/core";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * class Idle implements Expirable {
   *   expired = false;
   *   expire(): void {
   *     this.expired = true;
   *   }
   * }
   * const clock = { t: 0, now() { return this.t; } };
   * const deadlines = new Deadlines({ clock, resolution: 10 });
   * const idle = new Idle();
   * deadlines.armCoarse(idle, 30);
   * for (clock.t = 10; clock.t <= 30; clock.t += 10) deadlines.check();
   * equal(idle.expired, false); // due at 30 + one resolution
   * clock.t = 40;
   * deadlines.check();
   * equal(idle.expired, true);
   * deadlines.close();
   * ```
   *
   * @param item The object to expire.
   * @param ms Milliseconds from now (at least).
   */
  armCoarse(item: Expirable, ms: number): void {
    if (!(ms > 0) || ms === Infinity || this.#closed) {
      this.disarm(item);
      return;
    }
    if (this.#timer === undefined) this.#start();
    if (this.#checking) {
      // Inside an expiry: the check's time is now, exactly.
      this.#items.set(item, this.#tickAt + ms);
      this.#coarse.delete(item);
      return;
    }
    // Armed for the same ms since the last check (a keep-alive connection
    // after each response): due already when this would make it.
    if (this.#coarse.get(item) === ms) return;
    // Settled by the next check (see check()).
    this.#items.set(item, this.#tickAt + ms + this.#resolution);
    this.#coarse.set(item, ms);
  }

  #start(): void {
    this.#tickAt = this.#clock.now();
    this.#timer = setInterval(this.#tick, this.#resolution);
  }

  /**
   * Disarms the deadline of `item`, if any.
   *
   * @param item The object.
   */
  disarm(item: Expirable): void {
    this.#items.delete(item);
    if (this.#coarse.size !== 0) this.#coarse.delete(item);
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

  /**
   * Expires, now, every item whose deadline has passed on the clock. The
   * interval timer calls it; tests with their own clock call it directly.
   */
  check(): void {
    const now = this.#clock.now();
    // How much later than one resolution after the last tick this check
    // runs: a coarse deadline armed since then may have been measured from
    // a tick up to that much older than one resolution.
    const late = now - this.#tickAt - this.#resolution;
    this.#tickAt = now;
    if (this.#coarse.size !== 0) {
      // Armed by armCoarse() since the last check: settle them.
      if (late > 0) {
        for (const item of this.#coarse.keys()) {
          this.#items.set(item, this.#items.get(item)! + late);
        }
      }
      this.#coarse.clear();
    }
    this.#checking = true;
    try {
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
    } finally {
      this.#checking = false;
    }
    if (this.#items.size === 0) this.#stop();
  }

  #tick = (): void => this.check();

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
    this.#coarse.clear();
    this.#stop();
  }
}
