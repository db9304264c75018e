// Cookies (RFC 6265): parse the `Cookie` field, serialize `Set-Cookie` with
// validation of the name, the value and every attribute.
import type { HttpResponse } from "./response.ts";

/** Attributes of a `Set-Cookie` field. */
export interface CookieOptions {
  /** `Expires`: when the cookie ends. */
  expires?: Date;
  /** `Max-Age`: seconds until the cookie ends (0 or less ends it now). */
  maxAge?: number;
  /** `Domain`: the hosts the cookie goes to. */
  domain?: string;
  /** `Path`: the path prefix the cookie goes to. */
  path?: string;
  /** `Secure`: only over HTTPS. */
  secure?: boolean;
  /** `HttpOnly`: hidden from scripts. */
  httpOnly?: boolean;
  /** `SameSite`: `"None"` needs `secure`. */
  sameSite?: "Strict" | "Lax" | "None";
  /** `Partitioned` (CHIPS): needs `secure`. */
  partitioned?: boolean;
}

// RFC 6265 section 4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
const COOKIE_VALUE =
  /^(?:"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*"|[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*)$/;
// RFC 9110 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// An attribute value: any CHAR except CTLs and ";".
const ATTRIBUTE_VALUE = /^[\x20-\x3A\x3C-\x7E]*$/;
const DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses a `Cookie` field into name/value pairs. Pairs without `=` or with
 * an invalid name are skipped; surrounding double quotes are removed; the
 * first of repeated names wins (the most specific path, RFC 6265 5.4).
 *
 * @example Parsing a Cookie field
 * ```ts
 * import { parseCookies } from "./cookie.ts";
 * import { deepStrictEqual as equal } from "node:assert/strict";
 *
 * const cookies = parseCookies('a=1; b="two"; bad; a=3');
 * equal({ ...cookies }, { a: "1", b: "two" });
 * equal(Object.keys(parseCookies(null)), []);
 * ```
 *
 * @param header The `Cookie` field value (several fields joined by `"; "`),
 * or `null`.
 * @returns The cookies by name (an object without a prototype).
 */
export function parseCookies(header: string | null): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (header === null || header === "") return out;
  let at = 0;
  const n = header.length;
  while (at < n) {
    let end = header.indexOf(";", at);
    if (end === -1) end = n;
    const eq = header.indexOf("=", at);
    if (eq !== -1 && eq < end) {
      const name = header.slice(at, eq).trim();
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
      if (TOKEN.test(name) && !(name in out)) out[name] = value;
    }
    at = end + 1;
  }
  return out;
}

/**
 * Serializes a `Set-Cookie` field value, checking the name (a token), the
 * value (cookie-octets, optionally quoted: encode anything else first, e.g.
 * with `encodeURIComponent`) and the attributes, including the `__Secure-`
 * and `__Host-` prefix rules.
 *
 * @example A session cookie
 * ```ts
 * import { serializeCookie } from "./cookie.ts";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * equal(
 *   serializeCookie("sid", "abc", { path: "/", httpOnly: true, secure: true, sameSite: "Lax", maxAge: 3600 }),
 *   "sid=abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax",
 * );
 * throws(() => serializeCookie("sid", "a b"), TypeError);
 * ```
 *
 * @param name The cookie name.
 * @param value The cookie value.
 * @param options The attributes.
 * @returns The field value.
 * @throws {TypeError} If the name, the value or an attribute is invalid.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) {
    throw new TypeError(`Cannot set cookie: invalid name ${JSON.stringify(name)}`);
  }
  if (!COOKIE_VALUE.test(value)) {
    throw new TypeError(
      `Cannot set cookie "${name}": the value has characters outside cookie-octet (encode it first)`,
    );
  }
  let s = name + "=" + value;
  const o = options;
  if (o.expires !== undefined) {
    if (!(o.expires instanceof Date) || Number.isNaN(o.expires.getTime())) {
      throw new TypeError(`Cannot set cookie "${name}": expires is not a valid Date`);
    }
    s += "; Expires=" + o.expires.toUTCString();
  }
  if (o.maxAge !== undefined) {
    if (!Number.isInteger(o.maxAge)) {
      throw new TypeError(`Cannot set cookie "${name}": maxAge must be an integer`);
    }
    s += "; Max-Age=" + o.maxAge;
  }
  if (o.domain !== undefined) {
    if (!DOMAIN.test(o.domain)) {
      throw new TypeError(
        `Cannot set cookie "${name}": invalid domain ${JSON.stringify(o.domain)}`,
      );
    }
    s += "; Domain=" + o.domain;
  }
  if (o.path !== undefined) {
    if (!ATTRIBUTE_VALUE.test(o.path)) {
      throw new TypeError(`Cannot set cookie "${name}": path has a control character or ";"`);
    }
    s += "; Path=" + o.path;
  }
  if (o.secure) s += "; Secure";
  if (o.httpOnly) s += "; HttpOnly";
  if (o.sameSite !== undefined) {
    if (o.sameSite !== "Strict" && o.sameSite !== "Lax" && o.sameSite !== "None") {
      throw new TypeError(`Cannot set cookie "${name}": sameSite must be Strict, Lax or None`);
    }
    if (o.sameSite === "None" && !o.secure) {
      throw new TypeError(`Cannot set cookie "${name}": SameSite=None needs secure`);
    }
    s += "; SameSite=" + o.sameSite;
  }
  if (o.partitioned) {
    if (!o.secure) throw new TypeError(`Cannot set cookie "${name}": Partitioned needs secure`);
    s += "; Partitioned";
  }
  if (name.startsWith("__Secure-") && !o.secure) {
    throw new TypeError(`Cannot set cookie "${name}": a __Secure- cookie needs secure`);
  }
  if (name.startsWith("__Host-") && (!o.secure || o.path !== "/" || o.domain !== undefined)) {
    throw new TypeError(
      `Cannot set cookie "${name}": a __Host- cookie needs secure, path "/" and no domain`,
    );
  }
  return s;
}

/**
 * Adds a `Set-Cookie` field to a response (repeated calls add more fields).
 *
 * @example Setting two cookies
 * ```ts
 * import { type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
 * import { setCookie } from "./cookie.ts";
 * import { deepStrictEqual as equal } from "node:assert/strict";
 *
 * class Login {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     setCookie(res, "a", "1", { path: "/" });
 *     setCookie(res, "b", "2", { httpOnly: true });
 *     res.send("ok");
 *   }
 * }
 * const server = new HttpServer(new Login(), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`);
 * await res.text();
 * equal(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; HttpOnly"]);
 * await server.shutdown();
 * ```
 *
 * @param res The response, before its head is sent.
 * @param name The cookie name.
 * @param value The cookie value.
 * @param options The attributes.
 * @throws {TypeError} As {@linkcode serializeCookie}, or if the head was sent.
 */
export function setCookie(
  res: HttpResponse,
  name: string,
  value: string,
  options?: CookieOptions,
): void {
  res.appendHeader("Set-Cookie", serializeCookie(name, value, options));
}

/**
 * Tells the client to drop a cookie (an empty value that expired in 1970).
 * Give the `path` and `domain` it was set with.
 *
 * @example Deleting a cookie
 * ```ts
 * import { serializeCookie } from "./cookie.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(serializeCookie("sid", "", { path: "/", expires: new Date(0) }).includes("Expires=Thu, 01 Jan 1970"));
 * ```
 *
 * @param res The response, before its head is sent.
 * @param name The cookie name.
 * @param options Where the cookie applied.
 * @throws {TypeError} As {@linkcode serializeCookie}.
 */
export function deleteCookie(
  res: HttpResponse,
  name: string,
  options: Pick<CookieOptions, "path" | "domain" | "secure" | "httpOnly"> = {},
): void {
  res.appendHeader("Set-Cookie", serializeCookie(name, "", { ...options, expires: new Date(0) }));
}
