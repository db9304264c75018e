import {
  type ErrorReporter,
  type HttpRequest,
  STATUS_TEXT,
  type Takeover,
  type UpgradeTarget,
} from "@coroio/http";
import {
  computeAcceptKey,
  isValidKey,
  type WebSocketHandler,
  WebSocketSession,
  type WebSocketSessionOptions,
} from "@coroio/ws";

/**
 * What {@linkcode WebSocketRoute.onUpgrade} decides for one handshake.
 * Returning `undefined` accepts with the defaults.
 */
export interface UpgradeDecision<T = unknown> {
  /**
   * Refuse the upgrade with this status (400-599) instead of 101, for
   * authentication or origin checks. The connection closes after it.
   */
  status?: number;
  /** The body of a refusal. @default {the status text} */
  body?: string;
  /**
   * The subprotocol to agree to; must be one the client offered.
   *
   * @default {the first offered protocol listed in the target's `protocols`}
   */
  protocol?: string;
  /** Extra header fields for the 101 (or the refusal), e.g. `Set-Cookie`. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The session's initial `data`, readable by the handler as `ws.data`. */
  data?: T;
}

/**
 * A WebSocket handler (one object for every session on the route, one
 * method per event) that may also decide each handshake.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example Refusing clients from other origins
 * ```ts
 * import type { HttpRequest } from "@coroio/http";
 * import type { UpgradeDecision, WebSocketRoute } from "@coroio/http-ws";
 * import type { WebSocketSession } from "@coroio/ws";
 *
 * class Guarded implements WebSocketRoute<{ user: string }> {
 *   onUpgrade(req: HttpRequest): UpgradeDecision<{ user: string }> {
 *     const origin = req.headers.get("origin");
 *     if (origin !== null && origin !== "http://127.0.0.1:8080") return { status: 403 };
 *     return { data: { user: req.query } };
 *   }
 *   onMessage(ws: WebSocketSession<{ user: string }>, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * console.log(typeof new Guarded().onUpgrade); // "function"
 * ```
 */
export interface WebSocketRoute<T = unknown> extends WebSocketHandler<T> {
  /**
   * Called after the handshake request was validated, before the 101.
   *
   * @param request The HTTP request (headers, path, query, params, peer).
   * @param protocols The subprotocols the client offered, in order.
   * @returns The decision, or `undefined` to accept.
   */
  onUpgrade?(
    request: HttpRequest,
    protocols: readonly string[],
  ): UpgradeDecision<T> | undefined | Promise<UpgradeDecision<T> | undefined>;
}

/** Options for {@linkcode WebSocketTarget}. */
export interface WebSocketTargetOptions extends Omit<WebSocketSessionOptions, "role" | "protocol"> {
  /**
   * Subprotocols this route speaks; the first one the client offers is
   * chosen unless `onUpgrade` picks.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Where handshake errors the target survives go (an `onUpgrade` that
   * threw, an invalid decision).
   *
   * @default {a reporter that writes to console.error}
   */
  errorReporter?: ErrorReporter;
}

const encoder = new TextEncoder();

/** One connection between takeover and the end of its session. */
class Pending {
  session: WebSocketSession<unknown> | null = null;
  shuttingDown = false;
  readonly conn: Deno.Conn;
  readonly #conns: Map<Deno.Conn, Pending>;
  constructor(conn: Deno.Conn, conns: Map<Deno.Conn, Pending>) {
    this.conn = conn;
    this.#conns = conns;
  }
  /** Forgets the connection when its session ends (one per connection). */
  readonly release = (): void => {
    this.#conns.delete(this.conn);
  };
}

/**
 * The bridge between `@coroio/http` and `@coroio/ws`: an
 * {@linkcode UpgradeTarget} that validates the WebSocket opening handshake
 * (RFC 6455 section 4.2), answers `101 Switching Protocols` and runs a
 * {@linkcode WebSocketSession} on the taken-over connection, starting with
 * the bytes the HTTP server had already read past the request head.
 *
 * Bad handshakes get `400` (or `426` with `Sec-WebSocket-Version: 13` for
 * another version) and a closed connection. On graceful shutdown of the HTTP
 * server every session gets a close frame with 1001 and time to finish.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example An echo route beside ordinary routes
 * ```ts
 * import { HttpServer, Router } from "@coroio/http";
 * import { WebSocketTarget, type WebSocketRoute } from "@coroio/http-ws";
 * import type { WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketRoute {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const server = new HttpServer(new Router().upgrade("/ws", new WebSocketTarget(new Echo())), {
 *   port: 0,
 * });
 * const { port } = server.listen();
 * const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
 * const reply = await new Promise<string>((resolve, reject) => {
 *   client.onopen = () => client.send("hi");
 *   client.onmessage = (e) => resolve(e.data);
 *   client.onerror = reject;
 * });
 * equal(reply, "hi");
 * const closed = new Promise((r) => client.onclose = r);
 * client.close();
 * await closed;
 * await server.shutdown();
 * ```
 */
export class WebSocketTarget<T = unknown> implements UpgradeTarget {
  /** The `Upgrade` token this target serves. */
  readonly protocol = "websocket";
  #handler: WebSocketRoute<T>;
  #options: WebSocketSessionOptions;
  #protocols: readonly string[];
  #conns = new Map<Deno.Conn, Pending>();

  /**
   * Creates the target for one route.
   *
   * @param handler Receives every session's events.
   * @param options Session limits and timeouts, and the subprotocols spoken.
   */
  constructor(handler: WebSocketRoute<T>, options: WebSocketTargetOptions = {}) {
    this.#handler = handler;
    const { protocols, errorReporter, ...session } = options;
    this.#protocols = protocols ?? [];
    this.#reporter = errorReporter ?? null;
    this.#options = { ...session, role: "server" };
  }

  /**
   * Sessions (and handshakes) in progress on this route.
   *
   * @returns The count.
   */
  get size(): number {
    return this.#conns.size;
  }

  /**
   * Validates the handshake, writes the 101 and runs the session until the
   * connection closes. Called by the HTTP server after a takeover.
   *
   * @param takeover The connection, the request and the leftover bytes.
   * @returns A promise that settles when the connection is closed.
   */
  upgrade(takeover: Takeover): Promise<void> {
    // The handshake runs in its own frame so that the request and the
    // takeover record are garbage while the session runs.
    return this.#handshake(takeover).then(this.#run);
  }

  /** Runs an accepted session; bound once per target. */
  #run = (pending: Pending | null): Promise<void> | undefined => {
    return pending === null ? undefined : this.#session(pending);
  };

  #session(pending: Pending): Promise<void> {
    // A promise chain, not an async frame kept suspended per connection.
    const session = pending.session!;
    const running = session.run();
    if (pending.shuttingDown) session.close(1001, "server shutting down").catch(ignore);
    return running.finally(pending.release);
  }

  async #handshake(takeover: Takeover): Promise<Pending | null> {
    const { conn, head: leftover, httpRequest: req } = takeover;
    const pending = new Pending(conn, this.#conns);
    this.#conns.set(conn, pending);
    try {
      const head = takeover.request;
      const key = head.headers.getAll("sec-websocket-key");
      const versions = head.headers.getAll("sec-websocket-version");
      let problem: string | null = null;
      if (head.method !== "GET") problem = "the method must be GET";
      else if (head.upgrade === null || !hasToken(head.upgrade, "websocket")) {
        // The router checks this too, but the target may be reached through
        // res.upgrade() from any handler.
        problem = "Upgrade must name websocket and Connection must list upgrade";
      } else if (head.version !== "HTTP/1.1") problem = "the version must be HTTP/1.1";
      else if (head.chunked || head.contentLength > 0) problem = "a handshake has no body";
      else if (versions.length !== 1 || versions[0] !== "13") {
        await reject(conn, 426, "Upgrade Required: only WebSocket version 13 is supported", [
          ["Sec-WebSocket-Version", "13"],
        ]);
        this.#conns.delete(conn);
        return null;
      } else if (key.length !== 1 || !isValidKey(key[0]!)) {
        problem = "Sec-WebSocket-Key must be base64 of 16 bytes";
      }
      if (problem !== null) {
        await reject(conn, 400, `Bad Request: invalid WebSocket handshake: ${problem}`, []);
        this.#conns.delete(conn);
        return null;
      }
      const offered = splitTokens(head.headers.getAll("sec-websocket-protocol"));
      let decision: UpgradeDecision<T> | undefined;
      try {
        decision = this.#handler.onUpgrade === undefined
          ? undefined
          : await this.#handler.onUpgrade(req, offered);
      } catch (err) {
        this.#report(err);
        await reject(conn, 500, "Internal Server Error", []);
        this.#conns.delete(conn);
        return null;
      }
      if (decision?.status !== undefined) {
        const status = decision.status >= 400 && decision.status <= 599 ? decision.status : 500;
        await reject(conn, status, decision.body ?? statusText(status), decision.headers ?? []);
        this.#conns.delete(conn);
        return null;
      }
      const protocol = decision?.protocol ?? offered.find((p) => this.#protocols.includes(p)) ?? "";
      if (protocol !== "" && !offered.includes(protocol)) {
        this.#report(new TypeError(`Cannot accept: subprotocol "${protocol}" was not offered`));
        await reject(conn, 500, "Internal Server Error", []);
        this.#conns.delete(conn);
        return null;
      }
      let response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await computeAcceptKey(key[0]!)}\r\n`;
      if (protocol !== "") response += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
      response += headerLines(decision?.headers ?? []) + "\r\n";
      await writeAll(conn, encoder.encode(response));
      const options = protocol === "" ? this.#options : { ...this.#options, protocol };
      const session = new WebSocketSession<T>(
        conn,
        leftover,
        this.#handler,
        options,
        decision?.data,
      );
      pending.session = session as WebSocketSession<unknown>;
      return pending;
    } catch (err) {
      // The peer went away during the handshake, or a decision was invalid.
      if (!isClosedError(err)) this.#report(err);
      closeQuietly(conn);
      this.#conns.delete(conn);
      return null;
    }
  }

  /**
   * Graceful shutdown of the HTTP server reached a connection of this route:
   * its session is closed with 1001 (and given the close timeout to finish).
   *
   * @param conn A connection this target took over.
   */
  shutdown(conn: Deno.Conn): void {
    const pending = this.#conns.get(conn);
    if (pending === undefined) return;
    pending.shuttingDown = true;
    pending.session?.close(1001, "server shutting down").catch(ignore);
  }

  #reporter: ErrorReporter | null;

  #report(err: unknown): void {
    try {
      if (this.#reporter !== null) this.#reporter.report(err, "upgrade");
      // deno-lint-ignore no-console
      else console.error("coroio/http-ws: handshake failed:", err);
    } catch {
      // A reporter that throws must not break the handshake path.
    }
  }
}

function ignore(): void {}

/** The peer went away: nothing worth reporting. */
function isClosedError(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.Interrupted;
}

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(",")) {
    const t = part.trim().toLowerCase();
    if (t === token || t.startsWith(token + "/")) return true;
  }
  return false;
}

function splitTokens(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = part.trim();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? "Internal Server Error" : "Bad Request");
}

function headerLines(headers: ReadonlyArray<readonly [string, string]>): string {
  let s = "";
  for (const [name, value] of headers) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new TypeError(`Cannot add header "${name}": invalid name or value`);
    }
    s += `${name}: ${value}\r\n`;
  }
  return s;
}

async function reject(
  conn: Deno.Conn,
  status: number,
  body: string,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<void> {
  const bytes = encoder.encode(body + "\n");
  const head = `HTTP/1.1 ${status} ${statusText(status)}\r\nDate: ${new Date().toUTCString()}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n` +
    headerLines(headers) + "Connection: close\r\n\r\n";
  try {
    await writeAll(conn, encoder.encode(head));
    await writeAll(conn, bytes);
  } catch {
    // The peer is gone.
  } finally {
    closeQuietly(conn);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
