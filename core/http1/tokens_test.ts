import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  equalsIgnoreCase,
  isFieldValue,
  isToken,
  listHasToken,
  parseParameterizedList,
  splitList,
} from "./tokens.ts";

Deno.test("isToken() accepts tchar strings and nothing else", () => {
  for (const s of ["a", "chat.v2", "!#$%&'*+-.^_`|~", "Z9"]) equal(isToken(s), true, s);
  for (const s of ["", "a b", "a/b", "a,b", 'a"', "\u00e9", "a\x00", "(x)", "a:b", "a=b"]) {
    equal(isToken(s), false, JSON.stringify(s));
  }
});

Deno.test("isFieldValue() refuses CR, LF, NUL, DEL and characters above U+00FF", () => {
  for (const s of ["", "text/html; q=0.9", "a\tb", "caf\u00e9"]) equal(isFieldValue(s), true, s);
  for (const s of ["a\rb", "a\nb", "a\x00b", "a\x7fb", "a\u0100", "\x01"]) {
    equal(isFieldValue(s), false, JSON.stringify(s));
  }
});

Deno.test("equalsIgnoreCase() folds ASCII letters only", () => {
  const cases: [string, string, boolean][] = [
    ["Content-Type", "content-type", true],
    ["UPGRADE", "upgrade", true],
    ["X-a^b", "X-a~b", false], // 0x5e | 0x20 === 0x7e: the old bug
    ["@", "`", false], // 0x40 | 0x20 === 0x60
    ["[", "{", false],
    ["a", "ab", false],
    ["\u00c9", "\u00e9", false], // non-ASCII letters do not fold
  ];
  for (const [a, b, want] of cases) equal(equalsIgnoreCase(a, b), want, `${a} ~ ${b}`);
});

Deno.test("equalsIgnoreCase() agrees with lowercasing for ASCII strings", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary-ascii" }),
      fc.string({ unit: "binary-ascii" }),
      (a, b) => {
        const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
        equal(equalsIgnoreCase(a, b), lower(a) === lower(b));
        equal(equalsIgnoreCase(a, a.toUpperCase()), lower(a) === lower(a.toUpperCase()));
      },
    ),
  );
});

Deno.test("splitList() trims optional whitespace and skips empty elements", () => {
  const cases: [string[], string[]][] = [
    [[], []],
    [[""], []],
    [["a"], ["a"]],
    [[" a ,\tb\t"], ["a", "b"]],
    [["a,,b", ", ,c"], ["a", "b", "c"]],
    [["keep-alive, Upgrade"], ["keep-alive", "Upgrade"]],
  ];
  for (const [input, want] of cases) deepEqual(splitList(input), want, JSON.stringify(input));
});

Deno.test("listHasToken() matches whole elements case-insensitively", () => {
  equal(listHasToken(["keep-alive, UPGRADE"], "upgrade"), true);
  equal(listHasToken(["a", "b, websocket"], "websocket"), true);
  equal(listHasToken(["websocket/13"], "websocket"), false);
  equal(listHasToken(["websockets"], "websocket"), false);
  equal(listHasToken([], "websocket"), false);
});

Deno.test("parseParameterizedList() parses tokens, parameters and quoted values", () => {
  const cases: [string[], ReturnType<typeof parseParameterizedList>][] = [
    [[], []],
    [["permessage-deflate"], [{ name: "permessage-deflate", params: [] }]],
    [
      ["permessage-deflate; client_max_window_bits"],
      [{ name: "permessage-deflate", params: [["client_max_window_bits", true]] }],
    ],
    [
      ['permessage-deflate ; Server_Max_Window_Bits = "10" ; x=a'],
      [{
        name: "permessage-deflate",
        params: [["server_max_window_bits", "10"], ["x", "a"]],
      }],
    ],
    [
      ["a, b; c=1", "d"],
      [{ name: "a", params: [] }, { name: "b", params: [["c", "1"]] }, { name: "d", params: [] }],
    ],
    [['a; q="x\\"y\\\\z"'], [{ name: "a", params: [["q", 'x"y\\z']] }]],
    [[", a ,, "], [{ name: "a", params: [] }]],
  ];
  for (const [input, want] of cases) {
    deepEqual(parseParameterizedList(input), want, JSON.stringify(input));
  }
});

Deno.test("parseParameterizedList() returns null for invalid syntax", () => {
  const bad = [
    "a;",
    "a; =1",
    "a; b=",
    'a; b="unterminated',
    "a b",
    "a; b=c d",
    "/x",
    'a; b="\x01"',
    "a; b=1 c",
  ];
  for (const v of bad) equal(parseParameterizedList([v]), null, JSON.stringify(v));
});
