// The session options that the standalone server and the client pass
// through from their own options. Private to the package.
import type { WebSocketSessionOptions } from "./session.ts";

const PASSED = [
  "maxMessageSize",
  "maxFrameSize",
  "maxFragments",
  "idleTimeout",
  "pongTimeout",
  "closeTimeout",
  "highWaterMark",
  "backpressure",
  "deadlines",
  "readBufferSize",
] as const;

/**
 * Copies the session options set in `options` (leaving unset ones out, as
 * `exactOptionalPropertyTypes` wants) and sets the role.
 */
export function sessionOptionsFrom(
  options: Omit<WebSocketSessionOptions, "role" | "protocol">,
  role: "server" | "client",
): WebSocketSessionOptions {
  const out: WebSocketSessionOptions = { role };
  for (const k of PASSED) {
    if (options[k] !== undefined) (out as Record<string, unknown>)[k] = options[k];
  }
  return out;
}
