/**
 * Errors raised by the core I/O helpers.
 *
 * @module
 */

/**
 * The stream ended before the bytes a caller asked for arrived.
 *
 * @example Usage
 * ```ts
 * import { UnexpectedEofError } from "@coroio/core";
 *
 * const err = new UnexpectedEofError(10, 4);
 * console.log(err.message); // "Cannot read 10 bytes: stream ended after 4"
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
 * @example Usage
 * ```ts
 * import { BufferLimitError } from "@coroio/core";
 *
 * const err = new BufferLimitError(8192);
 * console.log(err.limit); // 8192
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
 * @example Usage
 * ```ts
 * import { StreamClosedError } from "@coroio/core";
 *
 * const err = new StreamClosedError("Cannot write: writer is closed");
 * console.log(err.name); // "StreamClosedError"
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
