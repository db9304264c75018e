// Types and request builders shared by the parser's case tables. Test-only.
import type { HttpErrorCode } from "./errors.ts";
import type { RequestParserOptions } from "./parser.ts";

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

export const H: string = "Host: example.com\r\n";

export function get(target: string, extra = ""): string {
  return `GET ${target} HTTP/1.1\r\n${H}${extra}\r\n`;
}

export function withHeaders(lines: string): string {
  return `GET / HTTP/1.1\r\n${lines}\r\n`;
}

export function post(extra: string): string {
  return `POST /submit HTTP/1.1\r\n${H}${extra}\r\n`;
}

/** 99 distinct field lines (with Host, one under the default maxHeaderCount of 100). */
export const MANY_HEADERS: string = Array.from({ length: 99 }, (_, i) => `X-H${i}: ${i}\r\n`).join(
  "",
);
