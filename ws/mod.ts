/**
 * Placeholder: this package is being built.
 *
 * @module
 */
/** Package version. */
export const VERSION = "0.1.0";
