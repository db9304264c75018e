// deno-lint-ignore-file no-console
/**
 * Benchmark peer: Node.js `http` with the same routes as
 * `examples/http_hello.ts`: `GET /` -> 200 short text, `POST /echo` -> 200
 * with the buffered request body, anything else -> 404.
 *
 * Run with the machine's `node`. Flags: `--hostname` (default 127.0.0.1),
 * `--port` (default 0, a free port). Prints `listening on http://HOST:PORT`.
 *
 * @module
 */
import { createServer } from "node:http";
import process from "node:process";
import { Buffer } from "node:buffer";

function flag(name, fallback) {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}`) return args[i + 1] ?? fallback;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

const hostname = flag("hostname", "127.0.0.1");
const port = Number(flag("port", "0"));
const HELLO = Buffer.from("Hello, World!");
const NOT_FOUND = Buffer.from("Not Found");

function pathOf(url) {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

const server = createServer((req, res) => {
  const path = pathOf(req.url ?? "/");
  if (path === "/" && req.method === "GET") {
    res.writeHead(200, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": HELLO.length,
    });
    res.end(HELLO);
    return;
  }
  if (path === "/echo" && req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      res.writeHead(200, {
        "content-type": req.headers["content-type"] ?? "application/octet-stream",
        "content-length": body.length,
      });
      res.end(body);
    });
    return;
  }
  req.resume();
  res.writeHead(404, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": NOT_FOUND.length,
  });
  res.end(NOT_FOUND);
});

server.listen(port, hostname, () => {
  const addr = server.address();
  console.log(`listening on http://${addr.address}:${addr.port}`);
});
