#!/usr/bin/env python3
"""Drives a TCP echo server and checks every byte that comes back.

    tcp_echo_client.py HOST PORT [--parallel N --size BYTES] [--short N]

--parallel: N connections at once, each sending SIZE bytes of its own pattern while
reading the echo; each must get exactly its bytes back, then a clean end of stream.
--short: N connections one after another, each sending one short message and closing.
Prints one line per phase with figures; exits non-zero on the first wrong byte or error.
"""
import argparse
import hashlib
import selectors
import socket
import sys
import time


def pattern(index, size):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{index}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def parallel(host, port, count, size, timeout):
    selector = selectors.DefaultSelector()
    conns = []
    for i in range(count):
        s = socket.create_connection((host, port), timeout=timeout)
        s.setblocking(False)
        c = {"i": i, "sock": s, "data": pattern(i, size), "sent": 0, "got": bytearray(), "eof": False}
        conns.append(c)
        selector.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    start = time.monotonic()
    open_count = count
    while open_count > 0:
        if time.monotonic() - start > timeout:
            stuck = [(c["i"], c["sent"], len(c["got"])) for c in conns if not c["eof"]][:5]
            raise SystemExit(f"parallel: timed out after {timeout}s; stuck (index, sent, received): {stuck}")
        for key, events in selector.select(timeout=1):
            c = key.data
            s = c["sock"]
            if events & selectors.EVENT_WRITE and c["sent"] < size:
                try:
                    c["sent"] += s.send(c["data"][c["sent"]:c["sent"] + 65536])
                except BlockingIOError:
                    pass
                if c["sent"] == size:
                    s.shutdown(socket.SHUT_WR)
                    selector.modify(s, selectors.EVENT_READ, c)
            if events & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                if chunk:
                    offset = len(c["got"])
                    if c["data"][offset:offset + len(chunk)] != chunk:
                        bad = next(k for k in range(len(chunk)) if c["data"][offset + k] != chunk[k])
                        raise SystemExit(f"parallel: connection {c['i']}: wrong byte at offset {offset + bad}")
                    c["got"] += chunk
                    if len(c["got"]) > size:
                        raise SystemExit(f"parallel: connection {c['i']}: more bytes than sent")
                else:
                    if len(c["got"]) != size:
                        raise SystemExit(f"parallel: connection {c['i']}: end of stream after {len(c['got'])} of {size}")
                    c["eof"] = True
                    selector.unregister(s)
                    s.close()
                    open_count -= 1
    elapsed = time.monotonic() - start
    total = count * size
    print(f"parallel: {count} connections echoed {total} bytes in {elapsed:.2f} s "
          f"({total / elapsed / 1048576:.1f} MiB/s each way)", flush=True)


def short(host, port, count, timeout):
    start = time.monotonic()
    for i in range(count):
        message = f"short connection {i}\n".encode()
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(message)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got != message:
                raise SystemExit(f"short: connection {i}: got {got!r}")
    elapsed = time.monotonic() - start
    print(f"short: {count} connections in {elapsed:.2f} s ({count / elapsed:.0f} per second)", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--parallel", type=int, default=0)
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--short", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    if args.parallel:
        parallel(args.host, args.port, args.parallel, args.size, args.timeout)
    if args.short:
        short(args.host, args.port, args.short, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
