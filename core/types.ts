/**
 * The narrow I/O interfaces the packages are written against. `Deno.Conn`
 * (and `Deno.TlsConn`) satisfy all of them, and so does any test double that
 * implements the three methods.
 *
 * @module
 */

/**
 * Something bytes can be read from, as `Deno.Conn` is.
 *
 * @example Usage
 * ```ts
 * import type { Reader } from "@coroio/core";
 *
 * const empty: Reader = { read: () => Promise.resolve(null) };
 * console.log(await empty.read(new Uint8Array(1))); // null
 * ```
 */
export interface Reader {
  /**
   * Reads up to `p.byteLength` bytes into `p`.
   *
   * @param p The buffer to read into.
   * @returns The number of bytes read, or `null` at end of stream.
   */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Something bytes can be written to, as `Deno.Conn` is.
 *
 * @example Usage
 * ```ts
 * import type { Writer } from "@coroio/core";
 *
 * const sink: Writer = { write: (p) => Promise.resolve(p.byteLength) };
 * console.log(await sink.write(new Uint8Array(3))); // 3
 * ```
 */
export interface Writer {
  /**
   * Writes some or all of `p`.
   *
   * @param p The bytes to write.
   * @returns How many bytes of `p` were written.
   */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Something that can be closed, as `Deno.Conn` is.
 *
 * @example Usage
 * ```ts
 * import type { Closer } from "@coroio/core";
 *
 * const c: Closer = { close() {} };
 * c.close();
 * ```
 */
export interface Closer {
  /** Releases the resource. */
  close(): void;
}

/**
 * A bidirectional byte stream: what the packages need of a `Deno.Conn`.
 *
 * @example Usage
 * ```ts
 * import type { Conn } from "@coroio/core";
 *
 * function describe(conn: Conn): string {
 *   return typeof conn.read === "function" ? "readable" : "?";
 * }
 * console.log(describe({ read: async () => null, write: async (p) => p.length, close() {} }));
 * ```
 */
export interface Conn extends Reader, Writer, Closer {}
