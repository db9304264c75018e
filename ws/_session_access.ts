// Package-internal access to a session's private state: session.ts fills these
// in a static block (it can read the private field). The topics hub
// (topics.ts) calls `senderOf`. Not exported from mod.ts.
import type { Sender } from "./_sender.ts";

/** Reaches into a `WebSocketSession` (set by session.ts). */
export const sessionAccess: {
  /** The session's sender (made if it had none yet). */
  senderOf: (session: object) => Sender;
} = {
  senderOf(): Sender {
    throw new Error("session.ts was not loaded");
  },
};
