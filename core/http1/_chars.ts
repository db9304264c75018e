// Byte classification tables and small byte helpers shared by the request
// parser, the chunked decoder and HeaderList. Private to the package.

/** Byte values used by the parsers. */
export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Whether `b` is optional whitespace (SP or HTAB). */
export function isOws(b: number): boolean {
  return b === SP || b === HTAB;
}

function table(init: (b: number) => number): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = init(b);
  return t;
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** 1 for `tchar` (RFC 9110 5.6.2), else 0. */
export const TCHAR: Uint8Array = table((b) =>
  isAlnum(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)) ? 1 : 0
);

/** 1 for a byte allowed in a request-target: visible ASCII except `#`. */
export const TARGET: Uint8Array = table((b) => b > 0x20 && b < 0x7f && b !== 0x23 ? 1 : 0);

/** 1 for VCHAR, SP, HTAB; 2 for obs-text (0x80-0xFF); 0 for anything else. */
export const FIELD_VALUE: Uint8Array = table((b) =>
  b === HTAB || (b >= 0x20 && b < 0x7f) ? 1 : b >= 0x80 ? 2 : 0
);

/** 1 for a byte allowed in a Host value (`uri-host [ ":" port ]`, loosely). */
export const HOST: Uint8Array = table((b) =>
  isAlnum(b) || "-._~!$&'()*+,;=:[]%".includes(String.fromCharCode(b)) ? 1 : 0
);

/** Value 0-15 of a hex digit, 255 for anything else. */
export const HEX: Uint8Array = table((b) =>
  b >= 0x30 && b <= 0x39
    ? b - 0x30
    : b >= 0x41 && b <= 0x46
    ? b - 0x37
    : b >= 0x61 && b <= 0x66
    ? b - 0x57
    : 255
);

/** 1 for qdtext and the characters a quoted-pair may escape (RFC 9110 5.6.4) except DQUOTE and "\". */
export const QDTEXT: Uint8Array = table((b) =>
  b === HTAB || b === SP || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) ||
    b >= 0x80
    ? 1
    : 0
);

/**
 * Whether `buf[start, start + lower.length)` equals `lower` ignoring ASCII
 * case. `lower` must be lowercase letters, digits and `-`; `buf` bytes are
 * assumed to be `tchar`s (so `| 0x20` cannot map a non-letter onto a letter).
 */
export function bytesEqualLower(buf: Uint8Array, start: number, lower: string): boolean {
  const n = lower.length;
  for (let i = 0; i < n; i++) {
    if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Printable description of a byte for error messages, e.g. `0x00` or `"a"`. */
export function showByte(b: number): string {
  return b > 0x20 && b < 0x7f
    ? `"${String.fromCharCode(b)}"`
    : `0x${b.toString(16).padStart(2, "0")}`;
}
