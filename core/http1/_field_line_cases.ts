// One table of field lines, run against both parsers of the package that read
// field lines: RequestParser (request heads) and parseResponseHead (response
// heads). Test-only. `lines` is the field-line section without its final
// CRLF, one char per byte (latin1).

/** Field lines both parsers must refuse with this code (status 400). */
export interface InvalidFieldLineCase {
  name: string;
  lines: string;
  code: string;
}

/** Field lines both parsers must accept, giving these `[lowercase name, value]` pairs. */
export interface ValidFieldLineCase {
  name: string;
  lines: string;
  fields: [string, string][];
}

export const INVALID_FIELD_LINES: InvalidFieldLineCase[] = [
  { name: "bare LF ending a field line", lines: "X-A: b\nX-B: c", code: "bare-lf" },
  { name: "bare LF inside a value", lines: "X-A: a\nb", code: "bare-lf" },
  { name: "bare CR ending a field line", lines: "X-A: b\rX-B: c", code: "bare-cr" },
  { name: "bare CR inside a value", lines: "X-A: a\rb", code: "bare-cr" },
  { name: "obs-fold with a space", lines: "X-A: a\r\n b", code: "obs-fold" },
  { name: "obs-fold with a tab", lines: "X-A: a\r\n\tb", code: "obs-fold" },
  { name: "space before the colon", lines: "X-A : b", code: "whitespace-before-colon" },
  { name: "tab before the colon", lines: "X-A\t: b", code: "whitespace-before-colon" },
  { name: "no colon", lines: "X-A", code: "invalid-header-name" },
  { name: "no colon, with a space", lines: "X-A b", code: "whitespace-before-colon" },
  { name: "empty name", lines: ": b", code: "invalid-header-name" },
  { name: "space inside the name", lines: "X A: b", code: "whitespace-before-colon" },
  { name: "NUL in the name", lines: "X-\u0000: b", code: "invalid-header-name" },
  { name: "separator in the name", lines: "X(A): b", code: "invalid-header-name" },
  { name: "high byte in the name", lines: "X-\u00e9: b", code: "invalid-header-name" },
  { name: "NUL in a value", lines: "X-A: a\u0000b", code: "invalid-header-value" },
  { name: "control character in a value", lines: "X-A: a\u0001b", code: "invalid-header-value" },
  { name: "DEL in a value", lines: "X-A: a\u007fb", code: "invalid-header-value" },
  { name: "ESC ending a value", lines: "X-A: a\u001b", code: "invalid-header-value" },
];

export const VALID_FIELD_LINES: ValidFieldLineCase[] = [
  { name: "plain", lines: "X-A: b", fields: [["x-a", "b"]] },
  { name: "no space after the colon", lines: "X-A:b", fields: [["x-a", "b"]] },
  { name: "surrounding whitespace trimmed", lines: "X-A: \t b c \t ", fields: [["x-a", "b c"]] },
  { name: "empty value", lines: "X-A:", fields: [["x-a", ""]] },
  { name: "tab inside a value", lines: "X-A: a\tb", fields: [["x-a", "a\tb"]] },
  {
    name: "obs-text in a value",
    lines: "X-A: caf\u00e9\u00ff",
    fields: [["x-a", "caf\u00e9\u00ff"]],
  },
  {
    name: "every tchar in a name",
    lines: "!#$%&'*+-.^_`|~09azAZ: v",
    fields: [["!#$%&'*+-.^_`|~09azaz", "v"]],
  },
  {
    name: "repeated fields kept in order",
    lines: "X-A: 1\r\nx-a: 2",
    fields: [["x-a", "1"], ["x-a", "2"]],
  },
  { name: "colon inside a value", lines: "X-A: a:b", fields: [["x-a", "a:b"]] },
];
