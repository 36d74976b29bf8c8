#!/usr/bin/env python3
"""Appends an `orbital.manifest` custom section (docs/ABI.md, "Programs at run time") to a
module built without the Orbital SDK, e.g. C with clang --target=wasm32-wasi:

    python3 add_manifest.py hello.wasm '(provides: ["inbox"])'

A custom section is id 0, its size (LEB128), the name (LEB128 length, bytes), then the bytes."""
import sys


def leb128(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


if len(sys.argv) != 3:
    sys.exit(__doc__)
module, text = sys.argv[1], sys.argv[2].encode()
name = b"orbital.manifest"
body = leb128(len(name)) + name + text
with open(module, "ab") as f:
    f.write(b"\x00" + leb128(len(body)) + body)
print(f"{module}: orbital.manifest section added ({len(text)} bytes)")
