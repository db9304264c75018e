import { listHasToken } from "@coroio/core/http1";
import type { Handler, HandlerResult } from "./handler.ts";
import type { UpgradeTarget } from "./upgrade.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/** Options for {@linkcode Router}. */
export interface RouterOptions {
  /** Serves requests no route matches. @default {a plain-text 404} */
  notFound?: Handler;
}

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
  #dynamic: Route[] = [];
  #notFound: Handler;

  /**
   * Creates an empty router.
   *
   * @param options The not-found handler.
   */
  constructor(options: RouterOptions = {}) {
    this.#notFound = options.notFound ?? new NotFound();
  }

  /**
   * Adds a handler for a method and path.
   *
   * @param method The method (e.g. `"GET"`), case-sensitive as HTTP is.
   * @param path `/exact`, `/with/:param`, or `/prefix/*`.
   * @param handler The handler object.
   * @returns This router.
   * @throws {TypeError} If the path does not start with `/` or the method
   * already has a handler for it.
   */
  add(method: string, path: string, handler: Handler): this {
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
   * @throws {TypeError} If the path already has an upgrade target.
   */
  upgrade(path: string, target: UpgradeTarget): this {
    const route = this.#route(path);
    if (route.upgrade !== null) {
      throw new TypeError(`Cannot add upgrade route: ${path} already has one`);
    }
    route.upgrade = target;
    route.allow = allowOf(route);
    return this;
  }

  /**
   * Lists the routes, for diagnostics.
   *
   * @returns `"METHOD /path"` strings (`"UPGRADE /path"` for upgrade routes).
   */
  routes(): string[] {
    const out: string[] = [];
    for (const [path, r] of this.#static) describe(out, path, r);
    for (const r of this.#dynamic) describe(out, "/" + r.segments!.join("/"), r);
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
    const path = req.path;
    let route = this.#static.get(path);
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

function describe(out: string[], path: string, r: Route): void {
  for (const m of r.methods.keys()) out.push(`${m} ${path}`);
  if (r.upgrade !== null) out.push(`UPGRADE ${path}`);
}
