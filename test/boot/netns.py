"""A private test network: a network namespace that holds a TAP device for the guest and
the host side's address. QEMU runs inside the namespace, so the guest's traffic never
leaves it; everything is removed afterwards.

    with TestNetwork(host_ip="10.0.0.1/24") as net:
        qemu = net.popen([...tools/run..., "--net", f"tap={net.tap}"])
        net.run(["ping", "-c", "3", "10.0.0.2"])
"""
import os
import subprocess
import uuid


class Unavailable(Exception):
    """This machine cannot make the test network (not root, no /dev/net/tun, no ip)."""


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class TestNetwork:
    def __init__(self, host_ip="10.0.0.1/24"):
        self.name = "uk-" + uuid.uuid4().hex[:8]
        self.tap = "uktap0"
        self.host_ip = host_ip

    def __enter__(self):
        if os.geteuid() != 0:
            raise Unavailable("network tests need root (ip netns, TAP devices)")
        if not os.path.exists("/dev/net/tun"):
            raise Unavailable("no /dev/net/tun")
        try:
            _ip("netns", "add", self.name)
        except (FileNotFoundError, subprocess.CalledProcessError) as e:
            raise Unavailable(f"cannot create a network namespace: {e}")
        try:
            self.run(["ip", "link", "set", "lo", "up"])
            self.run(["ip", "tuntap", "add", "dev", self.tap, "mode", "tap"])
            self.run(["ip", "addr", "add", self.host_ip, "dev", self.tap])
            self.run(["ip", "link", "set", self.tap, "up"])
        except subprocess.CalledProcessError:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        _ip("netns", "del", self.name, check=False)
        return False

    def command(self, args):
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, args, timeout=60, check=True):
        return subprocess.run(self.command(args), check=check, capture_output=True, text=True, timeout=timeout)

    def popen(self, args, **kwargs):
        return subprocess.Popen(self.command(args), **kwargs)
