// Package-internal access to a session's sender, for the topics hub: session.ts
// fills `senderOf` in a static block (it can read the private field), topics.ts
// calls it. Not exported from mod.ts.
import type { Sender } from "./_sender.ts";

/** Reads the private sender of a `WebSocketSession` (set by session.ts). */
export const sessionAccess: { senderOf: (session: object) => Sender } = {
  senderOf(): Sender {
    throw new Error("session.ts was not loaded");
  },
};
