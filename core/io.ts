/**
 * Small helpers every layer that owns a connection needs, written once:
 * write every byte, close without caring whether the peer already did, and
 * tell "the connection went away" from a fault worth reporting.
 *
 * @module
 */
import { StreamClosedError } from "./errors.ts";
import type { Closer, Writer } from "./types.ts";

/**
 * Writes all of `bytes`, looping over short writes.
 *
 * @param w Where to write (a `Deno.Conn`).
 * @param bytes The bytes.
 * @returns A promise that resolves once every byte was accepted.
 *
 * @example Short writes are resumed
 * ```ts
 * import { writeAll } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const got: number[] = [];
 * const oneByteAtATime = {
 *   write: (p: Uint8Array) => (got.push(p[0]!), Promise.resolve(1)),
 * };
 * await writeAll(oneByteAtATime, new Uint8Array([1, 2, 3]));
 * assertEquals(got, [1, 2, 3]);
 * ```
 */
export async function writeAll(w: Writer, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await w.write(bytes.subarray(off));
}

/**
 * Closes `c`, ignoring the error of a resource that is already closed.
 *
 * @param c The connection (or listener).
 *
 * @example Closing twice is harmless
 * ```ts
 * import { closeQuietly } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * let closes = 0;
 * const conn = {
 *   close() {
 *     if (closes++ > 0) throw new Deno.errors.BadResource("closed");
 *   },
 * };
 * closeQuietly(conn);
 * closeQuietly(conn);
 * equal(closes, 2);
 * ```
 */
export function closeQuietly(c: Closer): void {
  try {
    c.close();
  } catch {
    // Already closed.
  }
}

/**
 * Whether an error means "the socket, stream or listener was closed" rather
 * than a fault worth reporting.
 *
 * @param err What was thrown.
 * @returns `true` for Deno's closed-resource, interrupted, reset, aborted,
 * not-connected and broken-pipe errors, a TLS peer's close without
 * `close_notify` (`UnexpectedEof`), and for core's
 * {@linkcode StreamClosedError}.
 *
 * @example Usage
 * ```ts
 * import { isClosedError, StreamClosedError } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(isClosedError(new Deno.errors.ConnectionReset("reset")), true);
 * equal(isClosedError(new Deno.errors.UnexpectedEof("no close_notify")), true);
 * equal(isClosedError(new StreamClosedError("Cannot write: writer is closed")), true);
 * equal(isClosedError(new TypeError("bug")), false);
 * ```
 */
export function isClosedError(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.NotConnected ||
    // A TLS peer that closed without close_notify (browsers do).
    err instanceof Deno.errors.UnexpectedEof ||
    err instanceof StreamClosedError;
}
