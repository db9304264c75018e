// Requests the parser must accept, with what they parse to. Test-only.
import { get, H, MANY_HEADERS, post, type ValidCase } from "./_parser_cases_util.ts";

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
    // RFC 9110 2.5: a higher minor version is served as the highest one spoken.
    name: "HTTP/1.2 is served as HTTP/1.1",
    input: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    expect: {
      method: "GET",
      target: "/",
      version: "HTTP/1.1",
      keepAlive: true,
      headers: [["host", "a"]],
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
