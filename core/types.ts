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
 * @example A reader at end of stream
 * ```ts
 * import type { Reader } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const empty: Reader = { read: () => Promise.resolve(null) };
 * equal(await empty.read(new Uint8Array(1)), null);
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
 * @example A writer that takes everything
 * ```ts
 * import type { Writer } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const sink: Writer = { write: (p) => Promise.resolve(p.byteLength) };
 * equal(await sink.write(new Uint8Array(3)), 3);
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
 * @example Closing once
 * ```ts
 * import type { Closer } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * let closed = 0;
 * const c: Closer = { close: () => void closed++ };
 * c.close();
 * equal(closed, 1);
 * ```
 */
export interface Closer {
  /** Releases the resource. */
  close(): void;
}

/**
 * A bidirectional byte stream: what the packages need of a `Deno.Conn`.
 *
 * @example A Deno.Conn is a Conn
 * ```ts
 * import { BufReader, type Conn } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * const conn: Conn = client;
 * await conn.write(new TextEncoder().encode("hi"));
 * const reader = new BufReader(server);
 * await reader.fill();
 * equal(new TextDecoder().decode(reader.peek()), "hi");
 * conn.close();
 * server.close();
 * listener.close();
 * ```
 */
export interface Conn extends Reader, Writer, Closer {}
