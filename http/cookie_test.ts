import { deepStrictEqual as assertEquals, strictEqual as equal, throws } from "node:assert/strict";
import { deleteCookie, parseCookies, serializeCookie, setCookie } from "./cookie.ts";
import { type HttpRequest, type HttpResponse, HttpServer } from "./mod.ts";

Deno.test("parseCookies() reads the pairs of a Cookie field", () => {
  const cases: [string | null, Record<string, string>][] = [
    [null, {}],
    ["", {}],
    ["a=1", { a: "1" }],
    ["a=1; b=2", { a: "1", b: "2" }],
    ["a=1;b=2", { a: "1", b: "2" }],
    [' a = "quoted" ', { a: "quoted" }],
    ["a=1; a=2", { a: "1" }],
    ["flag; a=1", { a: "1" }],
    ["bad name=1; ok=2", { ok: "2" }],
    ["a=; b=x=y", { a: "", b: "x=y" }],
  ];
  for (const [header, want] of cases) {
    assertEquals({ ...parseCookies(header) }, { ...want }, String(header));
  }
  const proto = parseCookies("__proto__=1; constructor=2");
  equal(Object.getPrototypeOf(proto), null);
  equal(proto["__proto__"], "1");
  equal(proto["constructor"], "2");
});

Deno.test("serializeCookie() writes valid attributes and rejects invalid ones", () => {
  const ok: [string, string, Parameters<typeof serializeCookie>[2], string][] = [
    ["a", "1", {}, "a=1"],
    ["a", '"q"', {}, 'a="q"'],
    ["a", "", { maxAge: 0 }, "a=; Max-Age=0"],
    [
      "a",
      "1",
      { expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) },
      "a=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT",
    ],
    ["a", "1", { domain: "example.com", path: "/x" }, "a=1; Domain=example.com; Path=/x"],
    [
      "a",
      "1",
      { secure: true, sameSite: "None", partitioned: true },
      "a=1; Secure; SameSite=None; Partitioned",
    ],
    ["__Secure-a", "1", { secure: true }, "__Secure-a=1; Secure"],
    ["__Host-a", "1", { secure: true, path: "/" }, "__Host-a=1; Path=/; Secure"],
  ];
  for (const [name, value, options, want] of ok) equal(serializeCookie(name, value, options), want);
  const bad: [string, string, Parameters<typeof serializeCookie>[2]][] = [
    ["", "1", {}],
    ["a b", "1", {}],
    ["a;", "1", {}],
    ["a", "x y", {}],
    ["a", "x;y", {}],
    ["a", "x\\y", {}],
    ["a", 'x"y', {}],
    ["a", "\u00e9", {}],
    ["a", "1", { path: "/;x" }],
    ["a", "1", { path: "/\n" }],
    ["a", "1", { domain: "exa mple.com" }],
    ["a", "1", { maxAge: 1.5 }],
    ["a", "1", { expires: new Date(NaN) }],
    ["a", "1", { sameSite: "None" }],
    ["a", "1", { sameSite: "lax" as "Lax" }],
    ["a", "1", { partitioned: true }],
    ["__Secure-a", "1", {}],
    ["__Host-a", "1", { secure: true }],
    ["__Host-a", "1", { secure: true, path: "/", domain: "a.com" }],
  ];
  for (const [name, value, options] of bad) {
    throws(
      () => serializeCookie(name, value, options),
      TypeError,
      `${name}=${value} ${JSON.stringify(options)}`,
    );
  }
});

Deno.test("setCookie() and deleteCookie() add one Set-Cookie field each", async () => {
  class H {
    handle(_req: HttpRequest, res: HttpResponse): void {
      setCookie(res, "a", "1");
      setCookie(res, "b", "2", { path: "/" });
      deleteCookie(res, "c", { path: "/" });
      res.send("");
    }
  }
  const server = new HttpServer(new H(), { port: 0 });
  const { port } = server.listen();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.text();
    assertEquals(res.headers.getSetCookie(), [
      "a=1",
      "b=2; Path=/",
      "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
    ]);
  } finally {
    await server.shutdown();
  }
});
