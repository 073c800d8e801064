#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turn a JSON file into a C header holding it as one string constant.

usage: embed-json.py INPUT OUTPUT NAME
The JSON is checked and minified so the file in config/ stays the single
source of truth and a broken profile fails the build, not `berth spec`.
"""
import json
import sys


def main():
    src, out, name = sys.argv[1:4]
    with open(src) as f:
        data = json.load(f)
    text = json.dumps(data, separators=(",", ":"))
    # C string literal in 76-column chunks, escaped per character so that no
    # chunk boundary splits an escape sequence
    toks = ["\\" + c if c in '\\"' else c for c in text]
    chunks, cur = [], ""
    for t in toks:
        if len(cur) + len(t) > 76:
            chunks.append(cur)
            cur = ""
        cur += t
    if cur:
        chunks.append(cur)
    with open(out, "w") as f:
        f.write(f"/* generated from {src.rsplit('/', 1)[-1]} by embed-json.py: do not edit */\n")
        f.write("#pragma once\n")
        f.write(f"static const char {name}[] =\n")
        for c in chunks:
            f.write(f'\t"{c}"\n')
        f.write(";\n")


if __name__ == "__main__":
    main()
