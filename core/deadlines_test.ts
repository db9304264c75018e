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
