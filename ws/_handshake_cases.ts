// One table of opening-handshake requests and the answer each must get. It
// is run against every server that answers handshakes (the standalone
// WebSocketServer and the HTTP bridge, see http_ws/handshake_parity_test.ts),
// so that a request gets the same status whichever way it came in.

/** The key of RFC 6455 section 1.3 and its accept value. */
export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** The handshake every case starts from: valid, to `/chat`. */
export const GOOD: readonly string[] = [
  "GET /chat HTTP/1.1",
  "Host: example.com",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${KEY}`,
  "Sec-WebSocket-Version: 13",
];

/** One case: the request and what the answer must be. */
export interface HandshakeCase {
  /** What is special about the request. */
  readonly name: string;
  /** The raw request (head and anything after it). */
  readonly request: string;
  /** The status both servers must answer with. */
  readonly status: number;
  /** A header line the answer must carry, if any. */
  readonly header?: string;
}

/** GOOD with the field `name` removed and `line` (if any) added. */
function replace(name: string, line: string | null): string[] {
  const out = GOOD.filter((l) => !l.toLowerCase().startsWith(name.toLowerCase() + ":"));
  if (line !== null) out.push(line);
  return out;
}

function head(lines: readonly string[], rest = ""): string {
  return lines.join("\r\n") + "\r\n\r\n" + rest;
}

const UPGRADE_REQUIRED = "Upgrade: websocket";

export const HANDSHAKE_CASES: readonly HandshakeCase[] = [
  {
    name: "a valid handshake",
    request: head(GOOD),
    status: 101,
    header: `Sec-WebSocket-Accept: ${ACCEPT}`,
  },
  {
    name: "token lists and any case in Upgrade and Connection",
    request: head([
      ...replace("connection", "Connection: keep-alive, UPGRADE").filter((l) =>
        l !== "Upgrade: websocket"
      ),
      "upgrade:  WebSocket ",
    ]),
    status: 101,
  },
  { name: "Content-Length: 0", request: head([...GOOD, "Content-Length: 0"]), status: 101 },
  {
    name: "a subprotocol list with an empty element",
    request: head([...GOOD, "Sec-WebSocket-Protocol: chat, , x"]),
    status: 101,
  },
  {
    name: "version 8",
    request: head(replace("sec-websocket-version", "Sec-WebSocket-Version: 8")),
    status: 426,
    header: "Sec-WebSocket-Version: 13",
  },
  {
    name: "no version",
    request: head(replace("sec-websocket-version", null)),
    status: 426,
    header: "Sec-WebSocket-Version: 13",
  },
  { name: "two versions", request: head([...GOOD, "Sec-WebSocket-Version: 13"]), status: 426 },
  { name: "no key", request: head(replace("sec-websocket-key", null)), status: 400 },
  {
    name: "a 15-byte key",
    request: head(
      replace("sec-websocket-key", `Sec-WebSocket-Key: ${new Uint8Array(15).toBase64()}`),
    ),
    status: 400,
  },
  {
    name: "a key that is not base64",
    request: head(replace("sec-websocket-key", "Sec-WebSocket-Key: not base64 at all!!!!")),
    status: 400,
  },
  { name: "two keys", request: head([...GOOD, `Sec-WebSocket-Key: ${KEY}`]), status: 400 },
  {
    name: "no Upgrade",
    request: head(replace("upgrade", null)),
    status: 426,
    header: UPGRADE_REQUIRED,
  },
  { name: "Upgrade: h2c", request: head(replace("upgrade", "Upgrade: h2c")), status: 426 },
  {
    name: "Upgrade: websocket/13",
    request: head(replace("upgrade", "Upgrade: websocket/13")),
    status: 426,
  },
  { name: "no Connection", request: head(replace("connection", null)), status: 426 },
  {
    name: "Connection: keep-alive",
    request: head(replace("connection", "Connection: keep-alive")),
    status: 426,
  },
  { name: "HTTP/1.0", request: head(["GET /chat HTTP/1.0", ...GOOD.slice(1)]), status: 426 },
  {
    name: "a Content-Length body",
    request: head([...GOOD, "Content-Length: 5"], "hello"),
    status: 400,
  },
  {
    name: "a chunked body",
    request: head([...GOOD, "Transfer-Encoding: chunked"], "5\r\nhello\r\n0\r\n\r\n"),
    status: 400,
  },
  { name: "POST", request: head(["POST /chat HTTP/1.1", ...GOOD.slice(1)]), status: 405 },
  { name: "no Host", request: head(replace("host", null)), status: 400 },
  { name: "two Hosts", request: head([...GOOD, "Host: other"]), status: 400 },
  { name: "a space before the colon", request: head([...GOOD, "X-Bad : 1"]), status: 400 },
  { name: "obs-fold", request: head([...GOOD, "X-Folded: a", " b"]), status: 400 },
  { name: "a control character", request: head([...GOOD, "X-Ctl: a\x01b"]), status: 400 },
  { name: "a bare LF", request: GOOD.join("\n") + "\n\n", status: 400 },
  {
    name: "a malformed request line",
    request: head(["GET  /chat HTTP/1.1", ...GOOD.slice(1)]),
    status: 400,
  },
  { name: "HTTP/2.0", request: head(["GET /chat HTTP/2.0", ...GOOD.slice(1)]), status: 505 },
  {
    name: "a subprotocol that is not a token",
    request: head([...GOOD, "Sec-WebSocket-Protocol: a b"]),
    status: 400,
  },
  {
    name: "a subprotocol with a slash",
    request: head([...GOOD, "Sec-WebSocket-Protocol: chat/1"]),
    status: 400,
  },
  {
    name: "a head over 8 KiB",
    request: head([...GOOD, `X-Big: ${"a".repeat(9000)}`]),
    status: 431,
  },
];
