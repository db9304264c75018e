/**
 * The one rule every numeric option of every package follows: a size, a
 * count or a duration in milliseconds is a safe integer no smaller than its
 * minimum, checked once when the object is constructed.
 *
 * @module
 */

/**
 * Returns `value` (or `fallback` when `value` is `undefined`) after checking
 * that it is a safe integer `>= min`.
 *
 * @param owner What is being constructed, for the message (`"HttpServer"`).
 * @param name The option's name.
 * @param value The value given, if any.
 * @param fallback The default.
 * @param min The smallest allowed value.
 * @returns The checked value.
 * @throws {RangeError} If the value is not a safe integer `>= min`.
 *
 * @example A fractional size is refused at construction
 * ```ts
 * import { intOption } from "@coroio/core";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * equal(intOption("HttpServer", "maxHeadSize", undefined, 16384), 16384);
 * throws(
 *   () => intOption("HttpServer", "maxHeadSize", 1.5, 16384),
 *   /Cannot create HttpServer: maxHeadSize must be an integer >= 1, got 1.5/,
 * );
 * ```
 */
export function intOption(
  owner: string,
  name: string,
  value: number | undefined,
  fallback: number,
  min: number = 1,
): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`Cannot create ${owner}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}
