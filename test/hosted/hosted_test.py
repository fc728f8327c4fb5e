#!/usr/bin/env python3
"""Hosted-target tests: the examples built as Linux programs (build/hosted/NAME/NAME) on a
TAP device in a network namespace that the test makes and removes (test/boot/netns.py).

    hosted_test.py CASE --build DIR --source DIR

  udp_echo      Linux pings the hosted udp_echo and exchanges UDP datagrams with it
  tcp_interop   Linux's TCP against the hosted TCP echo server (examples/echo, port 7):
                tcp_interop.py with SACK, timestamps and window scaling each switched off
                in turn; skipped (exit 77) until build/hosted/echo/echo exists
  tcp_interop_linux  the same driver against Linux's own echo server in the namespace,
                so a failure of tcp_interop points at our stack, not at the driver
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "boot"))
from netns import TestNetwork, Unavailable  # noqa: E402

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests
SERVER = "10.0.0.2"
HOST = "10.0.0.1"
CASES = {}

# The options Linux offers by default, switched off one at a time (and all on first).
TCP_VARIANTS = [
    ("defaults", {}),
    ("no SACK", {"net.ipv4.tcp_sack": "0"}),
    ("no timestamps", {"net.ipv4.tcp_timestamps": "0"}),
    ("no window scaling", {"net.ipv4.tcp_window_scaling": "0"}),
]
SYSCTL_OPTION = {"net.ipv4.tcp_sack": "sack", "net.ipv4.tcp_timestamps": "timestamps",
                 "net.ipv4.tcp_window_scaling": "window_scaling"}


def case(function):
    CASES[function.__name__] = function
    return function


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def expect(condition, message, output=""):
    if not condition:
        raise Failure(message + ("\n--- program output ---\n" + output if output else ""))


class Env:
    def __init__(self, build, source):
        self.build = build
        self.source = source

    def program(self, name):
        return os.path.join(self.build, "hosted", name, name)


class HostedProgram:
    """A hosted example running in the namespace on its TAP device, its output collected."""

    def __init__(self, network, path, *settings):
        self.process = network.popen([path, f"tap={network.tap}", *settings], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.lines = []

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return True
        return False

    @property
    def output(self):
        return "".join(self.lines)

    def finish(self, timeout=30):
        try:
            rest, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
            self.lines.append(rest)
            raise Failure(f"the program did not exit within {timeout}s", self.output)
        self.lines.append(rest)
        return self.process.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def make_network():
    try:
        network = TestNetwork(host_ip=f"{HOST}/24")
        network.__enter__()
    except Unavailable as e:
        raise Skip(f"cannot make the test network: {e}")
    return network


@case
def udp_echo(env):
    network = make_network()
    program = None
    try:
        program = HostedProgram(network, env.program("udp_echo"), f"ip={SERVER}/24", f"gw={HOST}")
        expect(program.wait_for(f"udp_echo: listening on {SERVER}:7"), "the program never listened",
               program.output)
        ping = network.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", SERVER], check=False)
        expect(ping.returncode == 0 and " 0% packet loss" in ping.stdout, f"ping failed:\n{ping.stdout}{ping.stderr}",
               program.output)
        # Sizes up to a full 1472-byte payload (a 1500-byte IP packet), then a burst of 30
        # sent before any is read back (the socket queues 32).
        client = ("import socket\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
                  f"peer=('{SERVER}',7)\n"
                  "for i in range(20):\n"
                  "    msg=(f'datagram {i} '+'x'*(i*70)).encode()[:1472]\n"
                  "    s.sendto(msg,peer); data,addr=s.recvfrom(4096)\n"
                  "    assert data==msg and addr==peer, (data[:40],addr)\n"
                  "burst=[f'burst {i} '.encode()*(i+1) for i in range(30)]\n"
                  "for m in burst: s.sendto(m,peer)\n"
                  "got=sorted(s.recvfrom(4096)[0] for m in burst)\n"
                  "assert got==sorted(burst), 'burst echoed wrongly'\n"
                  "s.sendto(b'nobody',(peer[0],9999))\n"
                  "s.sendto(b'quit',peer); print('echoed 50')\n")
        udp = network.run([sys.executable, "-c", client], check=False)
        expect(udp.returncode == 0 and "echoed 50" in udp.stdout, f"UDP echo failed:\n{udp.stdout}{udp.stderr}",
               program.output)
        status = program.finish()
        out = program.output
        expect(status == 0, f"exit status {status}", out)
        expect("udp_echo: echoed 50 datagrams" in out, "the program's count is wrong", out)
        expect(re.search(r", 0 malformed, ([5-9]|\d{2,}) ping replies", out),
               "ping replies not counted, or malformed frames seen", out)
    finally:
        if program is not None:
            program.kill()
        network.__exit__(None, None, None)


def read_root_sysctls():
    values = {}
    for name in SYSCTL_OPTION:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            values[name] = f.read().strip()
    return values


def tcp_interop_run(network, server, driver_options=()):
    """Runs tcp_interop.py in the namespace once per TCP_VARIANTS entry."""
    root_before = read_root_sysctls()
    results = []
    for label, settings in TCP_VARIANTS:
        for name in SYSCTL_OPTION:
            value = settings.get(name, "1")
            network.run(["sysctl", "-q", "-w", f"{name}={value}"])
        # These sysctls are per namespace (Linux 4.15 and later): the host's must not move.
        if read_root_sysctls() != root_before:
            raise Failure(f"setting TCP sysctls in the namespace changed the host's: {read_root_sysctls()}")
        expect_off = ",".join(SYSCTL_OPTION[name] for name in settings)
        driver = network.run([sys.executable, os.path.join(HERE, "tcp_interop.py"), "--server", server,
                              "--expect-off", expect_off, *driver_options], timeout=600, check=False)
        print(f"--- {label} ---\n{driver.stdout}{driver.stderr}", flush=True)
        results.append((label, driver))
    failed = [label for label, driver in results if driver.returncode != 0]
    if failed:
        raise Failure("tcp_interop.py failed with " + ", ".join(failed))


@case
def tcp_interop(env):
    echo = env.program("echo")
    if not os.path.exists(echo):
        raise Skip(f"{echo} does not exist yet: examples/echo (the TCP echo server) has not landed, "
                   "or its CMakeLists.txt lacks add_hosted_app(echo SOURCES ...)")
    network = make_network()
    program = None
    try:
        program = HostedProgram(network, echo, f"ip={SERVER}/24", f"gw={HOST}")
        # Any line that names the address will do; then the port has to answer.
        ready = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not ready:
            probe = network.run([sys.executable, "-c",
                                 f"import socket; socket.create_connection(('{SERVER}',7),timeout=1).close()"],
                                check=False)
            ready = probe.returncode == 0
            if not ready:
                time.sleep(0.5)
        expect(ready, "nothing accepted connections on port 7 within 30 s", program.output)
        tcp_interop_run(network, SERVER)
        expect(program.process.poll() is None, "the echo server exited during the test", program.output)
    finally:
        if program is not None:
            program.kill()
            print(f"--- echo server output ---\n{program.output}")
        network.__exit__(None, None, None)


@case
def tcp_interop_linux(env):
    network = make_network()
    server = None
    try:
        server = network.popen([sys.executable, os.path.join(HERE, "tcp_interop.py"), "--serve", HOST],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        expect("serving" in server.stdout.readline(), "Linux's echo server did not start")
        tcp_interop_run(network, HOST)
    finally:
        if server is not None:
            server.kill()
            server.communicate()
        network.__exit__(None, None, None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    try:
        CASES[args.case](Env(args.build, args.source))
    except Skip as e:
        print(f"SKIP {args.case}: {e}")
        return SKIP
    except Failure as e:
        print(f"FAIL {args.case}: {e}", file=sys.stderr)
        return 1
    print(f"PASS {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
