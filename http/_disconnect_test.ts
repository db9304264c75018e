import { ok, rejects, strictEqual as equal } from "node:assert/strict";
import { BufReader } from "@coroio/core";
import { DisconnectWatch, type WatchHost } from "./_disconnect.ts";

/** A host whose connection's next read settles as the test says. */
function host(read: () => Promise<number | null>): WatchHost & { gone: number } {
  const h = {
    gone: 0,
    reader: new BufReader({ read }),
    clientGone(): void {
      h.gone++;
    },
  };
  return h;
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

Deno.test("DisconnectWatch: a read that fails is no longer in flight, aborts the signal, and stop() still hands it on", async () => {
  const reset = new Error("connection reset");
  const h = host(() => Promise.reject(reset));
  const watch = new DisconnectWatch(h, true);
  watch.start();
  equal(watch.reading, true);
  await settle();
  equal(watch.reading, false);
  equal(watch.signal.aborted, true);
  equal(h.gone, 1);
  // The connection awaits what stop() returns and sees the error itself.
  const pending = watch.stop();
  ok(pending !== null);
  await rejects(pending, (err) => err === reset);
});

// A read that settles: the end of the stream aborts the signal; bytes of a
// next request end the watch without aborting. Either way no read is left.
const SETTLED: [string, number | null, boolean][] = [
  ["end of stream", null, true],
  ["bytes of a next request", 3, false],
];

for (const [what, result, aborts] of SETTLED) {
  Deno.test(`DisconnectWatch: ${what} ends the read${aborts ? " and aborts the signal" : ""}`, async () => {
    const h = host(() => Promise.resolve(result));
    const watch = new DisconnectWatch(h, true);
    watch.start();
    await settle();
    equal(watch.reading, false);
    equal(watch.signal.aborted, aborts);
    equal(h.gone, aborts ? 1 : 0);
  });
}
