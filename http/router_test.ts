import { deepStrictEqual as deepEqual, strictEqual as equal, throws } from "node:assert/strict";
import type { ConnectionHandle } from "@coroio/core";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import type { Takeover, UpgradeTarget } from "./upgrade.ts";
import { exchangeInMemory, parseWritten, type WrittenResponse } from "./_test_util.ts";

/** Answers with its name and the route parameters it got. */
class Named implements Handler {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  handle(req: HttpRequest, res: HttpResponse): void {
    res.send(`${this.name} ${JSON.stringify(req.params)}`);
  }
}

class Target implements UpgradeTarget {
  readonly protocol = "websocket";
  upgrade(_takeover: Takeover): Promise<ConnectionHandle | null> {
    return Promise.resolve(null);
  }
}

const target = new Target();

function router(): Router {
  return new Router()
    .get("/", new Named("root"))
    .get("/users/:id", new Named("user"))
    .put("/users/:id", new Named("put-user"))
    .delete("/users/:id", new Named("delete-user"))
    .get("/users/:id/posts/:post", new Named("post"))
    .get("/files/*", new Named("files"))
    .post("/items", new Named("create"))
    .upgrade("/ws", target)
    .get("/both", new Named("both-get"))
    .upgrade("/both", target);
}

const UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\n";

/** Runs one request through the router: what it wrote, or the target it returned. */
async function route(
  r: Router,
  method: string,
  target: string,
  extra = "",
): Promise<WrittenResponse | UpgradeTarget> {
  const { req, res, host } = exchangeInMemory(
    `${method} ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`,
  );
  const outcome = await r.handle(req, res);
  if (outcome !== undefined) return outcome;
  return parseWritten(await host.written());
}

// [method, target, extra header lines, status, body (or "" for none), Allow]
const cases: [string, string, string, number, string, string | null][] = [
  ["GET", "/", "", 200, "root {}", null],
  ["GET", "/?q=1", "", 200, "root {}", null],
  ["GET", "/users/42", "", 200, 'user {"id":"42"}', null],
  ["PUT", "/users/42", "", 200, 'put-user {"id":"42"}', null],
  ["GET", "/users/a%20b", "", 200, 'user {"id":"a b"}', null],
  ["GET", "/users/%E2%82%AC", "", 200, 'user {"id":"\u20ac"}', null],
  ["GET", "/users/%zz", "", 200, 'user {"id":"%zz"}', null],
  ["GET", "/users/7/posts/9", "", 200, 'post {"id":"7","post":"9"}', null],
  ["GET", "/files/a/b%2Fc.txt", "", 200, 'files {"*":"a/b/c.txt"}', null],
  ["GET", "/files/", "", 200, 'files {"*":""}', null],
  ["GET", "/users/", "", 404, "Not Found\n", null],
  ["GET", "/users/1/posts", "", 404, "Not Found\n", null],
  ["GET", "/nowhere", "", 404, "Not Found\n", null],
  ["POST", "/", "", 405, "Method Not Allowed\n", "GET, HEAD"],
  ["PATCH", "/users/1", "", 405, "Method Not Allowed\n", "GET, PUT, DELETE, HEAD"],
  ["GET", "/items", "", 405, "Method Not Allowed\n", "POST"],
  ["OPTIONS", "/users/1", "", 204, "", "GET, PUT, DELETE, HEAD, OPTIONS"],
  ["OPTIONS", "/items", "", 204, "", "POST, OPTIONS"],
  ["HEAD", "/", "", 200, "", null],
  ["GET", "/ws", "", 426, "Upgrade Required: this resource speaks websocket\n", null],
  ["POST", "/ws", "", 405, "Method Not Allowed\n", "GET"],
  [
    "GET",
    "/ws",
    "Upgrade: h2c\r\nConnection: Upgrade\r\n",
    426,
    "Upgrade Required: this resource speaks websocket\n",
    null,
  ],
  ["GET", "/both", "", 200, "both-get {}", null],
];

Deno.test("Router.handle() routes static, parameter and wildcard paths, with 404, 405 and OPTIONS", async () => {
  const r = router();
  for (const [method, path, extra, status, body, allow] of cases) {
    const what = `${method} ${path}`;
    const got = await route(r, method, path, extra);
    if (got instanceof Target) throw new Error(`${what}: upgraded`);
    const res = got as WrittenResponse;
    equal(res.status, status, what);
    equal(res.body, body, what);
    equal(res.headers.get("allow") ?? null, allow, what);
  }
});

Deno.test("Router.handle() finds static paths among others of the same length, few or many", async () => {
  for (const count of [1, 2, 8, 9, 40]) {
    const r = new Router();
    // Paths of one length ("/p00".."/pNN"), and one each of the lengths around it.
    const paths = Array.from({ length: count }, (_, i) => `/p${String(i).padStart(2, "0")}`);
    for (const p of paths) r.get(p, new Named(p));
    r.get("/p0", new Named("short")).get("/p000", new Named("long"));
    for (const p of [...paths, "/p0", "/p000"]) {
      const got = await route(r, "GET", `${p}?q=1`) as WrittenResponse;
      const want = p === "/p0" ? "short" : p === "/p000" ? "long" : p;
      equal(got.body, `${want} {}`, `${count} routes: ${p}`);
    }
    // Same length, no such route; and a prefix of one.
    for (const p of [`/p${count + 10}`, "/q00", "/P00", "/p", "/p0000"]) {
      equal((await route(r, "GET", p) as WrittenResponse).status, 404, `${count} routes: ${p}`);
    }
  }
});

Deno.test("Router.handle() answers HEAD with the GET handler and no body", async () => {
  const got = await route(router(), "HEAD", "/users/5") as WrittenResponse;
  equal(got.status, 200);
  equal(got.body, "");
  equal(got.headers.get("content-length"), String('user {"id":"5"}'.length));
});

Deno.test("Router.handle() returns the upgrade target when the request asks for its protocol", async () => {
  const r = router();
  equal(await route(r, "GET", "/ws", UPGRADE), target);
  equal(await route(r, "GET", "/both", UPGRADE), target);
  equal(await route(r, "GET", "/ws", "Upgrade: h2c, websocket\r\nConnection: upgrade\r\n"), target);
});

Deno.test("Router.handle() answers 426 with Upgrade and Connection on an upgrade-only route", async () => {
  const got = await route(router(), "GET", "/ws") as WrittenResponse;
  equal(got.status, 426);
  equal(got.headers.get("upgrade"), "websocket");
  equal(got.headers.get("connection"), "Upgrade");
});

Deno.test("Router.handle() uses the notFound handler it was given", async () => {
  const r = new Router({ notFound: new Named("missing") }).get("/", new Named("root"));
  const got = await route(r, "GET", "/x") as WrittenResponse;
  equal(got.status, 200);
  equal(got.body, "missing {}");
});

Deno.test("Router.add() refuses a duplicate route, a relative path and a wildcard not at the end", () => {
  const r = router();
  throws(() => r.get("/", new Named("again")), TypeError);
  throws(() => r.get("/users/:id", new Named("again")), TypeError);
  throws(() => r.upgrade("/ws", target), TypeError);
  throws(() => r.get("users", new Named("x")), TypeError);
  throws(() => r.get("/a/*/b", new Named("x")), TypeError);
});

Deno.test("Router.routes() lists every method and upgrade route", () => {
  deepEqual(router().routes(), [
    "GET /",
    "POST /items",
    "UPGRADE /ws",
    "GET /both",
    "UPGRADE /both",
    "GET /users/:id",
    "PUT /users/:id",
    "DELETE /users/:id",
    "GET /users/:id/posts/:post",
    "GET /files/*",
  ]);
});

Deno.test("Router.mount() serves a sub-router under a prefix exactly as it serves alone", async () => {
  const app = new Router().mount("/api", router());
  for (const [method, path, extra, status, body, allow] of cases) {
    const what = `${method} /api${path}`;
    const got = await route(app, method, "/api" + path, extra);
    if (got instanceof Target) throw new Error(`${what}: upgraded`);
    const res = got as WrittenResponse;
    equal(res.status, status, what);
    equal(res.body, body, what);
    equal(res.headers.get("allow") ?? null, allow, what);
  }
  equal(await route(app, "GET", "/api/ws", UPGRADE), target);
  const head = await route(app, "HEAD", "/api/users/5") as WrittenResponse;
  equal(head.headers.get("content-length"), String('user {"id":"5"}'.length));
  equal(head.body, "");
});

// [target, body]: which router answers
const mounted: [string, string][] = [
  ["/api", "api-root {}"],
  ["/api/", "api-root {}"],
  ["/api/items/3", 'api-item {"id":"3"}'],
  ["/api/health", "parent-health {}"],
  ["/api/v2/items/3", 'v2-item {"id":"3"}'],
  ["/api/v2", "v2-missing {}"],
  ["/api/nope", "api-missing {}"],
  ["/apix", 'parent-any {"name":"apix"}'],
  ["/other", 'parent-any {"name":"other"}'],
];

Deno.test("Router.mount() matches exact routes first, then the longest prefix, then parameters", async () => {
  const v2 = new Router({ notFound: new Named("v2-missing") }).get(
    "/items/:id",
    new Named("v2-item"),
  );
  const api = new Router({ notFound: new Named("api-missing") })
    .get("/", new Named("api-root"))
    .get("/items/:id", new Named("api-item"));
  const app = new Router()
    .get("/:name", new Named("parent-any"))
    .mount("/api", api)
    .get("/api/health", new Named("parent-health"))
    .mount("/api/v2", v2);
  for (const [path, body] of mounted) {
    equal((await route(app, "GET", path) as WrittenResponse).body, body, path);
  }
  deepEqual(app.routes(), [
    "GET /api/health",
    "GET /api/v2/items/:id",
    "GET /api",
    "GET /api/items/:id",
    "GET /:name",
  ]);
  // Routes added to a mounted router later are served.
  api.get("/late", new Named("late"));
  equal((await route(app, "GET", "/api/late") as WrittenResponse).body, "late {}");
});

Deno.test("Router.mount() refuses a prefix that is not an exact path, a non-router and itself", () => {
  const app = new Router().mount("/api", new Router());
  for (const prefix of ["api", "/", "/api/", "/a/:id", "/a/*", "/a?b"]) {
    throws(() => app.mount(prefix, new Router()), TypeError, prefix);
  }
  throws(() => app.mount("/api", new Router()), /already mounted/);
  throws(() => app.mount("/self", app), TypeError);
  throws(() => app.mount("/h", new Named("x") as unknown as Router), /not a Named/);
});

// [what, value, message part]
const notHandlers: [string, unknown, RegExp][] = [
  ["a function", (_req: HttpRequest, res: HttpResponse) => res.send("x"), /not a function \(wrap/],
  ["undefined", undefined, /not undefined/],
  ["null", null, /not null/],
  ["a plain object without handle", { handel() {} }, /not an object/],
  ["an instance without handle", new Date(), /not a Date/],
  ["a handle that is not a method", { handle: "yes" }, /handle\(\) method/],
];

Deno.test("Router.add() and friends refuse a handler without handle() at registration", () => {
  for (const [what, value, message] of notHandlers) {
    const h = value as Handler;
    for (
      const add of [
        (r: Router) => r.get("/x", h),
        (r: Router) => r.post("/x", h),
        (r: Router) => r.put("/x", h),
        (r: Router) => r.patch("/x", h),
        (r: Router) => r.delete("/x", h),
        (r: Router) => r.add("PROPFIND", "/x", h),
      ]
    ) {
      const r = new Router();
      throws(() => add(r), message, what);
      deepEqual(r.routes(), [], what);
    }
    if (value !== undefined) throws(() => new Router({ notFound: h }), message, what);
  }
  for (const bad of [undefined, {}, { protocol: "ws" }, { upgrade() {} }, () => null]) {
    throws(
      () => new Router().upgrade("/ws", bad as unknown as UpgradeTarget),
      /upgrade\(\) method/,
    );
  }
});
