import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Deadlines, type Expirable } from "./deadlines.ts";

class Item implements Expirable {
  expiredAt = 0;
  expire(now: number): void {
    this.expiredAt = now;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Deadlines.arm() expires an item after its deadline", async () => {
  const d = new Deadlines({ resolution: 5 });
  const a = new Item();
  const start = Date.now();
  d.arm(a, 20);
  await sleep(60);
  assert(a.expiredAt >= start + 20);
  assertEquals(d.size, 0);
  d.close();
});

Deno.test("Deadlines.arm() re-arming pushes the deadline back", async () => {
  const d = new Deadlines({ resolution: 5 });
  const a = new Item();
  d.arm(a, 30);
  await sleep(15);
  d.arm(a, 100);
  await sleep(40);
  assertEquals(a.expiredAt, 0);
  d.close();
});

Deno.test("Deadlines.disarm() prevents expiry and stops the timer when empty", async () => {
  const d = new Deadlines({ resolution: 5 });
  const a = new Item();
  d.arm(a, 10);
  d.disarm(a);
  await sleep(30);
  assertEquals(a.expiredAt, 0);
  assertEquals(d.size, 0);
  d.close();
});

Deno.test("Deadlines.arm() with a non-positive timeout disarms", () => {
  const d = new Deadlines();
  const a = new Item();
  d.arm(a, 1000);
  d.arm(a, 0);
  assertEquals(d.has(a), false);
  d.arm(a, Infinity);
  assertEquals(d.has(a), false);
  d.close();
});

Deno.test("Deadlines tick survives an item that throws", async () => {
  const d = new Deadlines({ resolution: 5 });
  const bad: Expirable = {
    expire() {
      throw new Error("boom");
    },
  };
  const good = new Item();
  d.arm(bad, 5);
  d.arm(good, 5);
  await sleep(40);
  assert(good.expiredAt > 0);
  d.close();
});
