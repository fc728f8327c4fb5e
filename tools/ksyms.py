#!/usr/bin/env python3
"""Makes the symbol table that the kernel embeds for symbolized panics.

    ksyms.py IMAGE OUT.bin           write the table of IMAGE's functions
    ksyms.py --verify IMAGE TABLE    check that IMAGE's functions sit where TABLE says

Format (little endian), read by kernel/symbols.cpp:
    u32 magic 'KSYM', u32 count, u32 strings_offset, u32 reserved
    count x { u64 address, u32 name_offset, u32 size }   sorted by address
    NUL-terminated names
"""
import struct
import subprocess
import sys

MAGIC = 0x4D59534B
MAX_NAME = 160


def functions(image):
    out = subprocess.run(["nm", "--defined-only", "-n", "-C", "-S", image],
                         check=True, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            addr, size, kind, name = parts
        elif len(parts) == 3:
            addr, kind, name = parts
            size = "0"
        else:
            continue
        if kind not in "TtWw" or name.startswith("."):
            continue
        syms.append((int(addr, 16), int(size, 16), name[:MAX_NAME]))
    return syms


def write(image, path):
    syms = functions(image)
    header = 16
    strings_offset = header + 16 * len(syms)
    entries, strings = [], bytearray()
    for addr, size, name in syms:
        entries.append(struct.pack("<QII", addr, len(strings), size))
        strings += name.encode() + b"\0"
    with open(path, "wb") as f:
        f.write(struct.pack("<IIII", MAGIC, len(syms), strings_offset, 0))
        f.write(b"".join(entries))
        f.write(strings)


def verify(image, path):
    data = open(path, "rb").read()
    magic, count, strings_offset, _ = struct.unpack_from("<IIII", data, 0)
    assert magic == MAGIC
    table = {}
    for i in range(count):
        addr, name_off, _ = struct.unpack_from("<QII", data, 16 + 16 * i)
        end = data.index(b"\0", strings_offset + name_off)
        # Names are cut at MAX_NAME, so two template instances can share one: keep every
        # address a name has.
        table.setdefault(data[strings_offset + name_off:end].decode(), set()).add(addr)
    moved = [(n, a, min(table[n])) for a, _, n in functions(image) if n in table and a not in table[n]]
    if moved or len(table) == 0:
        for name, now, then in moved[:10]:
            print(f"ksyms: {name} moved from {then:#x} to {now:#x} between links", file=sys.stderr)
        if not table:
            print("ksyms: empty symbol table", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "--verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        write(sys.argv[1], sys.argv[2])
