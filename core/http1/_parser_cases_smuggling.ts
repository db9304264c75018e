// Framing that could let a request be read two ways (request smuggling):
// Content-Length and Transfer-Encoding cases the parser must refuse. Test-only.
import { type InvalidCase, post } from "./_parser_cases_util.ts";

/** Content-Length and Transfer-Encoding framing that must be refused. */
export const SMUGGLING_CASES: InvalidCase[] = [
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
];
