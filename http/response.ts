import { utf8Length } from "@coroio/core";
import { httpDate } from "./_date.ts";
import type { ResponseHost } from "./_hosts.ts";
import { describeValue } from "./_describe.ts";
import { equalsIgnoreCase, isFieldValue, isToken, STATUS_TEXT } from "@coroio/core/http1";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([0x30, 13, 10, 13, 10]);

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    if (statusLines.size < 1000) statusLines.set(status, line);
  }
  return line;
}

// The last field name and value appendHeader() found valid.
let validName = "Content-Type";
let validValue = "text/plain; charset=utf-8";

const State = { Fresh: 0, Streaming: 1, Done: 2 } as const;
type State = typeof State[keyof typeof State];

/**
 * The response to one request. Either `send()` a whole body (staged and
 * written together with other responses of a pipelined batch), or stream it
 * with `write()` and `end()` (chunked on HTTP/1.1). To hand the connection
 * to another protocol, a handler returns an `UpgradeTarget` instead of
 * responding.
 *
 * The server adds `Date`, `Content-Length` or `Transfer-Encoding`, and
 * `Connection: close` when the connection will close. HEAD responses carry
 * the headers of the body but no body; 1xx, 204 and 304 carry no body.
 *
 * @example A JSON response
 * ```ts
 * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 *
 * class Api implements Handler {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.status = 201;
 *     res.setHeader("content-type", "application/json");
 *     res.send(JSON.stringify({ ok: true }));
 *   }
 * }
 * const server = new HttpServer(new Api(), { port: 0 });
 * const { port } = server.listen();
 * const res = await fetch(`http://127.0.0.1:${port}/`);
 * equal(res.status, 201);
 * equal(res.headers.get("content-type"), "application/json");
 * deepEqual(await res.json(), { ok: true });
 * await server.shutdown();
 * ```
 */
export class HttpResponse {
  /** The status code to send. @default {200} */
  status = 200;
  #host: ResponseHost;
  /** Name, value, name, value...; one of the shared lists below until changed (see #own()). */
  #headers: string[] = NO_FIELDS;
  #state: State = State.Fresh;
  #head: boolean;
  #http10: boolean;
  #chunked = false;
  #bytesSent = 0;
  #closeAfter = false;
  /** Declared Content-Length of a streamed body, or -1. */
  #declared = -1;

  /**
   * Creates a response; the server does this.
   *
   * @ignore
   * @param host The connection to write to.
   * @param isHead Whether the request was HEAD.
   * @param http10 Whether the request was HTTP/1.0.
   */
  constructor(host: ResponseHost, isHead: boolean, http10: boolean) {
    this.#host = host;
    this.#head = isHead;
    this.#http10 = http10;
  }

  /**
   * Whether the status line and headers were written.
   *
   * @returns `true` after `send()`, the first `write()` or `end()`.
   */
  get headersSent(): boolean {
    return this.#state !== State.Fresh;
  }

  /**
   * Whether the response is complete.
   *
   * @returns `true` after `send()` or `end()`.
   */
  get finished(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Body bytes written so far (for the access log).
   *
   * @returns The count.
   */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /**
   * Whether the response said `Connection: close`.
   *
   * @returns `true` if the connection closes after it.
   */
  get closesConnection(): boolean {
    return this.#closeAfter;
  }

  /**
   * Sets a header, replacing any of the same name.
   *
   * @param name The field name (a token).
   * @param value The value (no CR, LF or NUL; Latin-1).
   * @returns This response.
   * @throws {TypeError} If the name or value is invalid, or headers were sent.
   */
  setHeader(name: string, value: string): this {
    this.removeHeader(name);
    return this.appendHeader(name, value);
  }

  /**
   * Adds a header line, keeping others of the same name (e.g. `Set-Cookie`).
   *
   * @param name The field name (a token).
   * @param value The value.
   * @returns This response.
   * @throws {TypeError} If the name or value is invalid, or headers were sent.
   */
  appendHeader(name: string, value: string): this {
    if (this.#state !== State.Fresh) {
      throw new TypeError(`Cannot set header "${name}": headers were already sent`);
    }
    // The field last found valid is checked by comparison (an application
    // sets the same fields on every response; often the same string).
    if (name !== validName) {
      if (!isToken(name)) throw new TypeError(`Cannot set header: invalid field name "${name}"`);
      validName = name;
    }
    if (value !== validValue) {
      if (!isFieldValue(value)) {
        throw new TypeError(
          `Cannot set header "${name}": value has CR, LF, NUL or non-Latin-1 characters`,
        );
      }
      validValue = value;
    }
    if (this.#headers === NO_FIELDS) this.#headers = [name, value];
    else this.#own().push(name, value);
    return this;
  }

  /**
   * Reads a header set on this response.
   *
   * @param name The field name, any case.
   * @returns The first value, or `null`.
   */
  getHeader(name: string): string | null {
    const h = this.#headers;
    for (let i = 0; i < h.length; i += 2) {
      if (equalsIgnoreCase(h[i]!, name)) return h[i + 1]!;
    }
    return null;
  }

  /**
   * Removes every header of that name.
   *
   * @param name The field name, any case.
   * @returns This response.
   */
  removeHeader(name: string): this {
    if (this.#headers.length === 0) return this;
    const h = this.#own();
    for (let i = h.length - 2; i >= 0; i -= 2) {
      if (equalsIgnoreCase(h[i]!, name)) h.splice(i, 2);
    }
    return this;
  }

  /**
   * Sends a complete response with this body. A string is sent as UTF-8
   * with `Content-Type: text/plain; charset=utf-8` unless one was set.
   * The bytes are staged; the server writes them with the other responses
   * of the batch.
   *
   * @param body The body, or nothing.
   * @throws {TypeError} If the response was already started.
   */
  send(body?: string | Uint8Array | null): void {
    if (this.#state !== State.Fresh) {
      throw new TypeError("Cannot send response: it was already started");
    }
    if (
      typeof body !== "string" && !(body instanceof Uint8Array) && body !== undefined &&
      body !== null
    ) {
      // Sent as is, it would go out with no framing and hang the client.
      throw new TypeError(
        `Cannot send response: the body must be a string, a Uint8Array or null, not ${
          describeValue(body)
        } (use json() for values)`,
      );
    }
    let bytes: Uint8Array = EMPTY;
    if (typeof body === "string") {
      if (this.getHeader(CONTENT_TYPE) === null) {
        this.#addType(TEXT_FIELDS);
      }
      if (body.length <= 16384) {
        // The string sent last (often the same constant on every response)
        // is measured and encoded once: strings compare by identity first.
        const last = lastBody;
        let len: number;
        let bytes: Uint8Array | null = null;
        if (body === last.text) {
          len = last.length;
          // Seen twice in a row: keep its bytes.
          bytes = last.bytes ??= encoder.encode(body);
        } else {
          len = utf8Length(body);
          last.text = body;
          last.length = len;
          last.bytes = null;
        }
        const noBody = this.#bodyForbidden();
        this.#writeHead(noBody ? -2 : len);
        if (!noBody && !this.#head && len > 0) {
          // Else encoded straight into the write buffer: no intermediate array.
          if (bytes !== null) this.#host.writer.write(bytes);
          else this.#host.writer.writeUtf8(body, len);
          this.#bytesSent = len;
        }
        this.#state = State.Done;
        return;
      }
      bytes = encoder.encode(body);
    } else if (body !== undefined && body !== null) {
      bytes = body;
    } else if (this.#head) {
      // A HEAD handler may announce the length a GET would send.
      const declared = this.#declaredLength("send HEAD response");
      if (declared >= 0) {
        this.#writeHead(this.#bodyForbidden() ? -2 : declared);
        this.#state = State.Done;
        return;
      }
    }
    const noBody = this.#bodyForbidden();
    this.#writeHead(noBody ? -2 : bytes.length);
    if (!noBody && !this.#head && bytes.length > 0) {
      this.#host.writer.write(bytes);
      this.#bytesSent = bytes.length;
    }
    this.#state = State.Done;
  }

  /**
   * Sends `value` as JSON: `JSON.stringify(value)` with `Content-Type:
   * application/json; charset=utf-8` (unless a Content-Type was set, e.g.
   * `application/problem+json`), as one whole body like `send()`.
   *
   * @param value What to serialize.
   * @param status The status to send; defaults to {@linkcode HttpResponse.status}.
   * @throws {TypeError} If `value` has no JSON form (`undefined`, a
   * function, a symbol), cannot be serialized (a cycle, a BigInt), or the
   * response was already started.
   *
   * @example Answering with JSON
   * ```ts
   * import { type Handler, type HttpRequest, type HttpResponse, HttpServer } from "@coroio/http";
   * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
   *
   * class Created implements Handler {
   *   handle(_req: HttpRequest, res: HttpResponse): void {
   *     res.json({ id: 7, name: "ada" }, 201);
   *   }
   * }
   * const server = new HttpServer(new Created(), { port: 0 });
   * const { port } = server.listen();
   * const res = await fetch(`http://127.0.0.1:${port}/`);
   * equal(res.status, 201);
   * equal(res.headers.get("content-type"), "application/json; charset=utf-8");
   * deepEqual(await res.json(), { id: 7, name: "ada" });
   * await server.shutdown();
   * ```
   */
  json(value: unknown, status?: number): void {
    if (this.#state !== State.Fresh) {
      throw new TypeError("Cannot send JSON response: it was already started");
    }
    const text = JSON.stringify(value);
    if (typeof text !== "string") {
      throw new TypeError(`Cannot send JSON response: ${describeValue(value)} has no JSON form`);
    }
    if (status !== undefined) this.status = status;
    if (this.getHeader(CONTENT_TYPE) === null) {
      this.#addType(JSON_FIELDS);
    }
    this.send(text);
  }

  /**
   * Streams a piece of the body and flushes it to the connection. The first
   * call sends the head: with `Transfer-Encoding: chunked` on HTTP/1.1 unless
   * a `Content-Length` header was set.
   *
   * @param chunk The bytes, or a string sent as UTF-8.
   * @returns A promise that resolves once the bytes were handed to the kernel.
   * @throws {TypeError} If the response was finished.
   */
  async write(chunk: string | Uint8Array): Promise<void> {
    const bytes = chunkBytes(chunk, "write");
    this.#startStreaming();
    this.#writeBodyPart(bytes);
    await this.#host.flush();
  }

  /**
   * Finishes the response, with an optional last piece of body. Without a
   * preceding `write()` this is `send(chunk)`.
   *
   * @param chunk The last bytes, if any.
   * @returns A promise that resolves once the response is staged (streamed
   * responses: flushed).
   * @throws {TypeError} If the response was finished.
   */
  async end(chunk?: string | Uint8Array): Promise<void> {
    if (this.#state === State.Fresh) {
      this.send(chunk);
      return;
    }
    if (this.#state !== State.Streaming) {
      throw new TypeError("Cannot end response: it is already finished");
    }
    if (chunk !== undefined) this.#writeBodyPart(chunkBytes(chunk, "end"));
    if (this.#chunked && !this.#head && !this.#bodyForbidden()) {
      this.#host.writer.write(LAST_CHUNK);
    }
    if (this.#declared >= 0 && this.#bytesSent < this.#declared && !this.#head) {
      // The body came up short of its Content-Length: the client would read
      // the next response as body. Closing is the only way to end it.
      this.#closeAfter = true;
    }
    this.#state = State.Done;
    await this.#host.flush();
  }

  /** The header list, made this response's own first if it is a shared one. */
  #own(): string[] {
    const h = this.#headers;
    if (h === NO_FIELDS || h === TEXT_FIELDS || h === JSON_FIELDS) return this.#headers = h.slice();
    return h;
  }

  /** Adds the default Content-Type `fields` holds (shared while nothing else is set). */
  #addType(fields: string[]): void {
    if (this.#headers.length === 0) this.#headers = fields;
    else this.#own().push(fields[0]!, fields[1]!);
  }

  #bodyForbidden(): boolean {
    const s = this.status;
    return s < 200 || s === 204 || s === 304;
  }

  #startStreaming(): void {
    if (this.#state === State.Streaming) return;
    if (this.#state !== State.Fresh) {
      throw new TypeError("Cannot write response body: the response is finished");
    }
    const declared = this.#declaredLength("stream response");
    if (this.#bodyForbidden()) {
      this.#writeHead(-2);
    } else if (declared >= 0) {
      this.#declared = declared;
      this.#writeHead(-3);
    } else if (this.#http10) {
      // HTTP/1.0 has no chunked coding: the body ends when the connection does.
      this.#closeAfter = true;
      this.#writeHead(-3);
    } else {
      this.#chunked = true;
      this.#writeHead(-1);
    }
    this.#state = State.Streaming;
  }

  /** The Content-Length header the handler set, or -1 without one. */
  #declaredLength(what: string): number {
    const declared = this.getHeader("content-length");
    if (declared === null) return -1;
    const n = /^\d{1,15}$/.test(declared) ? Number(declared) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new TypeError(`Cannot ${what}: Content-Length "${declared}" is not a length`);
    }
    return n;
  }

  #writeBodyPart(bytes: Uint8Array): void {
    if (this.#head || this.#bodyForbidden() || bytes.length === 0) return;
    if (this.#declared >= 0 && this.#bytesSent + bytes.length > this.#declared) {
      throw new RangeError(
        `Cannot write ${bytes.length} more bytes: the response declared Content-Length ${this.#declared} ` +
          `and ${this.#bytesSent} were written`,
      );
    }
    const w = this.#host.writer;
    if (this.#chunked) {
      w.writeLatin1(bytes.length.toString(16) + "\r\n");
      w.write(bytes);
      w.write(CRLF);
    } else {
      w.write(bytes);
    }
    this.#bytesSent += bytes.length;
  }

  /**
   * Writes status line and headers. `length` >= 0: Content-Length; -1:
   * chunked; -2: no body and no framing header; -3: framing as set by the
   * caller (or none, closing).
   */
  #writeHead(length: number): void {
    const w = this.#host.writer;
    const h = this.#headers;
    const date = httpDate();
    // What #headString() depends on besides the fields: with the same
    // inputs it makes the same head, so its bytes are written again
    // without building and encoding a string.
    const closing = this.#closeAfter || this.#host.closeAfterResponse();
    const last = lastHead;
    if (
      last.length === length && last.status === this.status && last.date === date &&
      last.closing === closing && last.http10 === this.#http10 && sameFields(last.fields, h)
    ) {
      if (last.bytes !== null) {
        this.#closeAfter = last.closeAfter;
        w.write(last.bytes);
        return;
      }
      // Seen twice in a row: keep its bytes.
      const head = this.#headString(length);
      last.bytes = latin1Bytes(head);
      last.closeAfter = this.#closeAfter;
      w.write(last.bytes);
      return;
    }
    const head = this.#headString(length);
    w.writeLatin1(head);
    if (h.length <= 16 && head.length <= 1024) {
      last.length = length;
      last.status = this.status;
      last.date = date;
      last.closing = closing;
      last.http10 = this.#http10;
      last.fields = h.slice();
      last.bytes = null;
    }
  }

  #headString(length: number): string {
    const status = this.status;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(
        `Cannot send status ${status}: a final response needs an integer status from 200 to 599`,
      );
    }
    let s = statusLine(status) + "Date: " + httpDate() + "\r\n";
    const h = this.#headers;
    let connection = "";
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (
        length !== -3 &&
        (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding"))
      ) {
        continue;
      }
      if (equalsIgnoreCase(name, "connection")) {
        // Merged with the server's own connection token below.
        connection += (connection === "" ? "" : ", ") + h[i + 1]!;
        continue;
      }
      s += name + ": " + h[i + 1]! + "\r\n";
    }
    if (length >= 0) {
      if (!(this.status === 304)) s += "Content-Length: " + length + "\r\n";
    } else if (length === -1) {
      s += "Transfer-Encoding: chunked\r\n";
    }
    if (connection !== "" && /\bclose\b/i.test(connection)) this.#closeAfter = true;
    const sep = connection === "" ? "" : ", ";
    if (this.#closeAfter || this.#host.closeAfterResponse()) {
      this.#closeAfter = true;
      s += "Connection: " +
        (/\bclose\b/i.test(connection) ? connection : connection + sep + "close") +
        "\r\n\r\n";
    } else if (this.#http10) {
      s += "Connection: " + connection + sep + "keep-alive\r\n\r\n";
    } else if (connection !== "") {
      s += "Connection: " + connection + "\r\n\r\n";
    } else {
      s += "\r\n";
    }
    return s;
  }
}

/**
 * Header lists shared by responses until one changes its own (never changed
 * in place): none, and the default Content-Type of a text or JSON body.
 */
const NO_FIELDS: string[] = [];
/**
 * The name looked up before a default type is added, in the spelling
 * handlers use: equalsIgnoreCase() finds it equal by identity, without
 * folding each letter.
 */
const CONTENT_TYPE = "Content-Type";
const TEXT_FIELDS: string[] = ["Content-Type", "text/plain; charset=utf-8"];
const JSON_FIELDS: string[] = ["Content-Type", "application/json; charset=utf-8"];

/**
 * The last string body send() wrote, its UTF-8 length, and its bytes once
 * it was sent twice in a row (one entry for the process: a server answering
 * the same text again writes the kept bytes).
 */
const lastBody = { text: "", length: 0, bytes: null as Uint8Array | null };

/**
 * The last head written, by what it was made from, and its bytes once the
 * same head was written twice in a row (a server answering alike, as most
 * do, then writes the bytes of the head again). One for all responses.
 */
const lastHead = {
  length: -4,
  status: 0,
  date: "",
  closing: false,
  http10: false,
  fields: [] as string[],
  closeAfter: false,
  bytes: null as Uint8Array | null,
};

function sameFields(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The head's bytes, as BufWriter.writeLatin1() writes them. */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c > 0xff ? 0x3f : c;
  }
  return out;
}

/** A body piece as bytes; anything but a string or bytes is refused. */
function chunkBytes(chunk: unknown, what: string): Uint8Array {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `Cannot ${what} response body: a piece must be a string or a Uint8Array, not ${
      describeValue(chunk)
    }`,
  );
}
