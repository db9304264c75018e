import { listHasToken } from "@coroio/core/http1";
import { describeValue } from "./_describe.ts";
import type { Handler, HandlerResult } from "./handler.ts";
import type { UpgradeTarget } from "./upgrade.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/** Options for {@linkcode Router}. */
export interface RouterOptions {
  /** Serves requests no route matches. @default {a plain-text 404} */
  notFound?: Handler;
}

/** A sub-router and the path prefix it serves. */
interface Mount {
  /** `/api`: no trailing slash. */
  prefix: string;
  router: Router;
}

/** The most static routes of one path length compared one by one (more are hashed). */
const STATIC_SCAN_MAX = 8;

interface Route {
  /** Handlers by method. */
  methods: Map<string, Handler>;
  /** Upgrade target for GET requests that ask for its protocol. */
  upgrade: UpgradeTarget | null;
  /** For parameter routes: the pattern split into segments. */
  segments: string[] | null;
  /** Cached `Allow` value. */
  allow: string;
}

class NotFound implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.status = 404;
    res.send("Not Found\n");
  }
}

/**
 * Routes requests by method and path to handler objects. Paths are exact
 * (`/users`) or have parameters (`/users/:id`, read from `req.params`) and a
 * trailing wildcard (`/files/*`, in `req.params["*"]`). An unknown path gets
 * 404; a known path with another method gets 405 with `Allow`; `HEAD` is
 * served by the `GET` handler and `OPTIONS` answered with `Allow`.
 *
 * An upgrade route (`upgrade(path, target)`) hands `GET` requests that ask
 * for the target's protocol to it. Other `GET` requests to that path go to
 * the path's `GET` handler, or get `426 Upgrade Required` if it has none;
 * other methods get the usual 405 with `Allow`.
 *
 * A sub-router mounted under a prefix (`mount("/api", api)`) serves every
 * path under it, with the prefix taken off (see {@linkcode Router.mount}).
 *
 * Handlers are checked when added: anything but an object with a `handle`
 * method (a bare function, for instance) is refused with a `TypeError`.
 *
 * @example Routes with parameters
 * ```ts
 * import { HttpRequest, HttpResponse, HttpServer, Router } from "@coroio/http";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * class ShowUser {
 *   handle(req: HttpRequest, res: HttpResponse): void {
 *     res.send(`user ${req.params.id}`);
 *   }
 * }
 * const router = new Router().get("/users/:id", new ShowUser());
 * deepEqual(router.routes(), ["GET /users/:id"]);
 *
 * const server = new HttpServer(router, { port: 0 });
 * const { port } = server.listen();
 * const user = await fetch(`http://127.0.0.1:${port}/users/42`);
 * equal(await user.text(), "user 42");
 * const other = await fetch(`http://127.0.0.1:${port}/users/42`, { method: "POST" });
 * equal(other.status, 405);
 * equal(other.headers.get("allow"), "GET, HEAD");
 * await other.body?.cancel();
 * const missing = await fetch(`http://127.0.0.1:${port}/nope`);
 * equal(missing.status, 404);
 * await missing.body?.cancel();
 * await server.shutdown();
 * ```
 */
export class Router implements Handler {
  #static = new Map<string, Route>();
  /**
   * The static routes again, by path length: a request's path is a fresh
   * string, which a `Map` lookup must hash first; compared against the few
   * paths of its length it needs no hash (see `#findStatic`).
   */
  #byLength: Array<Array<{ path: string; route: Route }> | undefined> = [];
  #dynamic: Route[] = [];
  /** Longest prefix first. */
  #mounts: Mount[] = [];
  #notFound: Handler;

  /**
   * Creates an empty router.
   *
   * @param options The not-found handler.
   * @throws {TypeError} If `notFound` is not an object with a `handle` method.
   */
  constructor(options: RouterOptions = {}) {
    if (options.notFound !== undefined) {
      checkHandler("Cannot create Router: notFound", options.notFound);
    }
    this.#notFound = options.notFound ?? new NotFound();
  }

  /**
   * Adds a handler for a method and path.
   *
   * @param method The method (e.g. `"GET"`), case-sensitive as HTTP is.
   * @param path `/exact`, `/with/:param`, or `/prefix/*`.
   * @param handler The handler object.
   * @returns This router.
   * @throws {TypeError} If the path does not start with `/`, the method
   * already has a handler for it, or `handler` is not an object with a
   * `handle` method.
   */
  add(method: string, path: string, handler: Handler): this {
    checkHandler(`Cannot add route ${method} ${path}: the handler`, handler);
    const route = this.#route(path);
    if (route.methods.has(method)) {
      throw new TypeError(`Cannot add route: ${method} ${path} is already routed`);
    }
    route.methods.set(method, handler);
    route.allow = allowOf(route);
    return this;
  }

  /**
   * Adds a `GET` route (which also serves `HEAD`).
   *
   * @param path The path pattern.
   * @param handler The handler.
   * @returns This router.
   */
  get(path: string, handler: Handler): this {
    return this.add("GET", path, handler);
  }

  /**
   * Adds a `POST` route.
   *
   * @param path The path pattern.
   * @param handler The handler.
   * @returns This router.
   */
  post(path: string, handler: Handler): this {
    return this.add("POST", path, handler);
  }

  /**
   * Adds a `PUT` route.
   *
   * @param path The path pattern.
   * @param handler The handler.
   * @returns This router.
   */
  put(path: string, handler: Handler): this {
    return this.add("PUT", path, handler);
  }

  /**
   * Adds a `PATCH` route.
   *
   * @param path The path pattern.
   * @param handler The handler.
   * @returns This router.
   */
  patch(path: string, handler: Handler): this {
    return this.add("PATCH", path, handler);
  }

  /**
   * Adds a `DELETE` route.
   *
   * @param path The path pattern.
   * @param handler The handler.
   * @returns This router.
   */
  delete(path: string, handler: Handler): this {
    return this.add("DELETE", path, handler);
  }

  /**
   * Adds an upgrade route: `GET` requests to `path` whose `Upgrade` header
   * names `target.protocol` (and whose `Connection` lists `upgrade`) are
   * handed to `target` with the connection.
   *
   * @param path The path pattern.
   * @param target The protocol handler.
   * @returns This router.
   * @throws {TypeError} If the path already has an upgrade target, or
   * `target` has no `upgrade` method or no `protocol` string.
   */
  upgrade(path: string, target: UpgradeTarget): this {
    if (
      typeof target !== "object" || target === null || typeof target.upgrade !== "function" ||
      typeof target.protocol !== "string"
    ) {
      throw new TypeError(
        `Cannot add upgrade route ${path}: the target must be an object with an upgrade() method ` +
          `and a protocol string, not ${describeValue(target)}`,
      );
    }
    const route = this.#route(path);
    if (route.upgrade !== null) {
      throw new TypeError(`Cannot add upgrade route: ${path} already has one`);
    }
    route.upgrade = target;
    route.allow = allowOf(route);
    return this;
  }

  /**
   * Mounts a sub-router under a path prefix: every request whose path is
   * the prefix or starts with the prefix and `/` goes to `router` with the
   * prefix taken off (`/api/users/7` is routed as `/users/7`, `/api` as
   * `/`). Inside, routes work as in any router: parameters and wildcards,
   * 404 from the sub-router's `notFound`, 405 with `Allow`, `HEAD` and
   * `OPTIONS`, upgrade routes. `req.path` stays the full path.
   *
   * The prefix is exact (no parameters). This router's exact routes are
   * matched first, then mounts (longest prefix first), then its parameter
   * routes. Routes added to `router` later are served too.
   *
   * @param prefix `/name` or `/a/b`, without a trailing slash.
   * @param router The sub-router.
   * @returns This router.
   * @throws {TypeError} If `router` is not a `Router` (or is this one), the
   * prefix is not an exact path, or it is already mounted.
   *
   * @example An API under /api
   * ```ts
   * import { type HttpRequest, type HttpResponse, HttpServer, Router } from "@coroio/http";
   * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
   *
   * class User {
   *   handle(req: HttpRequest, res: HttpResponse): void {
   *     res.json({ id: req.params.id });
   *   }
   * }
   * const api = new Router().get("/users/:id", new User());
   * const app = new Router().mount("/api", api);
   * deepEqual(app.routes(), ["GET /api/users/:id"]);
   *
   * const server = new HttpServer(app, { port: 0 });
   * const { port } = server.listen();
   * const res = await fetch(`http://127.0.0.1:${port}/api/users/7`);
   * deepEqual(await res.json(), { id: "7" });
   * const wrong = await fetch(`http://127.0.0.1:${port}/api/users/7`, { method: "DELETE" });
   * equal(wrong.status, 405);
   * equal(wrong.headers.get("allow"), "GET, HEAD");
   * await wrong.body?.cancel();
   * await server.shutdown();
   * ```
   */
  mount(prefix: string, router: Router): this {
    if (!(router instanceof Router) || router === this) {
      throw new TypeError(
        `Cannot mount at ${prefix}: expected another Router, not ${describeValue(router)}`,
      );
    }
    if (
      !prefix.startsWith("/") || prefix.length < 2 || prefix.endsWith("/") ||
      prefix.includes("/:") || prefix.split("/").includes("*") || /[?#]/.test(prefix)
    ) {
      throw new TypeError(
        `Cannot mount at "${prefix}": the prefix must be an exact path like "/api", ` +
          "without parameters, wildcard or trailing slash",
      );
    }
    if (this.#mounts.some((m) => m.prefix === prefix)) {
      throw new TypeError(`Cannot mount at ${prefix}: a router is already mounted there`);
    }
    this.#mounts.push({ prefix, router });
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  /**
   * Lists the routes, for diagnostics, mounted ones with their prefix.
   *
   * @returns `"METHOD /path"` strings (`"UPGRADE /path"` for upgrade routes).
   */
  routes(): string[] {
    const out: string[] = [];
    for (const [path, r] of this.#static) list(out, path, r);
    for (const m of this.#mounts) {
      for (const line of m.router.routes()) {
        const space = line.indexOf(" ");
        const path = line.slice(space + 1);
        out.push(line.slice(0, space + 1) + m.prefix + (path === "/" ? "" : path));
      }
    }
    for (const r of this.#dynamic) list(out, "/" + r.segments!.join("/"), r);
    return out;
  }

  #route(path: string): Route {
    if (!path.startsWith("/")) {
      throw new TypeError(`Cannot add route: path "${path}" must start with "/"`);
    }
    const isDynamic = path.includes("/:") || path.split("/").includes("*");
    if (!isDynamic) {
      let r = this.#static.get(path);
      if (r === undefined) {
        r = { methods: new Map(), upgrade: null, segments: null, allow: "" };
        this.#static.set(path, r);
        (this.#byLength[path.length] ??= []).push({ path, route: r });
      }
      return r;
    }
    const segments = path.slice(1).split("/");
    const star = segments.indexOf("*");
    if (star >= 0 && star !== segments.length - 1) {
      throw new TypeError(`Cannot add route: "*" must be the last segment of "${path}"`);
    }
    const key = segments.join("/");
    let r = this.#dynamic.find((d) => d.segments!.join("/") === key);
    if (r === undefined) {
      r = { methods: new Map(), upgrade: null, segments, allow: "" };
      this.#dynamic.push(r);
    }
    return r;
  }

  /**
   * Routes one request.
   *
   * @param req The request.
   * @param res The response.
   * @returns What the chosen handler returns.
   */
  handle(req: HttpRequest, res: HttpResponse): HandlerResult | Promise<HandlerResult> {
    return this.#dispatch(req, res, req.path);
  }

  /** Routes a request by `path` (the request's path, less the prefixes of mounts). */
  #dispatch(
    req: HttpRequest,
    res: HttpResponse,
    path: string,
  ): HandlerResult | Promise<HandlerResult> {
    let route = this.#findStatic(path);
    if (route === undefined && this.#mounts.length > 0) {
      for (const m of this.#mounts) {
        const n = m.prefix.length;
        if (path.startsWith(m.prefix) && (path.length === n || path.charCodeAt(n) === 0x2f)) {
          return m.router.#dispatch(req, res, path.length === n ? "/" : path.slice(n));
        }
      }
    }
    if (route === undefined) {
      const matched = this.#match(path);
      if (matched === null) return this.#notFound.handle(req, res);
      route = matched.route;
      req.params = matched.params;
    }
    const method = req.method;
    const upgrade = route.upgrade;
    if (upgrade !== null && method === "GET") {
      const asked = req.head.upgrade;
      if (asked !== null && listHasToken([asked], upgrade.protocol)) {
        return upgrade;
      }
      if (!route.methods.has("GET")) {
        res.status = 426;
        res.setHeader("Upgrade", upgrade.protocol);
        res.setHeader("Connection", "Upgrade");
        res.send(`Upgrade Required: this resource speaks ${upgrade.protocol}\n`);
        return;
      }
    }
    const handler = route.methods.get(method) ??
      (method === "HEAD" ? route.methods.get("GET") : undefined);
    if (handler !== undefined) return handler.handle(req, res);
    if (method === "OPTIONS") {
      res.status = 204;
      res.setHeader("Allow", route.allow + ", OPTIONS");
      res.send();
      return;
    }
    res.status = 405;
    res.setHeader("Allow", route.allow);
    res.send("Method Not Allowed\n");
  }

  /** The static route of `path`, if any. */
  #findStatic(path: string): Route | undefined {
    const same = this.#byLength[path.length];
    if (same === undefined) return undefined;
    // Many paths of one length: the map's hash pays off.
    if (same.length > STATIC_SCAN_MAX) return this.#static.get(path);
    for (let i = 0; i < same.length; i++) {
      if (same[i]!.path === path) return same[i]!.route;
    }
    return undefined;
  }

  #match(path: string): { route: Route; params: Record<string, string> } | null {
    if (this.#dynamic.length === 0) return null;
    const parts = path.slice(1).split("/");
    outer: for (const route of this.#dynamic) {
      const segs = route.segments!;
      const last = segs.length - 1;
      const wildcard = segs[last] === "*";
      if (wildcard ? parts.length < last : parts.length !== segs.length) continue;
      let params: Record<string, string> | null = null;
      for (let i = 0; i < segs.length; i++) {
        const seg = segs[i]!;
        if (wildcard && i === last) {
          params ??= {};
          params["*"] = decode(parts.slice(i).join("/"));
          break;
        }
        const part = parts[i]!;
        if (seg.charCodeAt(0) === 0x3a /* : */) {
          if (part.length === 0) continue outer;
          params ??= {};
          params[seg.slice(1)] = decode(part);
        } else if (seg !== part) {
          continue outer;
        }
      }
      return { route, params: params ?? {} };
    }
    return null;
  }
}

function decode(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function allowOf(route: Route): string {
  const methods = [...route.methods.keys()];
  if ((route.methods.has("GET") || route.upgrade !== null) && !methods.includes("HEAD")) {
    if (!route.methods.has("GET")) methods.push("GET");
    else methods.push("HEAD");
  }
  return methods.join(", ");
}

function list(out: string[], path: string, r: Route): void {
  for (const m of r.methods.keys()) out.push(`${m} ${path}`);
  if (r.upgrade !== null) out.push(`UPGRADE ${path}`);
}

/** Refuses, at registration, a handler that could not serve a request. */
function checkHandler(what: string, handler: unknown): void {
  if (typeof handler === "object" && handler !== null) {
    if (typeof (handler as Handler).handle === "function") return;
  }
  const hint = typeof handler === "function"
    ? " (wrap the function: { handle: fn }, or a class with a handle method)"
    : "";
  throw new TypeError(
    `${what} must be an object with a handle() method, not ${describeValue(handler)}${hint}`,
  );
}
