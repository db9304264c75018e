// deno-lint-ignore-file no-console
/**
 * Benchmark peer: the npm `ws` package (8.23.0, installed in bench/node_modules
 * by `npm ci --prefix bench`) echoing under Node.js. Any path; text is echoed
 * as text and binary as binary; no compression unless `--compression`.
 *
 * Flags: `--hostname` (default 127.0.0.1), `--port` (default 0, a free port),
 * `--compression` (no value): permessage-deflate on with ws's defaults
 * (context takeover both ways, zlib level 6, its asynchronous zlib with a
 * concurrency limit of 10) except `threshold: 128` (ws's default is 1024), the
 * threshold of coroio's default, so both compress the same messages.
 * `--no-context-takeover` with it: also `serverNoContextTakeover: true`, so ws
 * resets its compressor per message like coroio's and Bun's shared ones (the
 * same work per message; ws still keeps one zlib context per connection).
 * Prints one line `listening on ws://HOST:PORT` once it accepts.
 *
 * @module
 */
import process from "node:process";
import { WebSocketServer } from "ws";

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
const compression = process.argv.includes("--compression");

const wss = new WebSocketServer({
  host: hostname,
  port,
  perMessageDeflate: compression
    ? { threshold: 128, serverNoContextTakeover: process.argv.includes("--no-context-takeover") }
    : false,
});

function echo(data, isBinary) {
  this.send(data, { binary: isBinary });
}

wss.on("connection", (socket) => {
  socket.on("message", echo);
  socket.on("error", () => {});
});

wss.on("listening", () => {
  const addr = wss.address();
  console.log(`listening on ws://${addr.address}:${addr.port}`);
});
