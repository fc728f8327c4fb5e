#!/usr/bin/env python3
"""TCP interoperability driver: Linux's own TCP against a TCP echo server.

Runs inside the test's network namespace (hosted_test.py starts it with `ip netns exec`),
so the namespace's sysctls (net.ipv4.tcp_sack, tcp_timestamps, tcp_window_scaling) decide
what Linux offers. Three checks, each with every byte verified:

  large      one connection streams --bytes each way at once (the echo sends back while we
             still send), then half-closes and expects the server to close too
  many       --connections connections open at the same time, --connection-bytes each
  slow       a reader that stops reading for a while: the server meets a zero window
             and must resume when it opens (persist timer, RFC 9293 §3.8.6.1)

It prints the TCP options Linux negotiated (from TCP_INFO) and fails if one that the
namespace switched off was negotiated anyway.

    tcp_interop.py --server 10.0.0.2 [--port 7] [--expect-off sack,timestamps]
    tcp_interop.py --serve 10.0.0.1 [--port 7]    # Linux's own echo server, to check this driver
"""
import argparse
import random
import selectors
import socket
import struct
import sys
import threading
import time

# linux/tcp.h: struct tcp_info begins with state, ca_state, retransmits, probes, backoff,
# options, then the window-scale nibbles.
TCPI_OPT_TIMESTAMPS = 1
TCPI_OPT_SACK = 2
TCPI_OPT_WSCALE = 4
OPTION_BITS = {"timestamps": TCPI_OPT_TIMESTAMPS, "sack": TCPI_OPT_SACK, "window_scaling": TCPI_OPT_WSCALE}


class Failure(Exception):
    pass


def pattern(seed, size):
    return random.Random(seed).randbytes(size)


def negotiated_options(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    options = struct.unpack("8B", info)[5]
    return {name for name, bit in OPTION_BITS.items() if options & bit}


class Stream:
    """One connection's send and verify state, for the selector loop."""

    def __init__(self, sock, data, name):
        self.sock = sock
        self.data = data
        self.name = name
        self.sent = 0
        self.received = 0
        self.eof = False
        self.last_progress = time.monotonic()

    def send_some(self):
        if self.sent < len(self.data):
            try:
                n = self.sock.send(self.data[self.sent:self.sent + 65536])
            except BlockingIOError:
                return
            self.sent += n
            self.last_progress = time.monotonic()
            if self.sent == len(self.data):
                self.sock.shutdown(socket.SHUT_WR)

    def receive_some(self):
        try:
            chunk = self.sock.recv(262144)
        except BlockingIOError:
            return
        except ConnectionResetError:
            raise Failure(f"{self.name}: connection reset after {self.received} of {len(self.data)} bytes echoed")
        if not chunk:
            if self.received != len(self.data):
                raise Failure(f"{self.name}: the server closed after {self.received} of {len(self.data)} bytes")
            self.eof = True
            return
        expected = self.data[self.received:self.received + len(chunk)]
        if chunk != expected:
            first = next(i for i in range(len(chunk)) if i >= len(expected) or chunk[i] != expected[i])
            raise Failure(f"{self.name}: wrong byte at offset {self.received + first} "
                          f"(got {len(chunk)} bytes where {len(self.data) - self.received} were due)")
        self.received += len(chunk)
        self.last_progress = time.monotonic()

    @property
    def done(self):
        return self.eof


def connect(server, port, timeout=10):
    sock = socket.create_connection((server, port), timeout=timeout)
    sock.setblocking(False)
    return sock


def drive(streams, timeout, stall_timeout=30):
    """Sends and verifies on every stream until each has been echoed in full and closed."""
    selector = selectors.DefaultSelector()
    for s in streams:
        selector.register(s.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, s)
    deadline = time.monotonic() + timeout
    open_streams = len(streams)
    while open_streams:
        now = time.monotonic()
        if now > deadline:
            raise Failure(f"timed out after {timeout}s: " + status(streams))
        for s in streams:
            if not s.done and now - s.last_progress > stall_timeout:
                raise Failure(f"{s.name}: no progress for {stall_timeout}s: " + status([s]))
        for key, events in selector.select(timeout=1):
            s = key.data
            if events & selectors.EVENT_WRITE:
                s.send_some()
                if s.sent == len(s.data):
                    selector.modify(s.sock, selectors.EVENT_READ, s)
            if events & selectors.EVENT_READ:
                s.receive_some()
                if s.done:
                    selector.unregister(s.sock)
                    open_streams -= 1
    selector.close()


def status(streams):
    return "; ".join(f"{s.name} sent {s.sent}/{len(s.data)}, echoed {s.received}" for s in streams)


def check_options(sock, expect_off, label):
    options = negotiated_options(sock)
    print(f"{label}: Linux negotiated {', '.join(sorted(options)) or 'no options'}", flush=True)
    wrongly_on = options & expect_off
    if wrongly_on:
        raise Failure(f"{label}: {', '.join(sorted(wrongly_on))} negotiated although switched off in the namespace")


def large_transfer(args, expect_off):
    sock = connect(args.server, args.port)
    check_options(sock, expect_off, "large")
    stream = Stream(sock, pattern(1, args.bytes), "large")
    start = time.monotonic()
    drive([stream], timeout=args.timeout)
    elapsed = time.monotonic() - start
    sock.close()
    print(f"large: {args.bytes} bytes each way in {elapsed:.2f} s "
          f"({2 * args.bytes / elapsed / 1e6:.1f} MB/s both ways together)", flush=True)


def many_connections(args, expect_off):
    streams = []
    try:
        for i in range(args.connections):
            sock = connect(args.server, args.port)
            streams.append(Stream(sock, pattern(1000 + i, args.connection_bytes), f"connection {i}"))
        check_options(streams[0].sock, expect_off, "many")
        start = time.monotonic()
        drive(streams, timeout=args.timeout)
        print(f"many: {args.connections} connections at once, {args.connection_bytes} bytes each way each, "
              f"in {time.monotonic() - start:.2f} s", flush=True)
    finally:
        for s in streams:
            s.sock.close()


def slow_reader(args, expect_off):
    # A small receive buffer, and nothing read for a while: Linux advertises a zero window
    # and the server has to wait for it to open.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((args.server, args.port))
    check_options(sock, expect_off, "slow")
    data = pattern(7, args.slow_bytes)
    sock.setblocking(False)
    stream = Stream(sock, data, "slow")
    pause_until = time.monotonic() + args.pause
    while time.monotonic() < pause_until:
        stream.send_some()
        time.sleep(0.01)
    drive([stream], timeout=args.timeout)
    sock.close()
    print(f"slow: {args.slow_bytes} bytes through a reader that paused {args.pause} s", flush=True)


def serve(address, port):
    """Linux's own echo server: echoes every byte, closes when the client has."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(256)
    print(f"serving on {address}:{port}", flush=True)

    def echo(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="the echo server's address")
    parser.add_argument("--serve", metavar="ADDRESS", help="run Linux's echo server instead")
    parser.add_argument("--port", type=int, default=7)
    parser.add_argument("--bytes", type=int, default=8 << 20, help="the large transfer, each way")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--connection-bytes", type=int, default=128 << 10)
    parser.add_argument("--slow-bytes", type=int, default=1 << 20)
    parser.add_argument("--pause", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--expect-off", default="", help="options switched off: sack,timestamps,window_scaling")
    parser.add_argument("--only", choices=["large", "many", "slow"], action="append")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if not args.server:
        parser.error("--server or --serve is required")
    expect_off = {o for o in args.expect_off.split(",") if o}
    unknown = expect_off - set(OPTION_BITS)
    if unknown:
        parser.error(f"unknown options: {', '.join(sorted(unknown))}")
    checks = {"large": large_transfer, "many": many_connections, "slow": slow_reader}
    try:
        for name in args.only or checks:
            checks[name](args, expect_off)
    except (Failure, OSError) as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
