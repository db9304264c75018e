import type { ConnectionHandle } from "@coroio/core";
import type { HttpRequest } from "./request.ts";

/**
 * What an {@linkcode UpgradeTarget} receives: the connection and everything
 * the HTTP server knew about it. From then on the server neither reads,
 * writes nor closes `conn`; the target owns it and must close it.
 *
 * @example The bytes that came after the head are handed on
 * ```ts
 * import type { Takeover } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * function prefetched(t: Takeover): number {
 *   return t.buffered.byteLength;
 * }
 * const t = { buffered: new Uint8Array(3) } as unknown as Takeover;
 * equal(prefetched(t), 3);
 * ```
 */
export interface Takeover {
  /**
   * The request that asked for the upgrade: its head (`request.head`),
   * route parameters and the peer address.
   */
  readonly request: HttpRequest;
  /** The connection, now owned by the target. */
  readonly conn: Deno.Conn;
  /**
   * Every byte the server had read past the request head, in order (for
   * example WebSocket frames that arrived in the same TCP segment). May be
   * empty. The target must process these before reading `conn`.
   */
  readonly buffered: Uint8Array;
  /**
   * Tells the server what the target answered, for the access log: `101`
   * when it switched protocols, or the status of its refusal (401, 403,
   * 400...) with the refusal's body bytes. The first call is logged, later
   * ones are ignored. A target that never calls it is logged when
   * `upgrade()` settles: 101 if it returned a handle, status 0 ("answer
   * unknown") if it returned `null` or failed.
   *
   * Optional so that hand-made takeovers (tests) need not have it; the
   * server's always do: call it as `takeover.answered?.(status, bytes)`.
   *
   * @param status The status the target wrote.
   * @param bytesSent Body bytes of that response. @default {0}
   */
  answered?(status: number, bytesSent?: number): void;
}

/**
 * An external protocol handler that takes a connection over after an
 * upgrade request (WebSocket, for instance). The HTTP package knows nothing
 * about the protocol: a handler (or a router's upgrade route) returns the
 * target, the server flushes earlier responses, detaches the connection with
 * every byte it read past the request head, and calls
 * {@linkcode UpgradeTarget.upgrade}. The target answers the handshake itself
 * and returns the {@linkcode ConnectionHandle} of what it started: the
 * server's accept loop holds that handle for graceful shutdown.
 *
 * @example A raw-bytes echo target
 * ```ts
 * import type { ConnectionHandle } from "@coroio/core";
 * import {
 *   type Handler,
 *   HttpServer,
 *   type Takeover,
 *   type UpgradeTarget,
 * } from "@coroio/http";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class RawEcho implements UpgradeTarget {
 *   readonly protocol = "echo";
 *   upgrade({ conn, buffered }: Takeover): Promise<ConnectionHandle> {
 *     return Promise.resolve({ done: this.#echo(conn, buffered), shutdown: () => conn.close() });
 *   }
 *   async #echo(conn: Deno.Conn, buffered: Uint8Array): Promise<void> {
 *     try {
 *       await conn.write(new TextEncoder().encode(
 *         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
 *       ));
 *       if (buffered.length > 0) await conn.write(buffered);
 *       const buf = new Uint8Array(4096);
 *       for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
 *     } catch {
 *       // Closed by shutdown.
 *     } finally {
 *       try {
 *         conn.close();
 *       } catch {
 *         // Already closed.
 *       }
 *     }
 *   }
 * }
 * const echo = new RawEcho();
 * const upgradeAll: Handler = { handle: () => echo };
 * const server = new HttpServer(upgradeAll, { port: 0 });
 * const { port } = server.listen();
 * const c = await Deno.connect({ hostname: "127.0.0.1", port });
 * await c.write(new TextEncoder().encode(
 *   "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nhi",
 * ));
 * let got = "";
 * const buf = new Uint8Array(256);
 * while (!got.endsWith("hi")) got += new TextDecoder().decode(buf.subarray(0, (await c.read(buf))!));
 * equal(got.startsWith("HTTP/1.1 101 "), true);
 * c.close();
 * await server.shutdown();
 * ```
 */
export interface UpgradeTarget {
  /**
   * The protocol token this target serves, compared case-insensitively with
   * the request's `Upgrade` header (e.g. `"websocket"`). Requests to a
   * router's upgrade route that do not ask for it get `426 Upgrade Required`
   * naming it.
   */
  readonly protocol: string;
  /**
   * Takes the connection over: answer the handshake (or refuse and close)
   * and start the protocol.
   *
   * @param takeover The connection, the request and the bytes read past its head.
   * @returns The handle of what was started, or `null` when the target
   * refused the upgrade and closed the connection (report the refusal's
   * status with {@linkcode Takeover.answered} first, for the access log).
   */
  upgrade(takeover: Takeover): Promise<ConnectionHandle | null>;
}
