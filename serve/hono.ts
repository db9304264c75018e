import {
  type ServerWebSocket,
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
} from "./websocket.ts";

/** The events a hono WebSocket route returns, as in `hono/ws`. */
export interface WSEvents {
  /** The socket opened. */
  onOpen?: (evt: Event, ws: WSContext) => void;
  /** A message arrived. */
  onMessage?: (evt: MessageEvent, ws: WSContext) => void;
  /** The socket closed. */
  onClose?: (evt: CloseEvent, ws: WSContext) => void;
  /** The socket failed. */
  onError?: (evt: Event, ws: WSContext) => void;
}

/** The part of hono's `Context` the helper uses. */
export interface HonoContextLike {
  /** The request. */
  req: { raw: Request; header(name: string): string | undefined };
}

/** A hono middleware. */
export type HonoMiddleware = (
  c: HonoContextLike,
  next: () => Promise<void>,
) => Promise<Response | void>;

/**
 * What hono's WebSocket events receive as `ws` (the shape of hono's
 * `WSContext`).
 */
export interface WSContext {
  /** Sends a message. */
  send(source: string | ArrayBuffer | Uint8Array): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** The socket underneath. */
  readonly raw: ServerWebSocket;
  /** The socket's state. */
  readonly readyState: number;
  /** The agreed subprotocol, or `null`. */
  readonly protocol: string | null;
  /** The request URL. */
  readonly url: URL | null;
  /** How binary messages are delivered. */
  binaryType: BinaryType;
}

/**
 * Makes hono's `upgradeWebSocket` helper for apps served by `serve()`
 * (hono's own Deno helper calls `Deno.upgradeWebSocket`, which only works
 * under `Deno.serve`). Use it where `hono/deno`'s `upgradeWebSocket` was
 * imported.
 *
 * @example A hono WebSocket route
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createUpgradeWebSocket, serve } from "@coroio/serve";
 *
 * const upgradeWebSocket = createUpgradeWebSocket();
 * const app = new Hono().get("/ws", upgradeWebSocket(() => ({
 *   onMessage(evt, ws) {
 *     ws.send(String(evt.data));
 *   },
 * })));
 * serve(app.fetch);
 * ```
 *
 * @example Without hono, on a context-shaped object
 * ```ts
 * import { createUpgradeWebSocket } from "@coroio/serve";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const upgrade = createUpgradeWebSocket();
 * const middleware = upgrade(() => ({}));
 * let passed = false;
 * const c = { req: { raw: new Request("http://a/"), header: () => undefined } };
 * await middleware(c, () => Promise.resolve(void (passed = true)));
 * equal(passed, true); // not an upgrade request: the next handler runs
 * ```
 *
 * @param defaults Options used for every upgrade.
 * @returns hono's `upgradeWebSocket(createEvents, options)`.
 */
export function createUpgradeWebSocket(
  defaults: UpgradeWebSocketOptions = {},
): (
  createEvents: (c: HonoContextLike) => WSEvents | Promise<WSEvents>,
  options?: UpgradeWebSocketOptions,
) => HonoMiddleware {
  return function honoUpgradeWebSocket(createEvents, options) {
    return new UpgradeRoute(
      createEvents,
      options === undefined ? defaults : {
        ...defaults,
        ...options,
      },
    ).middleware;
  };
}

class UpgradeRoute {
  #create: (c: HonoContextLike) => WSEvents | Promise<WSEvents>;
  #options: UpgradeWebSocketOptions;
  readonly middleware: HonoMiddleware;

  constructor(
    create: (c: HonoContextLike) => WSEvents | Promise<WSEvents>,
    options: UpgradeWebSocketOptions,
  ) {
    this.#create = create;
    this.#options = options;
    this.middleware = this.#run.bind(this);
  }

  async #run(c: HonoContextLike, next: () => Promise<void>): Promise<Response | void> {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      await next();
      return;
    }
    const events = await this.#create(c);
    const { response, socket } = upgradeWebSocket(c.req.raw, this.#options);
    new HonoSocket(socket, events);
    return response;
  }
}

class HonoSocket implements WSContext {
  readonly raw: ServerWebSocket;
  #events: WSEvents;
  #url: URL | null = null;

  constructor(socket: ServerWebSocket, events: WSEvents) {
    this.raw = socket;
    this.#events = events;
    socket.addEventListener("open", this);
    socket.addEventListener("message", this);
    socket.addEventListener("close", this);
    socket.addEventListener("error", this);
  }

  handleEvent(evt: Event): void {
    const e = this.#events;
    switch (evt.type) {
      case "message":
        e.onMessage?.(evt as MessageEvent, this);
        break;
      case "open":
        e.onOpen?.(evt, this);
        break;
      case "close":
        e.onClose?.(evt as CloseEvent, this);
        break;
      case "error":
        e.onError?.(evt, this);
        break;
    }
  }

  send(source: string | ArrayBuffer | Uint8Array): void {
    this.raw.send(source);
  }

  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  get readyState(): number {
    return this.raw.readyState;
  }

  get protocol(): string | null {
    return this.raw.protocol === "" ? null : this.raw.protocol;
  }

  get url(): URL | null {
    return this.#url ??= new URL(this.raw.url);
  }

  get binaryType(): BinaryType {
    return this.raw.binaryType;
  }

  set binaryType(t: BinaryType) {
    this.raw.binaryType = t;
  }
}
