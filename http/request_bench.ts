// RequestBody.bytes() on 1 KiB bodies: what an owned array per body costs;
// borrow() and tryBorrow() on a body already buffered (the 1 KiB read
// before each is in both): what the promise costs.
// Run: deno bench http/request_bench.ts
import { BufReader, type Reader } from "@coroio/core";
import { ChunkedDecoder, RequestParser } from "@coroio/core/http1";
import type { BodyHost } from "./_hosts.ts";
import { RequestBody } from "./request.ts";

const SIZE = 1024;
const payload = new Uint8Array(SIZE).fill(0x61);

/** Hands out the same 1 KiB body on every read. */
class Source implements Reader {
  read(p: Uint8Array): Promise<number | null> {
    p.set(payload);
    return Promise.resolve(SIZE);
  }
}

class Host implements BodyHost {
  readonly reader = new BufReader(new Source(), { initialSize: 4096 });
  #dec = new ChunkedDecoder();
  continueIfExpected(): Promise<void> {
    return Promise.resolve();
  }
  chunkedDecoder(): ChunkedDecoder {
    return this.#dec;
  }
  fillBody(minFree = 1): Promise<number | null> {
    return this.reader.fill(minFree);
  }
}

const parser = new RequestParser();
parser.feed(
  new TextEncoder().encode(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${SIZE}\r\n\r\n`),
);
const head = parser.head!;
const host = new Host();
let sink = 0;

Deno.bench("RequestBody.bytes() 1 KiB Content-Length body", async () => {
  const body = new RequestBody(host, head, 1 << 20);
  sink += (await body.bytes()).length;
});

Deno.bench("RequestBody.borrow() 1 KiB Content-Length body (view of the read buffer)", async () => {
  const body = new RequestBody(host, head, 1 << 20);
  sink += (await body.borrow()).length;
});

Deno.bench("RequestBody.borrow() 1 KiB body already buffered", async () => {
  if (host.reader.buffered < SIZE) await host.fillBody();
  const body = new RequestBody(host, head, 1 << 20);
  sink += (await body.borrow()).length;
});

Deno.bench("RequestBody.tryBorrow() 1 KiB body already buffered (no promise)", async () => {
  if (host.reader.buffered < SIZE) await host.fillBody();
  const body = new RequestBody(host, head, 1 << 20);
  sink += body.tryBorrow()!.length;
});

Deno.bench("RequestBody.read() 1 KiB Content-Length body (zero-copy view)", async () => {
  const body = new RequestBody(host, head, 1 << 20);
  for (let c; (c = await body.read()) !== null;) sink += c.length;
});

addEventListener("unload", () => {
  if (sink === 0) throw new Error("benchmark did nothing");
});
