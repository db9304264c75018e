// Negotiation tests: the server's answers, the client's offers and its check
// of the server's answer.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import {
  type ClientDeflateOptions,
  clientOffer,
  DeflateNegotiationError,
  type DeflateParams,
  negotiateClient,
  negotiateServer,
  type PerMessageDeflateOptions,
} from "./_deflate_negotiation.ts";
import { P, parseExtensions } from "./_deflate_test_util.ts";

Deno.test("parseExtensions() (test helper) reads tokens, parameters and quoted values", () => {
  deepEqual(parseExtensions('permessage-deflate; client_max_window_bits="10" , x; a=b'), [
    { name: "permessage-deflate", params: [["client_max_window_bits", "10"]] },
    { name: "x", params: [["a", "b"]] },
  ]);
  throws(() => parseExtensions("permessage-deflate; ="), SyntaxError);
});

const SERVER_CASES: Array<{
  what: string;
  header: string;
  options?: PerMessageDeflateOptions;
  response: string | null;
  params?: DeflateParams;
}> = [
  {
    what: "Firefox's bare offer: no client_max_window_bits, inflate with 15 bits",
    header: "permessage-deflate",
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    params: P(true, true, 15, 15),
  },
  {
    what: "Chrome's offer in shared mode (the client is asked to reset too)",
    header: "permessage-deflate; client_max_window_bits",
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    params: P(true, true, 15, 15),
  },
  {
    what: "Chrome's offer in shared mode keeping the client's context when told",
    header: "permessage-deflate; client_max_window_bits",
    options: { clientNoContextTakeover: false },
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "Chrome's offer in dedicated mode",
    header: "permessage-deflate; client_max_window_bits",
    options: { mode: "dedicated" },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "a valueless client_max_window_bits lets the server pick",
    header: "permessage-deflate; client_max_window_bits",
    options: { mode: "dedicated", clientMaxWindowBits: 10 },
    response: "permessage-deflate; client_max_window_bits=10",
    params: P(false, false, 15, 10),
  },
  {
    what: "a client window the server may not answer when the offer has none",
    header: "permessage-deflate",
    options: { mode: "dedicated", clientMaxWindowBits: 10 },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "a quoted client_max_window_bits value",
    header: 'permessage-deflate; client_max_window_bits="10"',
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_max_window_bits=10",
    params: P(false, false, 15, 10),
  },
  {
    what: "the answer's client window is the smaller of offer and option",
    header: "permessage-deflate; client_max_window_bits=12",
    options: { mode: "dedicated", clientMaxWindowBits: 9 },
    response: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "a quoted server_max_window_bits value",
    header: 'permessage-deflate; server_max_window_bits="12"',
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=12",
    params: P(false, false, 12, 15),
  },
  {
    what: "server_max_window_bits=8 is accepted (9-bit zlib fits a 256-byte window)",
    header: "permessage-deflate; server_max_window_bits=8",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=8",
    params: P(false, false, 8, 15),
  },
  {
    what: "Autobahn 13.5: no context takeover and an 8-bit window",
    header: "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
    params: P(true, true, 8, 15),
  },
  {
    what: "the server's own smaller window is stated even when not asked",
    header: "permessage-deflate",
    options: { mode: "dedicated", serverMaxWindowBits: 11 },
    response: "permessage-deflate; server_max_window_bits=11",
    params: P(false, false, 11, 15),
  },
  {
    what: "a smaller server option wins over the offer",
    header: "permessage-deflate; server_max_window_bits=13",
    options: { mode: "dedicated", serverMaxWindowBits: 10 },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "server_no_context_takeover asked by the client is echoed (dedicated)",
    header: "permessage-deflate; server_no_context_takeover",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "client_no_context_takeover offered is echoed",
    header: "permessage-deflate; client_no_context_takeover",
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "client_no_context_takeover asked by the server option",
    header: "permessage-deflate",
    options: { mode: "dedicated", clientNoContextTakeover: true },
    response: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "serverNoContextTakeover option in dedicated mode",
    header: "permessage-deflate",
    options: { mode: "dedicated", serverNoContextTakeover: true },
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "the autobahn client's default offer",
    header: "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    params: P(true, true, 15, 15),
  },
  {
    what: "all four parameters",
    header:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    options: { mode: "dedicated" },
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    params: P(true, true, 10, 11),
  },
  {
    what: "parameter names are case-insensitive",
    header: "Permessage-Deflate; Server_Max_Window_Bits=10",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "offers are tried in order: the first acceptable wins",
    header: "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "Autobahn 13.7's offer list",
    header:
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=8, permessage-deflate; client_no_context_takeover, permessage-deflate",
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
    params: P(true, true, 8, 15),
  },
  {
    what: "another extension first is skipped",
    header: "x-webkit-deflate-frame, permessage-deflate",
    options: { mode: "dedicated" },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  { what: "no permessage-deflate offer", header: "x-webkit-deflate-frame", response: null },
  {
    what: "an unknown parameter declines the offer",
    header: "permessage-deflate; foo",
    response: null,
  },
  {
    what: "an unknown parameter declines only its offer",
    header: "permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=9",
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "a duplicate server_no_context_takeover",
    header: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    response: null,
  },
  {
    what: "a duplicate client_max_window_bits (with and without value)",
    header: "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    response: null,
  },
  {
    what: "a duplicate server_max_window_bits",
    header: "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    response: null,
  },
  {
    what: "server_max_window_bits=7",
    header: "permessage-deflate; server_max_window_bits=7",
    response: null,
  },
  {
    what: "server_max_window_bits=16",
    header: "permessage-deflate; server_max_window_bits=16",
    response: null,
  },
  {
    what: "a leading zero",
    header: "permessage-deflate; server_max_window_bits=09",
    response: null,
  },
  {
    what: "server_max_window_bits without a value",
    header: "permessage-deflate; server_max_window_bits",
    response: null,
  },
  {
    what: "client_max_window_bits=16",
    header: 'permessage-deflate; client_max_window_bits="16"',
    response: null,
  },
  {
    what: "client_max_window_bits with a non-number",
    header: "permessage-deflate; client_max_window_bits=abc",
    response: null,
  },
  {
    what: "a value on server_no_context_takeover",
    header: "permessage-deflate; server_no_context_takeover=1",
    response: null,
  },
  {
    what: "a value on client_no_context_takeover",
    header: 'permessage-deflate; client_no_context_takeover="x"',
    response: null,
  },
];

for (const c of SERVER_CASES) {
  Deno.test(`negotiateServer() ${c.what}`, () => {
    const result = negotiateServer(parseExtensions(c.header), c.options);
    if (c.response === null) {
      equal(result, null);
      return;
    }
    ok(result !== null);
    equal(result.response, c.response);
    deepEqual(result.params, c.params);
    // The answer is one element that parses back to the same parameters.
    equal(parseExtensions(result.response).length, 1);
  });
}

Deno.test("negotiateServer() with no offers accepts nothing", () => {
  equal(negotiateServer([]), null);
});

Deno.test("negotiateServer() rejects options out of range", () => {
  for (
    const options of [
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { clientMaxWindowBits: 7 },
      { level: 10 },
      { memLevel: 0 },
      { threshold: -1 },
      { maxCompressSize: -1 },
      { mode: "none" as "shared" },
    ]
  ) {
    throws(
      () => negotiateServer([{ name: "permessage-deflate", params: [] }], options),
      RangeError,
    );
  }
});

Deno.test("clientOffer() builds the offers", () => {
  const cases: Array<[ClientDeflateOptions, string]> = [
    [{}, "permessage-deflate; client_max_window_bits"],
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits",
    ],
  ];
  for (const [options, offer] of cases) equal(clientOffer(options), offer);
  throws(() => clientOffer({ serverMaxWindowBits: 16 }), RangeError);
});

const CLIENT_CASES: Array<{
  what: string;
  answer: string;
  options?: ClientDeflateOptions;
  params?: DeflateParams | null;
}> = [
  { what: "no header: nothing agreed", answer: "", params: null },
  {
    what: "a bare answer",
    answer: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "the server's shared-mode answer",
    answer: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "the server limits the client window",
    answer: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "the server states its smaller window unasked",
    answer: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "client_no_context_takeover may be demanded by the server",
    answer: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "an asked server window answered with less",
    answer: "permessage-deflate; server_max_window_bits=8",
    options: { serverMaxWindowBits: 10 },
    params: P(false, false, 8, 15),
  },
  {
    what: "an offered client window is kept when the answer has none",
    answer: "permessage-deflate",
    options: { clientMaxWindowBits: 11 },
    params: P(false, false, 15, 11),
  },
  { what: "an extension not offered", answer: "x-webkit-deflate-frame" },
  { what: "two elements", answer: "permessage-deflate, permessage-deflate" },
  { what: "an unknown parameter", answer: "permessage-deflate; foo" },
  {
    what: "a repeated parameter",
    answer: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  },
  { what: "server window out of range", answer: "permessage-deflate; server_max_window_bits=16" },
  { what: "client window without value", answer: "permessage-deflate; client_max_window_bits" },
  {
    what: "client window above the offered one",
    answer: "permessage-deflate; client_max_window_bits=12",
    options: { clientMaxWindowBits: 10 },
  },
  {
    what: "server window above the asked one",
    answer: "permessage-deflate; server_max_window_bits=12",
    options: { serverMaxWindowBits: 10 },
  },
  {
    what: "an asked server window not answered",
    answer: "permessage-deflate",
    options: { serverMaxWindowBits: 10 },
  },
  {
    what: "server_no_context_takeover asked and not granted",
    answer: "permessage-deflate",
    options: { serverNoContextTakeover: true },
  },
];

for (const c of CLIENT_CASES) {
  Deno.test(`negotiateClient() ${c.params === undefined ? "fails on" : "accepts"} ${c.what}`, () => {
    const answer = c.answer === "" ? [] : parseExtensions(c.answer);
    if (c.params === undefined) {
      throws(() => negotiateClient(answer, c.options), DeflateNegotiationError);
    } else {
      deepEqual(negotiateClient(answer, c.options), c.params);
    }
  });
}

Deno.test("negotiateClient() accepts every answer negotiateServer() gives to clientOffer()", () => {
  const offers: ClientDeflateOptions[] = [
    {},
    { clientMaxWindowBits: 12 },
    { serverNoContextTakeover: true },
    { serverMaxWindowBits: 8, clientNoContextTakeover: true },
  ];
  const servers: PerMessageDeflateOptions[] = [
    {},
    { mode: "dedicated" },
    { mode: "dedicated", serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    { clientNoContextTakeover: true },
  ];
  for (const offer of offers) {
    for (const server of servers) {
      const accepted = negotiateServer(parseExtensions(clientOffer(offer)), server);
      ok(accepted !== null);
      deepEqual(negotiateClient(parseExtensions(accepted.response), offer), accepted.params);
    }
  }
});
