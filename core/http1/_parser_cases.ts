// Shared case table for the request parser, and the feeder that runs a case
// whole, byte by byte or at seeded random split points. Test-only.
import type { HttpErrorCode } from "./errors.ts";
import { HttpError } from "./errors.ts";
import type { RequestParser, RequestParserOptions } from "./parser.ts";
import type { RequestHead } from "./head.ts";

/** What a valid case must parse to. Unspecified framing fields take their defaults. */
export interface ExpectedHead {
  method: string;
  target: string;
  /** @default {"HTTP/1.1"} */
  version?: "HTTP/1.0" | "HTTP/1.1";
  /** All field lines, `[lowercased name, value]`, in order. Checked when given. */
  headers?: [string, string][];
  /** @default {-1} */
  contentLength?: number;
  /** @default {false} */
  chunked?: boolean;
  /** @default {true} for HTTP/1.1, {false} for HTTP/1.0 */
  keepAlive?: boolean;
  /** @default {false} */
  expectContinue?: boolean;
  /** @default {null} */
  upgrade?: string | null;
  path?: string;
  query?: string;
  headLength?: number;
}

/** A request head that must parse. `input` is one char per byte (latin1). */
export interface ValidCase {
  name: string;
  /** The head, including any empty lines before it. */
  input: string;
  /** Bytes after the head (body, next request): must not be consumed. */
  rest?: string;
  options?: RequestParserOptions;
  expect: ExpectedHead;
}

/** A request that must be rejected with this status and code. */
export interface InvalidCase {
  name: string;
  input: string;
  options?: RequestParserOptions;
  status: number;
  code: HttpErrorCode;
}

/** Encodes a string of chars U+0000-U+00FF, one byte each. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`Cannot encode test input: char ${c} at ${i} is above 0xff`);
    out[i] = c;
  }
  return out;
}

const H = "Host: example.com\r\n";

function get(target: string, extra = ""): string {
  return `GET ${target} HTTP/1.1\r\n${H}${extra}\r\n`;
}

function withHeaders(lines: string): string {
  return `GET / HTTP/1.1\r\n${lines}\r\n`;
}

function post(extra: string): string {
  return `POST /submit HTTP/1.1\r\n${H}${extra}\r\n`;
}

/** A Chrome-like 631-byte GET head with 15 header fields (also used by the benchmark). */
export const BROWSER_HEAD: string = [
  "GET /dashboard/settings?tab=profile HTTP/1.1",
  "Host: app.example.com",
  "Connection: keep-alive",
  'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
  "sec-ch-ua-mobile: ?0",
  'sec-ch-ua-platform: "Linux"',
  "Upgrade-Insecure-Requests: 1",
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0",
  "Accept: text/html,application/xhtml+xml,image/avif,image/webp,*/*;q=0.8",
  "Sec-Fetch-Site: none",
  "Sec-Fetch-Mode: navigate",
  "Sec-Fetch-User: ?1",
  "Sec-Fetch-Dest: document",
  "Accept-Encoding: gzip, deflate, br",
  "Accept-Language: en-US,en;q=0.9",
  "Cookie: sid=4f9a1c2e; theme=dark; l=en",
].join("\r\n") + "\r\n\r\n";

const MANY_HEADERS = Array.from({ length: 99 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");

/** Requests that must parse, with what they parse to. */
export const VALID_CASES: ValidCase[] = [
  {
    name: "minimal GET",
    input: get("/"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"]],
      path: "/",
      query: "",
      headLength: 37,
    },
  },
  {
    name: "HTTP/1.0 without Host is not keep-alive",
    input: "GET / HTTP/1.0\r\n\r\n",
    expect: { method: "GET", target: "/", version: "HTTP/1.0", keepAlive: false, headers: [] },
  },
  {
    name: "HTTP/1.0 with Connection: keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    expect: { method: "GET", target: "/", version: "HTTP/1.0", keepAlive: true },
  },
  {
    name: "HTTP/1.0 with Host",
    input: "GET /x HTTP/1.0\r\nHost: a\r\n\r\n",
    expect: { method: "GET", target: "/x", version: "HTTP/1.0", keepAlive: false },
  },
  {
    name: "HTTP/1.0 ignores Expect: 100-continue",
    input: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    rest: "x",
    expect: {
      method: "POST",
      target: "/",
      version: "HTTP/1.0",
      contentLength: 1,
      expectContinue: false,
    },
  },
  {
    name: "HTTP/1.0 ignores Upgrade",
    input: "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    expect: { method: "GET", target: "/", version: "HTTP/1.0", upgrade: null },
  },
  {
    name: "HTTP/1.0 with close and keep-alive is not keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    expect: { method: "GET", target: "/", version: "HTTP/1.0", keepAlive: false },
  },
  {
    name: "Connection: close",
    input: get("/", "Connection: close\r\n"),
    expect: { method: "GET", target: "/", keepAlive: false },
  },
  {
    name: "Connection list with close in any case",
    input: get("/", "Connection: Keep-Alive, CLOSE\r\n"),
    expect: { method: "GET", target: "/", keepAlive: false },
  },
  {
    name: "Connection list with empty elements",
    input: get("/", "Connection: , ,close ,\r\n"),
    expect: { method: "GET", target: "/", keepAlive: false },
  },
  {
    name: "Connection on two lines",
    input: get("/", "Connection: keep-alive\r\nConnection: close\r\n"),
    expect: { method: "GET", target: "/", keepAlive: false },
  },
  {
    name: "WebSocket upgrade",
    input: get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
    expect: { method: "GET", target: "/ws", upgrade: "websocket" },
  },
  {
    name: "Upgrade without the Connection token is ignored",
    input: get("/", "Upgrade: websocket\r\n"),
    expect: { method: "GET", target: "/", upgrade: null },
  },
  {
    name: "Connection list with upgrade, two Upgrade lines",
    input: get("/", "Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\nUpgrade: websocket\r\n"),
    expect: { method: "GET", target: "/", upgrade: "h2c, websocket" },
  },
  {
    name: "POST with Content-Length leaves the body",
    input: post("Content-Length: 5\r\n"),
    rest: "hello",
    expect: { method: "POST", target: "/submit", contentLength: 5 },
  },
  {
    name: "Content-Length: 0",
    input: post("Content-Length: 0\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 0 },
  },
  {
    name: "Content-Length with whitespace around",
    input: post("Content-Length: \t 42 \t\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 42 },
  },
  {
    name: "Content-Length list of identical values",
    input: post("Content-Length: 5, 5\r\n"),
    rest: "hello",
    expect: { method: "POST", target: "/submit", contentLength: 5 },
  },
  {
    name: "Content-Length list with tight commas",
    input: post("Content-Length: 7,7 ,7\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 7 },
  },
  {
    name: "Content-Length repeated on two lines with the same value",
    input: post("Content-Length: 5\r\ncontent-length: 5\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 5 },
  },
  {
    name: "Content-Length with leading zeros",
    input: post("Content-Length: 007\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 7 },
  },
  {
    name: "Content-Length of Number.MAX_SAFE_INTEGER",
    input: post("Content-Length: 9007199254740991\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 9007199254740991 },
  },
  {
    name: "Transfer-Encoding: chunked",
    input: post("Transfer-Encoding: chunked\r\n"),
    rest: "5\r\nhello\r\n0\r\n\r\n",
    expect: { method: "POST", target: "/submit", chunked: true, contentLength: -1 },
  },
  {
    name: "Transfer-Encoding: Chunked in mixed case",
    input: post("transfer-encoding: ChUnKeD\r\n"),
    expect: { method: "POST", target: "/submit", chunked: true },
  },
  {
    name: "Transfer-Encoding with a tab before chunked (OWS)",
    input: post("Transfer-Encoding:\tchunked\r\n"),
    expect: { method: "POST", target: "/submit", chunked: true },
  },
  {
    name: "Transfer-Encoding with whitespace after chunked (OWS)",
    input: post("Transfer-Encoding: chunked \t\r\n"),
    expect: { method: "POST", target: "/submit", chunked: true },
  },
  {
    name: "Transfer_Encoding (underscore) is just another field",
    input: post("Transfer_Encoding: chunked\r\n"),
    expect: { method: "POST", target: "/submit", chunked: false, contentLength: -1 },
  },
  {
    name: "Expect: 100-continue",
    input: post("Content-Length: 3\r\nExpect: 100-continue\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 3, expectContinue: true },
  },
  {
    name: "Expect: 100-CONTINUE in upper case",
    input: post("Expect: 100-CONTINUE\r\nContent-Length: 1\r\n"),
    expect: { method: "POST", target: "/submit", contentLength: 1, expectContinue: true },
  },
  {
    name: "Expect with another expectation",
    input: post("Expect: 200-ok\r\n"),
    expect: { method: "POST", target: "/submit", expectContinue: false },
  },
  {
    name: "query string",
    input: get("/search?q=a&b=c"),
    expect: { method: "GET", target: "/search?q=a&b=c", path: "/search", query: "q=a&b=c" },
  },
  {
    name: "empty query",
    input: get("/p?"),
    expect: { method: "GET", target: "/p?", path: "/p", query: "" },
  },
  {
    name: "query with a second question mark",
    input: get("/p?a?b"),
    expect: { method: "GET", target: "/p?a?b", path: "/p", query: "a?b" },
  },
  {
    name: "absolute-form with path and query",
    input: get("http://example.com/a/b?x=1"),
    expect: { method: "GET", target: "http://example.com/a/b?x=1", path: "/a/b", query: "x=1" },
  },
  {
    name: "absolute-form https without path",
    input: get("https://example.com"),
    expect: { method: "GET", target: "https://example.com", path: "/", query: "" },
  },
  {
    name: "absolute-form with upper-case scheme, port and query only",
    input: get("HTTP://example.com:8080?q"),
    expect: { method: "GET", target: "HTTP://example.com:8080?q", path: "/", query: "q" },
  },
  {
    name: "OPTIONS *",
    input: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "OPTIONS", target: "*", path: "*", query: "" },
  },
  {
    name: "CONNECT authority-form",
    input: `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`,
    expect: { method: "CONNECT", target: "example.com:443", path: "example.com:443" },
  },
  {
    name: "CONNECT to an IPv6 literal",
    input: `CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n`,
    expect: { method: "CONNECT", target: "[::1]:8443" },
  },
  {
    name: "extension method",
    input: `PROPFIND /dav HTTP/1.1\r\n${H}Depth: 1\r\n\r\n`,
    expect: { method: "PROPFIND", target: "/dav" },
  },
  {
    name: "lower-case method is a different token",
    input: `get / HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "get", target: "/" },
  },
  {
    name: "method with tchar symbols",
    input: `M-SEARCH * HTTP/1.1\r\n${H}\r\n`.replace("*", "/"),
    expect: { method: "M-SEARCH", target: "/" },
  },
  { name: "HEAD", input: `HEAD /h HTTP/1.1\r\n${H}\r\n`, expect: { method: "HEAD", target: "/h" } },
  {
    name: "PUT",
    input: `PUT /p HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n`,
    rest: "ok",
    expect: { method: "PUT", target: "/p", contentLength: 2 },
  },
  {
    name: "DELETE",
    input: `DELETE /d HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "DELETE", target: "/d" },
  },
  {
    name: "TRACE",
    input: `TRACE /t HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "TRACE", target: "/t" },
  },
  {
    name: "PATCH",
    input: `PATCH /x HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "PATCH", target: "/x" },
  },
  {
    name: "POSTS is not POST",
    input: `POSTS / HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "POSTS", target: "/" },
  },
  {
    name: "one empty line before the request line",
    input: "\r\n" + get("/"),
    expect: { method: "GET", target: "/", headLength: 37 },
  },
  {
    name: "four empty lines before the request line",
    input: "\r\n\r\n\r\n\r\n" + get("/"),
    expect: { method: "GET", target: "/", headLength: 37 },
  },
  {
    name: "empty field value",
    input: get("/", "X-Empty:\r\n"),
    expect: { method: "GET", target: "/", headers: [["host", "example.com"], ["x-empty", ""]] },
  },
  {
    name: "field value of whitespace only",
    input: get("/", "X-Sp: \t  \r\n"),
    expect: { method: "GET", target: "/", headers: [["host", "example.com"], ["x-sp", ""]] },
  },
  {
    name: "no space after the colon",
    input: get("/", "X-A:b\r\n"),
    expect: { method: "GET", target: "/", headers: [["host", "example.com"], ["x-a", "b"]] },
  },
  {
    name: "inner whitespace kept, outer stripped",
    input: get("/", "X-A: \t a  b\tc \t\r\n"),
    expect: { method: "GET", target: "/", headers: [["host", "example.com"], ["x-a", "a  b\tc"]] },
  },
  {
    name: "obs-text in a value is decoded byte for byte",
    input: get("/", "X-Name: caf\xe9\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["x-name", "caf\xe9"]],
    },
  },
  {
    name: "C1 bytes in a value are decoded isomorphically",
    input: get("/", "X-Raw: \x80\x9f\xff\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["x-raw", "\x80\x9f\xff"]],
    },
  },
  {
    name: "repeated fields keep their order",
    input: get("/", "Accept: a\r\nX-B: 1\r\naccept: b\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["accept", "a"], ["x-b", "1"], ["accept", "b"]],
    },
  },
  {
    name: "field name of every tchar symbol",
    input: get("/", "!#$%&'*+-.^_`|~09AZaz: v\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["!#$%&'*+-.^_`|~09azaz", "v"]],
    },
  },
  {
    name: "mixed-case names are lowercased",
    input: "GET / HTTP/1.1\r\nHOST: a\r\nX-MiXeD: V\r\n\r\n",
    expect: { method: "GET", target: "/", headers: [["host", "a"], ["x-mixed", "V"]] },
  },
  {
    name: "percent-encoded target",
    input: get("/a%20b/%E2%82%AC"),
    expect: { method: "GET", target: "/a%20b/%E2%82%AC", path: "/a%20b/%E2%82%AC" },
  },
  {
    name: "target with unusual visible characters",
    input: get('/a{b}|c^d"e<f>g`h\\i'),
    expect: { method: "GET", target: '/a{b}|c^d"e<f>g`h\\i' },
  },
  {
    name: "value with colons, quotes and commas",
    input: get("/", 'X-T: a:b:c, "d,e"\r\n'),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["x-t", 'a:b:c, "d,e"']],
    },
  },
  {
    name: "Host with port",
    input: "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    expect: { method: "GET", target: "/", headers: [["host", "example.com:8080"]] },
  },
  {
    name: "Host with an IPv6 literal",
    input: "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    expect: { method: "GET", target: "/", headers: [["host", "[::1]:80"]] },
  },
  {
    name: "empty Host",
    input: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    expect: { method: "GET", target: "/", headers: [["host", ""]] },
  },
  {
    name: "Host after other fields",
    input: "GET / HTTP/1.1\r\nAccept: */*\r\nhost: h\r\n\r\n",
    expect: { method: "GET", target: "/", headers: [["accept", "*/*"], ["host", "h"]] },
  },
  {
    name: "pipelined requests stop at the first head",
    input: get("/one"),
    rest: get("/two"),
    expect: { method: "GET", target: "/one" },
  },
  {
    name: "upgraded protocol bytes after the head are left",
    input: get("/ws", "Connection: upgrade\r\nUpgrade: websocket\r\n"),
    rest: "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
    expect: { method: "GET", target: "/ws", upgrade: "websocket" },
  },
  {
    name: "100 header fields (the default maximum)",
    input: get("/", MANY_HEADERS),
    expect: { method: "GET", target: "/" },
  },
  {
    name: "browser-like 631-byte head",
    input: BROWSER_HEAD,
    expect: {
      method: "GET",
      target: "/dashboard/settings?tab=profile",
      path: "/dashboard/settings",
      query: "tab=profile",
      headLength: 631,
    },
  },
  {
    name: "Content-Length with Connection: close",
    input: post("Content-Length: 1\r\nConnection: close\r\n"),
    rest: "x",
    expect: { method: "POST", target: "/submit", contentLength: 1, keepAlive: false },
  },
  {
    name: "request line exactly at maxRequestLineLength",
    input: get("/" + "a".repeat(16 - "GET / HTTP/1.1".length)),
    options: { maxRequestLineLength: 16 },
    expect: { method: "GET", target: "/aa" },
  },
  {
    name: "head exactly at maxHeadSize",
    input: get("/"),
    options: { maxHeadSize: 37 },
    expect: { method: "GET", target: "/", headLength: 37 },
  },
  {
    name: "header count exactly at maxHeaderCount",
    input: get("/", "A: 1\r\nB: 2\r\n"),
    options: { maxHeaderCount: 3 },
    expect: { method: "GET", target: "/" },
  },
  {
    name: "long cookie",
    input: get("/", `Cookie: ${"k=v; ".repeat(200)}end=1\r\n`),
    expect: { method: "GET", target: "/" },
  },
  {
    name: "User-Agent with parentheses and semicolons",
    input: get("/", "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "example.com"], ["user-agent", "Mozilla/5.0 (X11; Linux x86_64)"]],
    },
  },
];

/** Requests that must be rejected. */
export const INVALID_CASES: InvalidCase[] = [
  // Request line.
  { name: "two spaces after the method", input: get(" /"), status: 400, code: "invalid-target" },
  {
    name: "space before CRLF",
    input: `GET / HTTP/1.1 \r\n${H}\r\n`,
    status: 400,
    code: "invalid-version",
  },
  {
    name: "two spaces before the version",
    input: `GET /  HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-version",
  },
  { name: "space before the method", input: " " + get("/"), status: 400, code: "invalid-method" },
  {
    name: "method with @",
    input: `G@T / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-method",
  },
  {
    name: "tab after the method",
    input: `GET\t/ HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-method",
  },
  {
    name: "NUL in the method",
    input: `GE\x00T / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-method",
  },
  {
    name: "NUL as first byte",
    input: "\x00GET / HTTP/1.1\r\n",
    status: 400,
    code: "invalid-method",
  },
  {
    name: "TLS ClientHello",
    input: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    status: 400,
    code: "invalid-method",
  },
  {
    name: "empty request line",
    input: "\r\n\r\n\r\n\r\n\r\n",
    status: 400,
    code: "invalid-request-line",
  },
  {
    name: "bare LF after the version",
    input: `GET / HTTP/1.1\n${H}\r\n`,
    status: 400,
    code: "bare-lf",
  },
  { name: "bare CR after the version", input: `GET / HTTP/1.1\rX`, status: 400, code: "bare-cr" },
  {
    name: "HTTP/0.9 request line",
    input: "GET /\r\n\r\n",
    status: 400,
    code: "invalid-request-line",
  },
  {
    name: "request line without target",
    input: "GET\r\n\r\n",
    status: 400,
    code: "invalid-method",
  },
  {
    name: "HTTP/2.0",
    input: `GET / HTTP/2.0\r\n${H}\r\n`,
    status: 505,
    code: "unsupported-version",
  },
  {
    name: "HTTP/0.9",
    input: `GET / HTTP/0.9\r\n${H}\r\n`,
    status: 505,
    code: "unsupported-version",
  },
  {
    name: "HTTP/1.2",
    input: `GET / HTTP/1.2\r\n${H}\r\n`,
    status: 505,
    code: "unsupported-version",
  },
  { name: "HTTP/3.0", input: `GET / HTTP/3.0\r\n`, status: 505, code: "unsupported-version" },
  {
    name: "lower-case http version",
    input: `GET / http/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-version",
  },
  {
    name: "version with two minor digits",
    input: `GET / HTTP/1.10\r\n${H}\r\n`,
    status: 400,
    code: "invalid-version",
  },
  {
    name: "version without dot",
    input: `GET / HTTP/11\r\n${H}\r\n`,
    status: 400,
    code: "invalid-version",
  },
  { name: "garbage version", input: `GET / FOO\r\n${H}\r\n`, status: 400, code: "invalid-version" },
  {
    name: "HTTP/2 preface",
    input: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    status: 400,
    code: "invalid-target",
  },
  { name: "relative target", input: get("a"), status: 400, code: "invalid-target" },
  { name: "asterisk with GET", input: get("*"), status: 400, code: "invalid-target" },
  {
    name: "asterisk followed by more",
    input: `OPTIONS *x HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-target",
  },
  {
    name: "authority-form with GET",
    input: get("example.com:443"),
    status: 400,
    code: "invalid-target",
  },
  {
    name: "CONNECT with origin-form",
    input: `CONNECT / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-target",
  },
  {
    name: "CONNECT without port",
    input: `CONNECT example.com HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-target",
  },
  {
    name: "CONNECT with empty port",
    input: `CONNECT example.com: HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-target",
  },
  {
    name: "CONNECT with userinfo",
    input: `CONNECT u@example.com:1 HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: "invalid-target",
  },
  { name: "NUL in the target", input: get("/a\x00b"), status: 400, code: "invalid-target" },
  { name: "DEL in the target", input: get("/a\x7fb"), status: 400, code: "invalid-target" },
  {
    name: "non-ASCII in the target",
    input: get("/caf\xc3\xa9"),
    status: 400,
    code: "invalid-target",
  },
  { name: "fragment in the target", input: get("/a#frag"), status: 400, code: "invalid-target" },
  { name: "tab in the target", input: get("/a\tb"), status: 400, code: "invalid-target" },
  {
    name: "CR in the target",
    input: "GET /a\rb HTTP/1.1\r\n",
    status: 400,
    code: "invalid-request-line",
  },
  {
    name: "ftp absolute-form",
    input: get("ftp://example.com/"),
    status: 400,
    code: "invalid-target",
  },
  {
    name: "absolute-form with empty authority",
    input: get("http:///x"),
    status: 400,
    code: "invalid-target",
  },
  { name: "scheme only", input: get("http://"), status: 400, code: "invalid-target" },
  { name: "bare LF before the request line", input: "\n" + get("/"), status: 400, code: "bare-lf" },
  {
    name: "bare CR before the request line",
    input: "\rGET / HTTP/1.1\r\n",
    status: 400,
    code: "bare-cr",
  },
  {
    name: "five empty lines before the request line",
    input: "\r\n".repeat(5) + get("/"),
    status: 400,
    code: "invalid-request-line",
  },
  // Field lines.
  {
    name: "missing Host in HTTP/1.1",
    input: "GET / HTTP/1.1\r\n\r\n",
    status: 400,
    code: "missing-host",
  },
  {
    name: "missing Host among other fields",
    input: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    status: 400,
    code: "missing-host",
  },
  {
    name: "two Host fields",
    input: get("/", "Host: other\r\n"),
    status: 400,
    code: "duplicate-host",
  },
  {
    name: "two Host fields differing in case",
    input: get("/", "host: example.com\r\n"),
    status: 400,
    code: "duplicate-host",
  },
  {
    name: "two Host fields in HTTP/1.0",
    input: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    status: 400,
    code: "duplicate-host",
  },
  {
    name: "Host with a slash",
    input: withHeaders("Host: a/b\r\n"),
    status: 400,
    code: "invalid-host",
  },
  {
    name: "Host with a space",
    input: withHeaders("Host: a b\r\n"),
    status: 400,
    code: "invalid-host",
  },
  {
    name: "Host with userinfo",
    input: withHeaders("Host: user@host\r\n"),
    status: 400,
    code: "invalid-host",
  },
  {
    name: "space before the colon",
    input: withHeaders("Host : x\r\n"),
    status: 400,
    code: "whitespace-before-colon",
  },
  {
    name: "tab before the colon",
    input: withHeaders("Host\t: x\r\n"),
    status: 400,
    code: "whitespace-before-colon",
  },
  {
    name: "obs-fold with a space",
    input: get("/", "X-A: a\r\n b\r\n"),
    status: 400,
    code: "obs-fold",
  },
  {
    name: "obs-fold with a tab",
    input: get("/", "X-A: a\r\n\tb\r\n"),
    status: 400,
    code: "obs-fold",
  },
  {
    name: "whitespace before the first field",
    input: "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
    status: 400,
    code: "obs-fold",
  },
  {
    name: "parenthesis in a name",
    input: get("/", "X(A): b\r\n"),
    status: 400,
    code: "invalid-header-name",
  },
  {
    name: "non-ASCII in a name",
    input: get("/", "X-\xe9: b\r\n"),
    status: 400,
    code: "invalid-header-name",
  },
  {
    name: "NUL in a name",
    input: get("/", "X-\x00: b\r\n"),
    status: 400,
    code: "invalid-header-name",
  },
  { name: "empty name", input: get("/", ": b\r\n"), status: 400, code: "invalid-header-name" },
  {
    name: "field line without a colon",
    input: get("/", "X-A\r\n"),
    status: 400,
    code: "invalid-header-name",
  },
  {
    name: "NUL in a value",
    input: get("/", "X-A: a\x00b\r\n"),
    status: 400,
    code: "invalid-header-value",
  },
  {
    name: "DEL in a value",
    input: get("/", "X-A: a\x7fb\r\n"),
    status: 400,
    code: "invalid-header-value",
  },
  {
    name: "control character in a value",
    input: get("/", "X-A: \x01\r\n"),
    status: 400,
    code: "invalid-header-value",
  },
  {
    name: "vertical tab in a value",
    input: get("/", "X-A: a\x0bb\r\n"),
    status: 400,
    code: "invalid-header-value",
  },
  { name: "bare CR in a value", input: get("/", "X-A: a\rb\r\n"), status: 400, code: "bare-cr" },
  {
    name: "bare LF ending a field line",
    input: get("/", "X-A: b\n"),
    status: 400,
    code: "bare-lf",
  },
  {
    name: "bare LF as the final empty line",
    input: `GET / HTTP/1.1\r\n${H}\n`,
    status: 400,
    code: "bare-lf",
  },
  {
    name: "CR not followed by LF at the end",
    input: `GET / HTTP/1.1\r\n${H}\rX`,
    status: 400,
    code: "bare-cr",
  },
  {
    name: "bare CR ending a field line",
    input: `GET / HTTP/1.1\r\nHost: x\rAccept: y\r\n`,
    status: 400,
    code: "bare-cr",
  },
  // Content-Length.
  {
    name: "Content-Length with a plus sign",
    input: post("Content-Length: +5\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "negative Content-Length",
    input: post("Content-Length: -1\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "Content-Length with an inner space",
    input: post("Content-Length: 5 5\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "empty Content-Length",
    input: post("Content-Length: \r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "hex Content-Length",
    input: post("Content-Length: 0x10\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "decimal point in Content-Length",
    input: post("Content-Length: 1.5\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "differing Content-Length list",
    input: post("Content-Length: 5, 6\r\n"),
    status: 400,
    code: "conflicting-content-length",
  },
  {
    name: "duplicate Content-Length with different values",
    input: post("Content-Length: 5\r\nContent-Length: 6\r\n"),
    status: 400,
    code: "conflicting-content-length",
  },
  {
    name: "Content-Length with a trailing comma",
    input: post("Content-Length: 5,\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "Content-Length with a leading comma",
    input: post("Content-Length: ,5\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "Content-Length beyond MAX_SAFE_INTEGER",
    input: post("Content-Length: 9007199254740992\r\n"),
    status: 400,
    code: "invalid-content-length",
  },
  {
    name: "huge Content-Length",
    input: post(`Content-Length: ${"9".repeat(40)}\r\n`),
    status: 400,
    code: "invalid-content-length",
  },
  // Transfer-Encoding.
  {
    name: "CL.TE",
    input: post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"),
    status: 400,
    code: "transfer-encoding-with-content-length",
  },
  {
    name: "TE.CL",
    input: post("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n"),
    status: 400,
    code: "transfer-encoding-with-content-length",
  },
  {
    name: "TE.CL with Content-Length: 0",
    input: post("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
    status: 400,
    code: "transfer-encoding-with-content-length",
  },
  {
    name: "TE.TE xchunked",
    input: post("Transfer-Encoding: xchunked\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "TE.TE space before colon",
    input: post("Transfer-Encoding : chunked\r\n"),
    status: 400,
    code: "whitespace-before-colon",
  },
  {
    name: "TE.TE chunked twice in a list",
    input: post("Transfer-Encoding: chunked, chunked\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "TE.TE chunked on two lines",
    input: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "TE.TE chunked then another coding",
    input: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "TE.TE obs-folded value",
    input: post("Transfer-Encoding: chunked\r\n , identity\r\n"),
    status: 400,
    code: "obs-fold",
  },
  {
    name: "TE.TE vertical tab",
    input: post("Transfer-Encoding: chunked\x0b\r\n"),
    status: 400,
    code: "invalid-header-value",
  },
  {
    name: "TE.TE quoted chunked",
    input: post('Transfer-Encoding: "chunked"\r\n'),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "TE.TE chunk",
    input: post("Transfer-Encoding: chunk\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "gzip alone (last coding not chunked)",
    input: post("Transfer-Encoding: gzip\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "chunked before gzip",
    input: post("Transfer-Encoding: chunked, gzip\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "identity",
    input: post("Transfer-Encoding: identity\r\n"),
    status: 400,
    code: "chunked-not-last",
  },
  {
    name: "gzip then chunked is not implemented",
    input: post("Transfer-Encoding: gzip, chunked\r\n"),
    status: 501,
    code: "unsupported-transfer-encoding",
  },
  {
    name: "gzip and chunked on two lines",
    input: post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
    status: 501,
    code: "unsupported-transfer-encoding",
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "empty Transfer-Encoding",
    input: post("Transfer-Encoding: \r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "chunked with a parameter",
    input: post("Transfer-Encoding: chunked;q=1\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "empty element before chunked",
    input: post("Transfer-Encoding: , chunked\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "empty element after chunked",
    input: post("Transfer-Encoding: chunked,\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  {
    name: "malformed coding parameter",
    input: post("Transfer-Encoding: gzip;=1, chunked\r\n"),
    status: 400,
    code: "invalid-transfer-encoding",
  },
  // Limits.
  {
    name: "request line one byte over maxRequestLineLength",
    input: get("/" + "a".repeat(17 - "GET / HTTP/1.1".length)),
    options: { maxRequestLineLength: 16 },
    status: 414,
    code: "request-line-too-long",
  },
  {
    name: "long target over the default maxRequestLineLength",
    input: get("/" + "a".repeat(9000)),
    status: 414,
    code: "request-line-too-long",
  },
  {
    name: "long method over maxRequestLineLength",
    input: "A".repeat(40),
    options: { maxRequestLineLength: 32 },
    status: 414,
    code: "request-line-too-long",
  },
  {
    name: "head one byte over maxHeadSize",
    input: get("/"),
    options: { maxHeadSize: 36 },
    status: 431,
    code: "head-too-large",
  },
  {
    name: "head over the default maxHeadSize",
    input: get("/", `Cookie: ${"x".repeat(17000)}\r\n`),
    status: 431,
    code: "head-too-large",
  },
  {
    name: "unterminated head over maxHeadSize",
    input: "GET / HTTP/1.1\r\n" + "X-A: b\r\n".repeat(20),
    options: { maxHeadSize: 100 },
    status: 431,
    code: "head-too-large",
  },
  {
    name: "101 header fields",
    input: get("/", MANY_HEADERS + "X-Last: 1\r\n"),
    status: 431,
    code: "too-many-headers",
  },
  {
    name: "one field over maxHeaderCount",
    input: get("/", "A: 1\r\nB: 2\r\nC: 3\r\n"),
    options: { maxHeaderCount: 3 },
    status: 431,
    code: "too-many-headers",
  },
];

/** The outcome of feeding a case: a head summary, an error, or more bytes needed. */
export type FeedOutcome =
  | { kind: "head"; consumed: number; head: HeadSummary }
  | { kind: "error"; status: number; code: HttpErrorCode }
  | { kind: "incomplete" };

/** Every observable field of a head, for deep comparison. */
export interface HeadSummary {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  upgrade: string | null;
  headLength: number;
  path: string;
  query: string;
}

/** Reads every observable field of a head. */
export function summarize(head: RequestHead): HeadSummary {
  return {
    method: head.method,
    target: head.target,
    version: head.version,
    headers: [...head.headers],
    contentLength: head.contentLength,
    chunked: head.chunked,
    keepAlive: head.keepAlive,
    expectContinue: head.expectContinue,
    upgrade: head.upgrade,
    headLength: head.headLength,
    path: head.path,
    query: head.query,
  };
}

/** Chunk sizes: the whole input in one piece. */
export function wholeSplit(n: number): number[] {
  return n === 0 ? [] : [n];
}

/** Chunk sizes: one byte at a time. */
export function byteSplit(n: number): number[] {
  return Array.from({ length: n }, () => 1);
}

/** A small seeded PRNG (mulberry32), returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Chunk sizes: random pieces (1 to `max` bytes, mostly small) from a seed. */
export function randomSplit(seed: number, max = 64): (n: number) => number[] {
  return (n) => {
    const rand = prng(seed * 7919 + n);
    const sizes: number[] = [];
    let left = n;
    while (left > 0) {
      const r = rand();
      const size = Math.min(left, 1 + Math.floor(r * r * max));
      sizes.push(size);
      left -= size;
    }
    return sizes;
  };
}

/** The feeding modes every case runs in. */
export const FEED_MODES: { name: string; split: (n: number) => number[] }[] = [
  { name: "whole", split: wholeSplit },
  { name: "byte by byte", split: byteSplit },
  ...[1, 2, 3, 4, 5].map((seed) => ({
    name: `random split seed ${seed}`,
    split: randomSplit(seed),
  })),
];

/**
 * Feeds `bytes` to `parser` in pieces of the given sizes (each piece a fresh
 * array, reused buffers are not assumed), until the head completes, a feed
 * throws, or input runs out.
 */
export function feedPieces(parser: RequestParser, bytes: Uint8Array, sizes: number[]): FeedOutcome {
  let offset = 0;
  let consumed = 0;
  for (const size of sizes) {
    const piece = bytes.slice(offset, offset + size);
    let used: number;
    try {
      used = parser.feed(piece);
    } catch (err) {
      if (err instanceof HttpError) return { kind: "error", status: err.status, code: err.code };
      throw err;
    }
    if (used < 0 || used > piece.length) {
      throw new Error(`feed() returned ${used} for ${piece.length} bytes`);
    }
    consumed += used;
    if (parser.head !== null) {
      // Scribble over the piece: the head must not depend on the caller's buffer.
      piece.fill(0x58);
      return { kind: "head", consumed, head: summarize(parser.head) };
    }
    if (used !== piece.length) {
      throw new Error(`feed() consumed ${used} of ${piece.length} without a head`);
    }
    offset += size;
  }
  return { kind: "incomplete" };
}
