#!/usr/bin/env python3
"""Rewrites imports from node:assert/strict to the strict functions.

Deno 2.9's node:assert/strict exports loose `equal`/`deepEqual` under
their names (unlike Node), so `deepEqual(1, "1")` passes. This maps each
loose name to its strict counterpart, keeping the local name.
"""
import re, sys, pathlib

MAP = {"deepEqual": "deepStrictEqual", "equal": "strictEqual",
       "notDeepEqual": "notDeepStrictEqual", "notEqual": "notStrictEqual"}
IMPORT = re.compile(r'import\s*\{([^}]*)\}\s*from\s*"node:assert/strict"', re.S)

def fix_names(body: str) -> str:
    parts = [p for p in re.split(r",", body)]
    out = []
    for p in parts:
        m = re.match(r'(\s*(?:\*\s*)?)(\w+)(\s+as\s+(\w+))?(\s*)$', p, re.S)
        if not m:
            out.append(p); continue
        lead, name, _as, alias, trail = m.groups()
        if name in MAP:
            local = alias or name
            out.append(f"{lead}{MAP[name]} as {local}{trail}")
        else:
            out.append(p)
    return ",".join(out)

for path in sys.argv[1:]:
    p = pathlib.Path(path)
    s = p.read_text()
    n = IMPORT.sub(lambda m: m.group(0).replace(m.group(1), fix_names(m.group(1))), s)
    if n != s:
        p.write_text(n)
        print("fixed", path)
