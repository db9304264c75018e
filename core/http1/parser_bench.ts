import { ChunkedDecoder } from "./chunked.ts";
import { RequestParser } from "./parser.ts";
import { BROWSER_HEAD } from "./_parser_cases.ts";

const enc = new TextEncoder();
const browser = enc.encode(BROWSER_HEAD);
if (browser.length !== 631) throw new Error(`browser head is ${browser.length} bytes, want 631`);
const tiny = enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
const parser = new RequestParser();
let sink = 0;

Deno.bench("RequestParser.feed() 631-byte browser head (15 fields)", {
  group: "head",
  baseline: true,
}, () => {
  parser.reset();
  parser.feed(browser);
  sink += parser.head!.headLength;
});

Deno.bench("RequestParser.feed() tiny head", { group: "head" }, () => {
  parser.reset();
  parser.feed(tiny);
  sink += parser.head!.headLength;
});

Deno.bench(
  "RequestParser.feed() 631-byte head + read path and 3 headers",
  { group: "head" },
  () => {
    parser.reset();
    parser.feed(browser);
    const head = parser.head!;
    const h = head.headers;
    sink += head.path.length + h.get("host")!.length + h.get("user-agent")!.length +
      h.get("cookie")!.length;
  },
);

Deno.bench("RequestParser.feed() 631-byte head + iterate all headers", { group: "head" }, () => {
  parser.reset();
  parser.feed(browser);
  for (const [name, value] of parser.head!.headers) sink += name.length + value.length;
});

const first = browser.subarray(0, 300);
const second = browser.subarray(300);
Deno.bench("RequestParser.feed() 631-byte head in two pieces (spill)", { group: "head" }, () => {
  parser.reset();
  parser.feed(first);
  parser.feed(second);
  sink += parser.head!.headLength;
});

// 64 KiB body in 1 KiB chunks, decoded from one buffer (as after a large read).
const chunk = "x".repeat(1024);
const body = enc.encode(`400\r\n${chunk}\r\n`.repeat(64) + "0\r\n\r\n");
const decoder = new ChunkedDecoder();

Deno.bench(
  "ChunkedDecoder.decode() 64 KiB body in 1 KiB chunks",
  { group: "chunked", n: 1 },
  () => {
    decoder.reset();
    let input = body;
    while (!decoder.done) {
      const n = decoder.decode(input);
      sink += decoder.dataLength;
      input = input.subarray(n);
    }
  },
);

// The same body arriving in 16 KiB reads (chunk boundaries fall inside reads).
const reads: Uint8Array[] = [];
for (let i = 0; i < body.length; i += 16384) reads.push(body.subarray(i, i + 16384));
Deno.bench("ChunkedDecoder.decode() 64 KiB body in 1 KiB chunks, 16 KiB reads", {
  group: "chunked",
}, () => {
  decoder.reset();
  for (const read of reads) {
    let input = read;
    while (input.length > 0 && !decoder.done) {
      const n = decoder.decode(input);
      sink += decoder.dataLength;
      input = input.subarray(n);
    }
  }
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) throw new Error("unreachable");
});
