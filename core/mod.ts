/**
 * Core I/O for coroio: a buffered reader over a `Deno.Conn` with `detach()`
 * for connection takeover, a coalescing writer with backpressure accounting,
 * a coarse deadline set for timeouts without a timer per read, and a TCP
 * accept loop with connection tracking, limits and graceful shutdown.
 *
 * @example Detaching a reader: hand the conn and its unread bytes on
 * ```ts
 * import { BufReader } from "@coroio/core";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("HEAD\r\n\r\nleftover");
 * const conn = { read: (p: Uint8Array) => (p.set(bytes), Promise.resolve(bytes.length)) };
 * const reader = new BufReader(conn);
 * await reader.readUntil(new TextEncoder().encode("\r\n\r\n"), 1024);
 * const { buffered } = reader.detach();
 * assertEquals(new TextDecoder().decode(buffered), "leftover");
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./io.ts";
export * from "./options.ts";
export * from "./buf_reader.ts";
export * from "./buf_writer.ts";
export * from "./deadlines.ts";
export * from "./tcp_server.ts";
export * from "./ending_handle.ts";
export * from "./broker.ts";
export * from "./broker_envelope.ts";
export * from "./broker_events.ts";
export * from "./memory_broker.ts";
export { decodeLatin1 } from "./text.ts";
