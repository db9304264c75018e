// A process-wide Deadlines set for sessions and handshakes that were not
// given one: one interval timer for every connection. It is created on first
// use and closed when its last user is released, so no timer outlives the
// connections (test sanitizers stay quiet).
import { Deadlines } from "@coroio/core";

let shared: Deadlines | null = null;
let users = 0;

/** Takes a reference to the shared set, creating it if needed. */
export function acquireDeadlines(): Deadlines {
  users++;
  return shared ??= new Deadlines({ resolution: 250 });
}

/** Drops a reference taken by {@linkcode acquireDeadlines}. */
export function releaseDeadlines(): void {
  if (--users === 0 && shared !== null) {
    shared.close();
    shared = null;
  }
}
