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
