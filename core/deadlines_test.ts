import { deepStrictEqual as assertEquals, strictEqual as equal } from "node:assert/strict";
import { Deadlines, type Expirable } from "./deadlines.ts";
import { ManualClock } from "./_test_util.ts";

class Item implements Expirable {
  expiredAt = 0;
  expire(now: number): void {
    this.expiredAt = now;
  }
}

/** A set on a clock that moves by hand (its interval timer sees no time pass). */
function manual(): { d: Deadlines; clock: ManualClock } {
  const clock = new ManualClock();
  return { d: new Deadlines({ clock, resolution: 1000 }), clock };
}

Deno.test("Deadlines.check() expires an item once its deadline is reached, not before", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.arm(a, 20);
  clock.advance(19);
  d.check();
  equal(a.expiredAt, 0);
  equal(d.has(a), true);
  clock.advance(1);
  d.check();
  equal(a.expiredAt, clock.t);
  assertEquals(d.size, 0);
  d.close();
});

Deno.test("Deadlines.arm() re-arming pushes the deadline back", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.arm(a, 30);
  clock.advance(15);
  d.arm(a, 100);
  clock.advance(40);
  d.check();
  equal(a.expiredAt, 0);
  clock.advance(60);
  d.check();
  equal(a.expiredAt, clock.t);
  d.close();
});

Deno.test("Deadlines.disarm() prevents expiry", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.arm(a, 10);
  d.disarm(a);
  clock.advance(30);
  d.check();
  equal(a.expiredAt, 0);
  equal(d.size, 0);
  d.close();
});

Deno.test("Deadlines.arm() with a non-positive or infinite timeout disarms", () => {
  const { d } = manual();
  const a = new Item();
  d.arm(a, 1000);
  d.arm(a, 0);
  equal(d.has(a), false);
  d.arm(a, 1000);
  d.arm(a, Infinity);
  equal(d.has(a), false);
  d.arm(a, NaN);
  equal(d.has(a), false);
  d.close();
});

Deno.test("Deadlines.check() goes on past an item that throws", () => {
  const { d, clock } = manual();
  const bad: Expirable = {
    expire() {
      throw new Error("boom");
    },
  };
  const good = new Item();
  d.arm(bad, 5);
  d.arm(good, 5);
  clock.advance(5);
  d.check();
  equal(good.expiredAt, clock.t);
  equal(d.size, 0);
  d.close();
});

Deno.test("Deadlines.close() disarms everything and ignores later arm() calls", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.arm(a, 5);
  d.close();
  equal(d.size, 0);
  d.arm(a, 5);
  equal(d.size, 0);
  clock.advance(10);
  d.check();
  equal(a.expiredAt, 0);
});

Deno.test("Deadlines.now() reads the clock it was given, Date by default", () => {
  const { d, clock } = manual();
  equal(d.now(), clock.t);
  d.close();
  const real = new Deadlines();
  const t = real.now();
  equal(Math.abs(t - Date.now()) < 1000, true);
  real.close();
});

Deno.test("Deadlines expires items on its own interval timer", async () => {
  // The one test on the real clock: the timer itself (sanitizers catch a leak).
  const d = new Deadlines({ resolution: 1 });
  const a = new Item();
  d.arm(a, 1);
  const { promise, resolve } = Promise.withResolvers<void>();
  const poll = setInterval(() => {
    if (a.expiredAt !== 0) resolve();
  }, 1);
  await promise;
  clearInterval(poll);
  equal(d.size, 0);
  d.close();
});

/** Advances `clock` to `until` in steps of `step`, checking at each: ticks on time. */
function tickTo(d: Deadlines, clock: ManualClock, until: number, step: number): void {
  while (clock.t < until) {
    clock.t = Math.min(clock.t + step, until);
    d.check();
  }
}

Deno.test("Deadlines.armCoarse() expires within two resolutions after the deadline, never before", () => {
  // Armed at every offset into a resolution (ticks on time): the deadline
  // is measured from the previous tick, so rounding up keeps it from being
  // early, and it is at most two resolutions late.
  const RES = 1000;
  const MS = 5000;
  for (const offset of [0, 1, 250, 999]) {
    const { d, clock } = manual();
    const keep = new Item(); // keeps the timer running, so ticks mark time
    d.arm(keep, 1e9);
    const start = clock.t;
    tickTo(d, clock, start + RES, RES);
    clock.advance(offset);
    const armedAt = clock.t;
    const a = new Item();
    d.armCoarse(a, MS);
    tickTo(d, clock, armedAt + MS - 1, 1);
    equal(a.expiredAt, 0, `offset ${offset}: early`);
    tickTo(d, clock, armedAt + MS + 2 * RES, RES);
    equal(a.expiredAt !== 0, true, `offset ${offset}: more than two resolutions late`);
    equal(a.expiredAt >= armedAt + MS, true);
    d.close();
  }
});

Deno.test("Deadlines.armCoarse() is not early when the check after arming runs late", () => {
  // The timer was held up (a busy event loop): the arm happened long after
  // the last tick, which the late check accounts for.
  const { d, clock } = manual();
  const a = new Item();
  d.arm(new Item(), 1e9);
  d.check();
  clock.advance(10_000); // no tick for ten resolutions
  const armedAt = clock.t;
  d.armCoarse(a, 2000);
  d.check(); // the late tick
  tickTo(d, clock, armedAt + 1999, 1);
  equal(a.expiredAt, 0);
  tickTo(d, clock, armedAt + 2000 + 2000, 1000);
  equal(a.expiredAt !== 0, true);
  d.close();
});

Deno.test("Deadlines.armCoarse() re-arming pushes the deadline back; bad ms disarm", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.armCoarse(a, 3000);
  tickTo(d, clock, clock.t + 2000, 1000);
  d.armCoarse(a, 3000);
  tickTo(d, clock, clock.t + 3000, 1000);
  equal(a.expiredAt, 0);
  tickTo(d, clock, clock.t + 2000, 1000);
  equal(a.expiredAt !== 0, true);
  for (const bad of [0, -1, NaN, Infinity]) {
    d.armCoarse(a, 1000);
    d.armCoarse(a, bad);
    equal(d.has(a), false, `ms ${bad}`);
  }
  d.close();
  d.armCoarse(a, 1000);
  equal(d.size, 0);
});

Deno.test("Deadlines.armCoarse() again before a check keeps its due time; another ms re-arms", () => {
  // Re-armed for the same ms before the next check: the due time it would
  // set is the one already set (measured from the same tick).
  for (const [second, due] of [[3000, 3000], [1000, 1000], [5000, 5000]]) {
    const { d, clock } = manual();
    const a = new Item();
    d.arm(new Item(), 1e9);
    d.check();
    const tick = clock.t;
    d.armCoarse(a, 3000);
    clock.advance(400);
    d.armCoarse(a, second!);
    clock.advance(300);
    d.armCoarse(a, second!);
    // Checks on time, one resolution apart from the tick.
    tickTo(d, clock, tick + 1000, 1000);
    tickTo(d, clock, tick + due! + 1000, 1000);
    equal(a.expiredAt, tick + due! + 1000, `second ${second}`);
    d.close();
  }
});

Deno.test("Deadlines.armCoarse() then a bad ms or a disarm leaves nothing for a late check to bring back", () => {
  const ways: [string, (d: Deadlines, a: Item) => void][] = [
    ["armCoarse(0)", (d, a) => d.armCoarse(a, 0)],
    ["arm(NaN)", (d, a) => d.arm(a, NaN)],
    ["arm(Infinity)", (d, a) => d.arm(a, Infinity)],
    ["disarm()", (d, a) => d.disarm(a)],
  ];
  for (const [what, undo] of ways) {
    const { d, clock } = manual();
    const a = new Item();
    d.arm(new Item(), 1e9);
    d.armCoarse(a, 1000);
    undo(d, a);
    clock.advance(5000); // the check runs late: armCoarse() items are settled
    d.check();
    equal(d.has(a), false, what);
    equal(d.size, 1, what);
    d.close();
  }
});

Deno.test("Deadlines.arm() after armCoarse() is exact again", () => {
  const { d, clock } = manual();
  const a = new Item();
  d.armCoarse(a, 100);
  d.arm(a, 50);
  clock.advance(49);
  d.check();
  equal(a.expiredAt, 0);
  clock.advance(1);
  d.check();
  equal(a.expiredAt, clock.t);
  d.close();
});

Deno.test("Deadlines.armCoarse() inside an expiry of a late check is measured from that check, not the stall", () => {
  const { d, clock } = manual();
  const b = new Item();
  let stallEnd = 0;
  const rearm: Expirable = {
    expire(now: number): void {
      stallEnd = now;
      d.armCoarse(b, 1000);
    },
  };
  d.arm(rearm, 100);
  d.check();
  clock.advance(10_000); // the event loop was blocked for ten resolutions
  d.check(); // late: rearm expires and arms b
  tickTo(d, clock, stallEnd + 999, 1);
  equal(b.expiredAt, 0);
  tickTo(d, clock, stallEnd + 1000 + 2000, 1000);
  equal(b.expiredAt !== 0, true, "b fired within two resolutions");
  d.close();
});

Deno.test("Deadlines.arm() works on a clock with negative times", () => {
  const clock = {
    t: -10_000,
    now(): number {
      return this.t;
    },
  };
  const d = new Deadlines({ clock, resolution: 1000 });
  const a = new Item();
  d.arm(a, 100);
  clock.t += 99;
  d.check();
  equal(a.expiredAt, 0);
  clock.t += 1;
  d.check();
  equal(a.expiredAt, -9_900);
  d.close();
});
