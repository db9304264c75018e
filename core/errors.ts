/**
 * Errors raised by the core I/O helpers.
 *
 * @module
 */

/**
 * The stream ended before the bytes a caller asked for arrived.
 *
 * @example What a short stream reports
 * ```ts
 * import { UnexpectedEofError } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const err = new UnexpectedEofError(10, 4);
 * equal(err.message, "Cannot read 10 bytes: stream ended after 4");
 * equal(err.wanted, 10);
 * equal(err.received, 4);
 * equal(err.name, "UnexpectedEofError");
 * ```
 */
export class UnexpectedEofError extends Error {
  /** How many bytes were wanted. */
  readonly wanted: number;
  /** How many bytes had arrived when the stream ended. */
  readonly received: number;

  /**
   * Creates the error.
   *
   * @param wanted How many bytes were wanted.
   * @param received How many had arrived.
   */
  constructor(wanted: number, received: number) {
    super(`Cannot read ${wanted} bytes: stream ended after ${received}`);
    this.name = "UnexpectedEofError";
    this.wanted = wanted;
    this.received = received;
  }
}

/**
 * A read went past a size limit the caller set (for example a delimiter not
 * found within `maxBytes`).
 *
 * @example The limit travels with the error
 * ```ts
 * import { BufferLimitError } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const err = new BufferLimitError(8192);
 * equal(err.limit, 8192);
 * equal(err.message, "Cannot buffer more than 8192 bytes: limit reached");
 * ```
 */
export class BufferLimitError extends Error {
  /** The limit, in bytes. */
  readonly limit: number;

  /**
   * Creates the error.
   *
   * @param limit The limit that was exceeded, in bytes.
   * @param message What was being read.
   */
  constructor(limit: number, message?: string) {
    super(message ?? `Cannot buffer more than ${limit} bytes: limit reached`);
    this.name = "BufferLimitError";
    this.limit = limit;
  }
}

/**
 * An operation on a reader or writer that was already detached or closed.
 *
 * @example A write after close
 * ```ts
 * import { BufWriter, StreamClosedError } from "@coroio/core";
 * import { rejects } from "node:assert/strict";
 *
 * const writer = new BufWriter({ write: (p) => Promise.resolve(p.length) });
 * writer.close();
 * await rejects(
 *   (async () => {
 *     writer.write(new Uint8Array(1));
 *     await writer.flush();
 *   })(),
 *   StreamClosedError,
 * );
 * ```
 */
export class StreamClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted and why it failed.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StreamClosedError";
  }
}
