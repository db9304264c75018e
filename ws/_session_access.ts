// Package-internal access to a session's private state: session.ts fills these
// in a static block (it can read the private field). The topics hub
// (topics.ts) calls `senderOf`; the standalone server (server.ts) calls
// `useDone` so that its connection handle and the session share one promise.
// Not exported from mod.ts.
import type { Sender } from "./_sender.ts";

/** Reaches into a `WebSocketSession` (set by session.ts). */
export const sessionAccess: {
  /** The session's sender (made if it had none yet). */
  senderOf: (session: object) => Sender;
  /** Makes `promise` the session's `done`, settled with `resolve`; before `run()` only. */
  useDone: (session: object, promise: Promise<void>, resolve: () => void) => void;
} = {
  senderOf(): Sender {
    throw new Error("session.ts was not loaded");
  },
  useDone(): void {
    throw new Error("session.ts was not loaded");
  },
};
