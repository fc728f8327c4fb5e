#!/usr/bin/env python3
"""Boot tests: boot real images in QEMU and check what they print and how they exit.

    boot_test.py CASE --build DIR --source DIR

Each case is one ctest test (test/boot/CMakeLists.txt). Images boot through tools/run, so
they use KVM with qboot when /dev/kvm opens and TCG otherwise, except where a case says.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


class Failure(Exception):
    pass


def expect(condition, message, output=""):
    if not condition:
        raise Failure(message + ("\n--- guest output ---\n" + output if output else ""))


def run(args, timeout=120):
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=timeout, text=True, errors="replace")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise Failure(f"timed out after {timeout}s: {' '.join(args)}\n{out}")
    return p.returncode, p.stdout


def read_until(process, text, timeout=60):
    """The lines a guest prints until one contains text (or it stops, or timeout passes)."""
    import time
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            break
    return lines


class Env:
    def __init__(self, build, source):
        self.build = build
        self.source = source

    def image(self, name):
        return os.path.join(self.build, "examples", name, f"{name}.elf")

    def boot(self, name, *options, timeout=120):
        return run([os.path.join(self.source, "tools", "run"), self.image(name), "--timeout", str(timeout - 10),
                    *options], timeout=timeout)


@case
def hello(env):
    status, out = env.boot("hello", "--append", "greeting=hi")
    expect(status == 0, f"exit status {status}, wanted 0", out)
    expect("Hello from the unikernel!" in out, "no greeting", out)
    expect("setting greeting = hi" in out, "command line not seen by the application", out)
    m = re.search(r"booted in (\d+) us", out)
    expect(m is not None, "no boot time printed", out)
    expect("kernel: exit status 0" in out, "no exit line", out)


@case
def hello_exit_status(env):
    status, out = env.boot("hello", "--append", "exit=42")
    expect(status == 42, f"exit status {status}, wanted 42 passed through tools/run", out)


@case
def hello_tcg(env):
    status, out = env.boot("hello", "--accel", "tcg", "--append", "boot.phases")
    expect(status == 0, f"exit status {status} under TCG", out)
    expect("Hello from the unikernel!" in out, "no greeting", out)
    # boot.phases: one line per phase, adding up to the boot time (each rounded down).
    phases = dict((name, int(us)) for name, us in re.findall(r"kernel: boot phase +(.+?) +(\d+) us", out))
    for name in ("entry asm", "memory", "acpi", "tsc", "apic", "apic timer", "pci"):
        expect(name in phases, f"no boot phase '{name}'", out)
    total = int(re.search(r"booted in (\d+) us", out).group(1))
    expect(total - len(phases) <= sum(phases.values()) <= total,
           f"boot phases add up to {sum(phases.values())} us, the boot took {total} us", out)
    # TCG runs ring 0 natively: after the gate back to ring 0 (cpu tables), no more gates.
    gates = re.findall(r"kernel: boot phase +(.+?) +\d+ us +(\d+) gates", out)
    expect(len(gates) == len(phases), "boot.phases has no gate counts", out)
    expect(all(int(n) == 0 for name, n in gates if name != "cpu tables"), "gates taken in ring 0", out)


@case
def hello_plain_qemu(env):
    # QEMU's defaults: SeaBIOS, the default machine, TCG, default devices, no
    # isa-debug-exit. Only the display is off and the serial port goes to a file. The
    # kernel must power off through ACPI.
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "serial.log")
        status, qemu_out = run(["qemu-system-x86_64", "-kernel", env.image("hello"), "-display", "none",
                                "-serial", f"file:{log}"], timeout=120)
        out = open(log, errors="replace").read()
    expect(status == 0, f"QEMU exit status {status}: {qemu_out}", out)
    expect("Hello from the unikernel!" in out, "no greeting", out)
    expect("kernel: exit status 0" in out, "the guest did not exit cleanly", out)


@case
def hello_i8042_reset(env):
    # Neither isa-debug-exit nor ACPI: the kernel ends the VM through the i8042 reset line,
    # as on Firecracker; QEMU with -no-reboot exits on the reset.
    status, out = run(["qemu-system-x86_64", "-M", "pc,acpi=off", "-accel", "tcg", "-m", "128M", "-kernel",
                       env.image("hello"), "-display", "none", "-serial", "stdio", "-no-reboot"], timeout=60)
    expect("Hello from the unikernel!" in out, "no greeting", out)
    expect("resetting through the i8042" in out, "the i8042 reset was not tried", out)
    expect("halting" not in out and status == 0, f"the reset did not end the VM (status {status})", out)


@case
def hello_bad_command_line(env):
    status, out = env.boot("hello", "--append", 'ok=1 =nokey bad!name=2 q="open')
    expect(status == 0, f"a malformed command line must not stop the boot (status {status})", out)
    expect(re.search(r"column \d+: setting has no name before '=': '=nokey'", out), "empty key not reported with its column", out)
    expect("bad!name=2" in out, "bad key not reported", out)
    expect("unterminated quote" in out, "unterminated quote not reported", out)
    expect("setting ok = 1" in out, "the good setting was lost", out)


@case
def ring_choice(env):
    # kernel/gates/privilege.hpp: the kernel moves to ring 3 where ring 0 is emulated, and
    # cpu.ring forces either ring. Ring 3 under TCG runs every privilege gate the boot
    # needs (port I/O, MSRs, control registers, cli/sti), and exits through them.
    status, out = env.boot("hello", "--accel", "tcg", "--append", "cpu.ring=3 boot.phases")
    expect(status == 0, f"exit status {status} in ring 3 under TCG", out)
    expect("ring 3 (cpu.ring=3)" in out, "not in ring 3 with cpu.ring=3", out)
    expect("Hello from the unikernel!" in out, "no greeting from ring 3", out)
    gates = dict((name, int(n)) for name, n in re.findall(r"kernel: boot phase +(.+?) +\d+ us +(\d+) gates", out))
    expect("pci" in gates and gates["pci"] > 0, "boot.phases has no gate counts in ring 3", out)
    status, out = env.boot("hello", "--append", "cpu.ring=0")
    expect(status == 0, f"exit status {status} in ring 0", out)
    expect("ring 0 (cpu.ring=0)" in out, "not in ring 0 with cpu.ring=0", out)
    status, out = env.boot("hello", "--accel", "tcg", "--append", "cpu.ring=7")
    expect(status == 0, f"a bad cpu.ring must not stop the boot (status {status})", out)
    expect("cpu.ring: expected 0, 3 or auto; choosing automatically" in out, "bad cpu.ring not reported", out)
    expect("ring 0 (ring-0 code runs natively)" in out, "TCG's ring 0 not measured as native", out)


@case
def fault_invalid_opcode_ring3(env):
    # A trap (ud2) from ring 3 is reported as before, not taken for a privilege gate.
    status, out = env.boot("fault", "--accel", "tcg", "--append", "fault=ud cpu.ring=3")
    expect(status == 101, f"exit status {status}, wanted 101 (panic)", out)
    expect(re.search(r"Invalid opcode \(#UD\) \(vector 6\)", out) is not None, "no #UD report", out)
    expect("cs 0x0033" in out, "the fault did not come from ring 3", out)


def fault_case(env, kind, *patterns):
    status, out = env.boot("fault", "--append", f"fault={kind}")
    expect(status == 101, f"exit status {status}, wanted 101 (panic)", out)
    for pattern in patterns:
        expect(re.search(pattern, out) is not None, f"panic report lacks /{pattern}/", out)
    expect(re.search(r"#\d+ 0x[0-9a-f]{16} main\(\)\+0x", out) or kind == "overflow",
           "backtrace does not reach main()", out)


@case
def fault_page(env):
    fault_case(env, "page", r"CPU exception: Page fault \(#PF\) \(vector 14\)",
               r"faulting address \(CR2\): 0x00000000dead0000 \(page not present, write\)",
               r"rip 0x[0-9a-f]+ \(anonymous namespace\)::write_through_bad_pointer",
               r"#0 0x[0-9a-f]+ \(anonymous namespace\)::write_through_bad_pointer")


@case
def fault_null(env):
    fault_case(env, "null", r"Page fault \(#PF\)", r"a null pointer dereference", r"read_null")


@case
def fault_stack_overflow(env):
    fault_case(env, "overflow", r"Page fault \(#PF\)", r"stack overflow: boot stack ran into its guard page",
               r"recurse\(int\)")


@case
def fault_invalid_opcode(env):
    fault_case(env, "ud", r"Invalid opcode \(#UD\) \(vector 6\)", r"rip 0x[0-9a-f]+ main\(\)\+0x")


@case
def fault_panic(env):
    fault_case(env, "panic", r"PANIC: deliberate panic \(42\)", r"backtrace:")


@case
def grub_iso(env):
    with tempfile.TemporaryDirectory() as tmp:
        iso = os.path.join(tmp, "hello.iso")
        status, out = run([os.path.join(env.source, "tools", "mkiso"), env.image("hello"), iso, "from=grub"])
        expect(status == 0, "tools/mkiso failed", out)
        status, out = run([os.path.join(env.source, "tools", "run"), iso, "--timeout", "170"], timeout=180)
    expect(status == 0, f"exit status {status}", out)
    expect("setting from = grub" in out, "GRUB's command line did not arrive", out)
    expect("Hello from the unikernel!" in out, "no greeting", out)


def timer_case(env, *options, append=""):
    # verbose brings back the APIC's boot lines checked here.
    status, out = env.boot("timer_check", "--append", f"verbose {append}".strip(), *options)
    expect(status == 0, f"exit status {status}, wanted 0", out)
    expect("timer_check: PASS" in out, "timer_check did not pass", out)
    expect(re.search(r"apic: (x2APIC|xAPIC) id \d+", out), "no local APIC line at boot", out)
    expect(re.search(r"apic: I/O APIC id \d+ at 0x[0-9a-f]+, version 0x[0-9a-f]+: \d+ pins", out),
           "no I/O APIC line at boot", out)
    mode = re.search(r"apic: timer (TSC-deadline|one-shot)", out)
    expect(mode is not None, "no timer line at boot", out)
    expect("IRQ 0 arrived through the I/O APIC on GSI 2" in out, "the PIT's interrupt did not come through", out)
    late = re.search(r"timer_check: .*late by .*", out)
    print(f"{mode.group(0)}; {late.group(0) if late else ''}")
    return out


@case
def timer_interrupts(env):
    timer_case(env)


@case
def timer_interrupts_tcg(env):
    timer_case(env, "--accel", "tcg")


@case
def timer_interrupts_q35(env):
    timer_case(env, "--machine", "q35")


@case
def timer_interrupts_one_shot(env):
    # Where the CPU has TSC-deadline mode, the one-shot mode is only used when asked for.
    out = timer_case(env, append="apic.timer=one-shot")
    expect("apic: timer one-shot" in out, "apic.timer=one-shot did not choose the one-shot mode", out)
    expect(re.search(r"one-shot at \d+\.\d{3} MHz", out), "no calibrated frequency printed", out)


@case
def timer_interrupts_no_acpi(env):
    # No ACPI tables at all: the I/O APIC is assumed where PCs put it, with a warning.
    out = timer_case(env, "--", "-machine", "acpi=off")
    expect("apic: warning: no I/O APIC in the MADT" in out, "no warning about the missing MADT", out)



def read_lines_with_times(args, timeout):
    """Runs args, returning (status, [(seconds since start, line)])."""
    import time
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         text=True, errors="replace")
    lines = []
    try:
        for line in p.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
            if time.monotonic() - start > timeout:
                break
        status = p.wait(timeout=max(1, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        p.kill()
        raise Failure("timed out:\n" + "\n".join(l for _, l in lines))
    return status, lines


@case
def sleepers(env):
    # Hundreds of concurrent sleeping tasks wake in deadline order; lateness is checked by
    # the guest against a tolerance generous enough for an emulated ring 0 on a loaded host
    # (with two tests at once on two cores, lateness of 0.2 s has been seen here).
    status, out = env.boot("sleepers", "--append", "tolerance_us=500000")
    expect(status == 0, f"exit status {status}", out)
    expect("sleepers: 300 tasks woke, 0 out of deadline order" in out, "wrong wake-up order", out)


@case
def sleepers_tcg(env):
    status, out = env.boot("sleepers", "--accel", "tcg", "--append", "tolerance_us=20000")
    expect(status == 0, f"exit status {status}", out)
    expect("sleepers: 300 tasks woke, 0 out of deadline order" in out, "wrong wake-up order", out)


@case
def sleepers_tcg_ring3(env):
    # Timer interrupts arriving in ring 3, and the event loop halting through its gate.
    status, out = env.boot("sleepers", "--accel", "tcg", "--append", "tolerance_us=20000 cpu.ring=3")
    expect(status == 0, f"exit status {status}", out)
    expect("ring 3 (cpu.ring=3)" in out, "not in ring 3", out)
    expect("sleepers: 300 tasks woke, 0 out of deadline order" in out, "wrong wake-up order", out)


@case
def wall_clock(env):
    # The guest sleeps 3 s on its own clock; the host times the same interval on its clock.
    seconds = 3
    status, lines = read_lines_with_times(
        [os.path.join(env.source, "tools", "run"), env.image("sleepers"), "--append", f"wall={seconds}",
         "--timeout", "110"], timeout=120)
    out = "\n".join(l for _, l in lines)
    expect(status == 0, f"exit status {status}", out)
    start = next((t for t, l in lines if l.startswith("wall: start")), None)
    end = next(((t, l) for t, l in lines if l.startswith("wall: end")), None)
    expect(start is not None and end is not None, "no start/end lines", out)
    host = end[0] - start
    m = re.search(r"wall: end after (\d+) us, (\d+) ticks", end[1])
    guest = int(m.group(1)) / 1e6
    ticks = int(m.group(2))
    print(f"wall clock: guest {guest:.3f} s, host {host:.3f} s, {ticks} ticks")
    expect(abs(guest - seconds) < 0.05 * seconds, f"the guest slept {guest:.3f} s, not {seconds}", out)
    expect(abs(host - seconds) < 0.10 * seconds, f"the host saw {host:.3f} s for a {seconds} s sleep", out)
    expect(abs(ticks - seconds * 10) <= 2, f"{ticks} periodic ticks, wanted about {seconds * 10}", out)


@case
def idle_cpu(env):
    # An idle guest halts: QEMU's CPU time over a long sleep stays a small part of it.
    import resource
    import time
    seconds = 8
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    status, out = env.boot("sleepers", "--append", f"idle={seconds}")
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"idle: {cpu:.2f} s of CPU over {wall:.2f} s of wall time ({100 * cpu / wall:.1f}%)")
    expect(status == 0, f"exit status {status}", out)
    expect(cpu < 0.25 * wall, f"QEMU used {cpu:.2f} s of CPU in {wall:.2f} s while the guest was idle", out)


# PCI enumeration and the virtio transports (examples/devices): virtio-net on QEMU's user
# network and virtio-balloon, modern or legacy (disable-modern=on), on the pc machine
# (configuration ports) and on q35 (ECAM). check=1 sends one buffer through each device
# and waits for the interrupt that returns it (MSI-X for the network device; the balloon
# has no MSI-X, so INTx through the I/O APIC).
def devices_case(env, machine, legacy=False, net_bus="", balloon_bus="", options=(), extra=(), append=""):
    disable_modern = "on" if legacy else "off"
    # The extra devices go first: bridges must exist before the devices plugged into them.
    # verbose brings back the PCI lines checked here: configuration access, BARs, the table.
    status, out = env.boot("devices", "--machine", machine, "--append", f"check=1 expect=2 verbose {append}".strip(),
                           *options, "--",
                           *extra,
                           "-netdev", "user,id=n0",
                           "-device", f"virtio-net-pci,netdev=n0,disable-modern={disable_modern}{net_bus}",
                           "-device", f"virtio-balloon-pci,disable-modern={disable_modern}{balloon_bus}")
    expect(status == 0, f"exit status {status}, wanted 0", out)
    access = "ECAM at 0x" if machine == "q35" else "ports CF8/CFC"
    expect(f"pci: configuration space through {access}" in out, f"configuration space not reached through {access}",
           out)
    expect(re.search(r"pci: bus:dv\.f vend:dev\s+class\s+kind\s+driver", out), "no device table", out)
    expect(re.search(r"pci: 00:00\.0  8086:[0-9a-f]{4} 06\.00\.00 host bridge", out), "no host bridge in the table",
           out)
    kind = "legacy" if legacy else "modern"
    # Modern: VIRTIO_F_VERSION_1 (bit 32) is among the features; legacy: 32 bits at most.
    features = r"0x1[0-9a-f]{8}" if not legacy else r"0x[0-9a-f]{1,8}"
    rows = {
        "virtio-net": r"1af4:(?:1000|1041) 02\.00\.00 ethernet\s+virtio-net\n",
        "virtio-balloon": r"1af4:(?:1002|1045) 00\.ff\.00 unclassified\s+virtio-balloon\n",
    }
    for name, row in rows.items():
        found = re.search(r"pci: ([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])  " + row, out)
        expect(found is not None, f"{name} is not in the device table, bound", out)
        address = re.escape(found.group(1))
        # The driver's line at boot (the probe-only driver's or the full one's), then the
        # status as main reads it from the device.
        expect(re.search(rf"\n{name} {address}: {kind}, .*features {features}", out),
               f"{name} was not brought up over the {kind} transport", out)
        expect(re.search(rf"devices: {name} {address}: {kind}, status 0x0[7f] DRIVER_OK, features {features}\n", out),
               f"{name}'s status is not DRIVER_OK in main", out)
    expect(re.search(r"devices: virtio-net [0-9a-f:.]+: ARP reply from 10\.0\.2\.2 .* \d+ interrupts \(MSI-X\)", out),
           "no ARP reply through virtio-net, or not by MSI-X", out)
    expect(re.search(r"devices: virtio-balloon [0-9a-f:.]+: (page 0x[0-9a-f]+|1 page) inflated and deflated, \d+ interrupts", out),
           "the balloon did not inflate and deflate a page with interrupts", out)
    expect("devices: 2 of 2 virtio devices at DRIVER_OK" in out, "not every virtio device reached DRIVER_OK", out)
    return out


@case
def devices_pc(env):
    # Also a virtio device nobody drives: it is listed, and the boot goes on.
    out = devices_case(env, "pc", extra=("-device", "virtio-rng-pci"))
    expect(re.search(r"virtio [0-9a-f:.]+: entropy device \(ID 4\) has no driver", out),
           "the driverless entropy device was not reported", out)
    expect(re.search(r"pci: [0-9a-f:.]+  1af4:(?:1005|1044) 00\.ff\.00 unclassified\s+-\n", out),
           "the driverless entropy device is not in the table", out)


@case
def devices_pc_legacy(env):
    devices_case(env, "pc", legacy=True)


@case
def devices_pc_tcg(env):
    devices_case(env, "pc", options=("--accel", "tcg"))


@case
def devices_q35(env):
    devices_case(env, "q35")


@case
def devices_q35_ring3_tcg(env):
    # Ring 3 under TCG, as on our hosts' KVM: ECAM's configuration stores and the virtio
    # registers wait in the queue of deferred device stores and run in ring 0 ahead of
    # each load and gate (kernel/gates/deferred.hpp).
    out = devices_case(env, "q35", options=("--accel", "tcg"), append="cpu.ring=3")
    expect("ring 3 (cpu.ring=3)" in out, "not in ring 3", out)


@case
def devices_q35_legacy(env):
    devices_case(env, "q35", legacy=True)


def bridge_case(env, options=(), append=""):
    # Both devices behind a PCI-to-PCI bridge, on bus 1: qboot numbers the bus but leaves
    # the windows closed and the interrupt lines wrong; the balloon's INTx must still arrive.
    out = devices_case(env, "pc", net_bus=",bus=br1,addr=1", balloon_bus=",bus=br1,addr=2",
                       extra=("-device", "pci-bridge,id=br1,chassis_nr=1"), options=options, append=append)
    expect(re.search(r"pci: 00:[0-9a-f]{2}\.0  1b36:0001 06\.04\.00 PCI bridge", out), "no bridge in the table", out)
    expect(re.search(r"pci: 01:01\.0  1af4:1000 02\.00\.00 ethernet\s+virtio-net", out),
           "the network device behind the bridge was not found on bus 1", out)
    expect(re.search(r"pci: \d+ BARs assigned here, \d+ kept from the firmware, 1 bridges opened", out),
           "the bridge's windows were not opened", out)
    return out


@case
def devices_pc_bridge(env):
    bridge_case(env)


@case
def devices_pc_bridge_ring3_tcg(env):
    # Ring 3 under TCG, as on our hosts' KVM, with the configuration ports: their accesses
    # queue with the MMIO ones (pci/port_config_space.hpp), and opening the bridge's
    # windows and assigning BARs are writes that wait there for the next read.
    out = bridge_case(env, options=("--accel", "tcg"), append="cpu.ring=3")
    expect("ring 3 (cpu.ring=3)" in out, "not in ring 3", out)


@case
def devices_q35_root_ports(env):
    # Each device behind a PCI Express root port of its own, and a third port left empty.
    out = devices_case(env, "q35", net_bus=",bus=rp1", balloon_bus=",bus=rp2",
                       extra=("-device", "pcie-root-port,id=rp1,chassis=1,addr=4",
                              "-device", "pcie-root-port,id=rp2,chassis=2,addr=5",
                              "-device", "pcie-root-port,id=rp3,chassis=3,addr=6"))
    expect(re.search(r"pci: 0[1-3]:00\.0  1af4:1041 02\.00\.00 ethernet", out), "the network device is not behind a port",
           out)
    expect(re.search(r"pci: 9 functions, 4 buses", out), "not every bus was scanned", out)


@case
def devices_plain_qemu(env):
    # SeaBIOS assigns every BAR and the kernel keeps them; plain -kernel, no debug-exit device.
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "serial.log")
        status, qemu_out = run(["qemu-system-x86_64", "-kernel", env.image("devices"), "-append",
                                "check=1 expect=2 verbose", "-display", "none", "-serial", f"file:{log}", "-netdev", "user,id=n0",
                                "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-balloon-pci"], timeout=120)
        out = open(log, errors="replace").read()
    expect(status == 0, f"QEMU exit status {status}: {qemu_out}", out)
    expect("BARs assigned here" not in out, "BARs the firmware assigned were moved", out)
    expect("devices: 2 of 2 virtio devices at DRIVER_OK" in out, "not every virtio device reached DRIVER_OK", out)
    expect("ARP reply from 10.0.2.2" in out, "no ARP reply through virtio-net", out)
    expect("kernel: exit status 0" in out, "the guest did not exit cleanly", out)



@case
def net_dhcp_user(env):
    # QEMU user networking runs a DHCP server at 10.0.2.2 that hands out 10.0.2.15.
    status, out = env.boot("udp_echo", "--net", "user", "--append", "exit_when_configured")
    expect(status == 0, f"exit status {status}", out)
    expect("net: 10.0.2.15/24 via DHCP, gateway 10.0.2.2" in out, "no DHCP lease reported", out)


def net_tap_case(env, *run_options, append="ip=10.0.0.2/24 gw=10.0.0.1"):
    # Linux in a private namespace pings the guest and talks UDP to it over a TAP device.
    import socket
    import time
    from netns import TestNetwork, Unavailable
    try:
        network = TestNetwork(host_ip="10.0.0.1/24")
        network.__enter__()
    except Unavailable as e:
        raise Failure(f"cannot make the test network: {e}")
    qemu = None
    try:
        qemu = network.popen([os.path.join(env.source, "tools", "run"), env.image("udp_echo"), "--net",
                              f"tap={network.tap}", "--append", append, "--timeout", "100",
                              *run_options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_until(qemu, "udp_echo: listening")
        out = "".join(lines)
        expect(any("udp_echo: listening on 10.0.0.2:7" in l for l in lines), "the guest never listened", out)
        ping = network.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", "10.0.0.2"], check=False)
        expect(ping.returncode == 0 and " 0% packet loss" in ping.stdout, f"ping failed:\n{ping.stdout}{ping.stderr}",
               out)
        # 4000 bytes of data: Linux fragments the request, the guest reassembles it and
        # fragments its reply, Linux reassembles that.
        big_ping = network.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "4000", "10.0.0.2"], check=False)
        expect(big_ping.returncode == 0 and " 0% packet loss" in big_ping.stdout,
               f"ping -s 4000 failed:\n{big_ping.stdout}{big_ping.stderr}", out)
        client = ("import socket,sys\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
                  "for i in range(20):\n"
                  "    msg=(f'datagram {i} '+'x'*(i*70)).encode()\n"
                  "    s.sendto(msg,('10.0.0.2',7)); data,addr=s.recvfrom(4096)\n"
                  "    assert data==msg and addr==('10.0.0.2',7), (data[:40],addr)\n"
                  "big=bytes(range(256))*39+b'0123456789abcdef'\n"
                  "assert len(big)==10000\n"
                  "s.sendto(big,('10.0.0.2',7)); data,addr=s.recvfrom(65536)\n"
                  "assert data==big and addr==('10.0.0.2',7), (len(data),addr)\n"
                  "s.sendto(b'nobody',('10.0.0.2',9999))\n"
                  "s.sendto(b'quit',('10.0.0.2',7)); print('echoed 21')\n")
        udp = network.run([sys.executable, "-c", client], check=False)
        expect(udp.returncode == 0 and "echoed 21" in udp.stdout, f"UDP echo failed:\n{udp.stdout}{udp.stderr}", out)
        rest, _ = qemu.communicate(timeout=60)
        out += rest
        expect(qemu.returncode == 0, f"exit status {qemu.returncode}", out)
        expect("udp_echo: echoed 21 datagrams" in out, "the guest's count is wrong", out)
        expect(re.search(r", 0 malformed, ([89]|\d{2,}) ping replies", out),
               "ping replies not counted, or malformed frames seen", out)
        expect(re.search(r"udp_echo: reassembled ([4-9]|\d{2,}) datagrams, [1-9]\d* sent in fragments", out),
               "the large datagrams were not reassembled and fragmented", out)
    finally:
        if qemu is not None and qemu.poll() is None:
            qemu.kill()
        network.__exit__(None, None, None)


@case
def net_tap(env):
    net_tap_case(env)


@case
def net_tap_linux_ip(env):
    # The address in Linux's ip= form, as Firecracker's examples pass it.
    net_tap_case(env, append="ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off")


@case
def net_tap_tcg_legacy(env):
    # The same over TCG with a legacy (virtio 0.9.5) device.
    net_tap_case(env, "--accel", "tcg", "--legacy-virtio")


def tcp_echo_tap_case(env, *run_options, append="", size=1 << 20, short=1000):
    # Linux in a private namespace drives the TCP echo server over a TAP device: 64
    # connections each echoing `size` bytes at once, then `short` short connections.
    import time
    from netns import TestNetwork, Unavailable
    try:
        network = TestNetwork(host_ip="10.0.0.1/24")
        network.__enter__()
    except Unavailable as e:
        raise Failure(f"cannot make the test network: {e}")
    qemu = None
    try:
        connections = 64 + short
        qemu = network.popen([os.path.join(env.source, "tools", "run"), env.image("echo"), "--net",
                              f"tap={network.tap}", "--append",
                              f"ip=10.0.0.2/24 gw=10.0.0.1 exit_after={connections} stats_every=20 {append}".strip(),
                              "--timeout", "280", *run_options],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_until(qemu, "echo: listening")
        out = "".join(lines)
        expect(any("echo: listening on 10.0.0.2:7 (TCP)" in l for l in lines), "the guest never listened", out)
        client = os.path.join(env.source, "test", "boot", "tcp_echo_client.py")
        result = network.run([sys.executable, client, "10.0.0.2", "7", "--parallel", "64", "--size", str(size),
                              "--short", str(short), "--timeout", "200"], timeout=250, check=False)
        print(result.stdout, end="")
        if result.returncode != 0:
            sockets = network.run(["ss", "-tanio"], check=False).stdout
            stuck = "\n".join(l for l in sockets.splitlines() if ":7 " in l and "TIME-WAIT" not in l)
            qemu.kill()
            out += qemu.communicate(timeout=30)[0]
            expect(False, f"the client failed:\n{result.stdout}{result.stderr}\nsockets:\n{stuck[:4000]}", out)
        rest, _ = qemu.communicate(timeout=60)
        out += rest
        expect(qemu.returncode == 0, f"exit status {qemu.returncode}", out)
        echoed = 64 * size + sum(len(f"short connection {i}") + 1 for i in range(short))
        expect(f"echo: {connections} connections, {echoed} bytes echoed, 0 ended by an error" in out,
               "the guest's counts are wrong", out)
        expect(", 0 malformed," in out, "malformed segments seen", out)
    finally:
        if qemu is not None and qemu.poll() is None:
            qemu.kill()
        network.__exit__(None, None, None)


@case
def tcp_echo_tap(env):
    # TCG; the KVM case below carries the same load.
    tcp_echo_tap_case(env, "--accel", "tcg")


@case
def tcp_echo_tap_kvm(env):
    # Where ring 0 is emulated the kernel runs in ring 3 (kernel/gates/privilege.hpp), and this
    # is as fast as under TCG; in ring 0 there it moved 0.5 MiB/s.
    tcp_echo_tap_case(env)


@case
def tcp_echo_tap_tcg_ring3(env):
    # The same load with the kernel forced into ring 3 under TCG: every privileged access
    # through the gates and device stores deferred (kernel/gates/), on any host.
    tcp_echo_tap_case(env, "--accel", "tcg", append="cpu.ring=3")


@case
def tcp_echo_tap_tcg_legacy_newreno(env):
    # Over TCG with a legacy device, NewReno and no SACK.
    tcp_echo_tap_case(env, "--accel", "tcg", "--legacy-virtio", append="tcp_cc=newreno tcp_sack=off")


def echo_over_user_net(env, image, *options, append="exit_after=1"):
    """The echo image on QEMU user networking with a host port forwarded to port 7: a
    200000-byte stream echoed back whole. Returns the guest's output."""
    import socket
    port = 17000 + os.getpid() % 1000
    qemu = subprocess.Popen([os.path.join(env.source, "tools", "run"), image, "--net", "user",
                             "--forward", f"{port}:7", "--append", append, "--timeout", "100", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = read_until(qemu, "echo: listening")
        out = "".join(lines)
        expect(any("echo: listening on 10.0.2.15:7" in l for l in lines), "the guest never listened", out)
        data = os.urandom(200000)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        expect(bytes(got) == data, f"echo mismatch: {len(got)} of {len(data)} bytes", out)
        rest, _ = qemu.communicate(timeout=60)
        out += rest
        expect(qemu.returncode == 0, f"exit status {qemu.returncode}", out)
        expect("echo: 1 connections, 200000 bytes echoed, 0 ended by an error" in out, "wrong counts", out)
        return out
    finally:
        if qemu.poll() is None:
            qemu.kill()


@case
def tcp_echo_user(env):
    # The README's demo path.
    echo_over_user_net(env, env.image("echo"))


# PVH (kernel/pvh.hpp): QEMU enters an ELF through its PVH note only when the file has no
# multiboot header, so these boot a copy without one (tools/pvh-only).
def pvh_copy(env, name, directory):
    copy = os.path.join(directory, f"{name}-pvh.elf")
    status, out = run([os.path.join(env.source, "tools", "pvh-only"), env.image(name), copy])
    expect(status == 0, f"tools/pvh-only failed: {out}")
    return copy


def hello_pvh_case(env, *options):
    with tempfile.TemporaryDirectory() as tmp:
        # The first setting comes first: PVH's command line has no image path before it.
        status, out = run([os.path.join(env.source, "tools", "run"), pvh_copy(env, "hello", tmp), "--timeout", "60",
                           "--append", "boot.phases greeting=hi", *options], timeout=90)
    expect(status == 0, f"exit status {status} after a PVH boot", out)
    expect("kernel: started through PVH" in out, "not entered through PVH", out)
    expect("Hello from the unikernel!" in out, "no greeting", out)
    expect("setting boot.phases = true" in out and "setting greeting = hi" in out,
           "the PVH command line was not read whole", out)
    expect(re.search(r"kernel: 12\d MiB usable", out), "the PVH memory map was not read", out)
    expect("kernel: boot phase" in out, "boot.phases, the first setting, was lost", out)


@case
def hello_pvh(env):
    hello_pvh_case(env)


@case
def hello_pvh_tcg(env):
    hello_pvh_case(env, "--accel", "tcg")


def echo_pvh_case(env, *options):
    with tempfile.TemporaryDirectory() as tmp:
        out = echo_over_user_net(env, pvh_copy(env, "echo", tmp), *options, append="exit_after=1 boot.phases")
    expect("kernel: started through PVH" in out, "not entered through PVH", out)


@case
def tcp_echo_user_pvh(env):
    echo_pvh_case(env)


@case
def tcp_echo_user_pvh_tcg(env):
    echo_pvh_case(env, "--accel", "tcg")


# The virtio-balloon driver against QEMU's own balloon, driven through QMP
# (examples/balloon_check): shrink the guest, grow it back, read the guest's statistics,
# then shrink it hard and let the guest allocate more than it has, so the balloon must
# deflate on OOM.
class Qmp:
    def __init__(self, path, timeout=30):
        import json
        import socket
        import time
        self.json = json
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Failure(f"no QMP socket at {path}")
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rw")
        greeting = self.read()
        expect("QMP" in greeting, f"not a QMP greeting: {greeting}")
        self.command("qmp_capabilities")

    def read(self):
        line = self.file.readline()
        if not line:
            raise Failure("QMP connection closed")
        return self.json.loads(line)

    def command(self, name, **arguments):
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.file.write(self.json.dumps(message) + "\n")
        self.file.flush()
        while True:
            reply = self.read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise Failure(f"QMP {name}: {reply['error']}")
            # an asynchronous event (BALLOON_CHANGE, ...): skip

    def close(self):
        self.sock.close()


class GuestOutput:
    """Collects a running guest's output lines in a thread; waits for patterns."""

    def __init__(self, process):
        import threading
        self.process = process
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def wait_for(self, pattern, timeout, start=0):
        """The first match of pattern in a line at index >= start; returns (match, index)."""
        import time
        deadline = time.monotonic() + timeout
        with self.cond:
            index = start
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    if line is None:
                        raise Failure(f"the guest stopped before /{pattern}/", self.text())
                    m = re.search(pattern, line)
                    if m:
                        return m, index
                    index += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"no /{pattern}/ within {timeout} s", "\n".join(l for l in self.lines if l))
                self.cond.wait(left)


def balloon_qmp_case(env, *options):
    import time
    mib = 1 << 20
    ram = 128 * mib
    with tempfile.TemporaryDirectory() as tmp:
        qmp_path = os.path.join(tmp, "qmp.sock")
        qemu = subprocess.Popen(
            [os.path.join(env.source, "tools", "run"), env.image("balloon_check"), "--memory", "128M",
             "--append", "oom_after_mib=64 balloon_report_s=1 timeout_s=200", "--timeout", "230", *options, "--",
             "-device", "virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on",
             "-qmp", f"unix:{qmp_path},server=on,wait=off"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace")
        output = GuestOutput(qemu)
        qmp = None
        try:
            _, at = output.wait_for(r"balloon_check: ready", 60)
            expect(re.search(r"virtio-balloon [0-9a-f:.]+: (modern|legacy), .*statistics, deflate-on-oom, "
                             r"free page reporting", output.text()),
                   "the balloon driver did not take statistics, deflate-on-oom and reporting", output.text())
            qmp = Qmp(qmp_path)

            def balloon_to(size, settle_pattern, timeout=120):
                qmp.command("balloon", value=size)
                deadline = time.monotonic() + timeout
                while True:
                    actual = qmp.command("query-balloon")["actual"]
                    if actual == size:
                        break
                    if time.monotonic() > deadline:
                        raise Failure(f"query-balloon shows {actual}, not {size}", output.text())
                    time.sleep(0.2)
                return actual

            # Shrink to 96 MiB: 8192 pages in the balloon; the guest keeps working.
            balloon_to(96 * mib, None)
            _, at = output.wait_for(r"balloon_check: settled: target 8192 pages, balloon 8192 pages", 60, at)
            _, at = output.wait_for(r"balloon_check: exercise \d+ MiB: 0 wrong lines, 0 failed allocations", 60, at)

            # The guest's statistics, through QOM.
            qmp.command("qom-set", path="/machine/peripheral/balloon0", property="guest-stats-polling-interval",
                        value=1)
            deadline = time.monotonic() + 30
            while True:
                stats = qmp.command("qom-get", path="/machine/peripheral/balloon0", property="guest-stats")
                figures = stats.get("stats", {})
                # The first figures may be from before the balloon moved (the guest sends a
                # buffer at start): wait for ones the polling brought.
                if stats.get("last-update", 0) > 0 and 0 < figures.get("stat-total-memory", -1) <= 96 * mib:
                    break
                expect(time.monotonic() < deadline, f"no guest statistics: {stats}", output.text())
                time.sleep(0.5)
            total = figures["stat-total-memory"]
            free = figures["stat-free-memory"]
            available = figures["stat-available-memory"]
            print(f"guest-stats: total {total >> 20} MiB, free {free >> 20} MiB, available {available >> 20} MiB")
            expect(total <= 96 * mib and total > 64 * mib, f"stat-total-memory {total} does not show the balloon",
                   output.text())
            expect(0 < free <= available <= total, f"free {free} / available {available} / total {total}",
                   output.text())
            # QEMU shows a figure the guest never sent as -1 (as an unsigned 64-bit number).
            expect(figures.get("stat-swap-in", -1) in (-1, (1 << 64) - 1),
                   f"swap figures reported without swap: {figures}", output.text())

            # Grow back to all of it.
            balloon_to(ram, None)
            _, at = output.wait_for(r"balloon_check: settled: target 0 pages, balloon 0 pages", 60, at)
            _, at = output.wait_for(r"balloon_check: exercise \d+ MiB: 0 wrong lines", 60, at)

            # Shrink hard to 40 MiB (88 MiB in the balloon, or as far as the floor lets it);
            # the guest then allocates more than it has left.
            qmp.command("balloon", value=40 * mib)
            m, at = output.wait_for(r"balloon_check: deflate-on-oom: allocated (\d+) of (\d+) MiB .* the balloon gave "
                                    r"back (\d+) pages; 0 wrong lines, 0 failed allocations", 150, at)
            print(m.group(0))
            expect(int(m.group(3)) > 0, "the balloon gave nothing back", output.text())
            m, at = output.wait_for(r"balloon_check: summary: balloon (\d+) pages \(target (\d+)\)", 30, at)
            print(m.group(0))
            expect(int(m.group(1)) < int(m.group(2)), "the balloon did not shrink below its target", output.text())
            actual = qmp.command("query-balloon")["actual"]
            expect(actual > 40 * mib, f"query-balloon shows {actual >> 20} MiB: the host did not hear of the deflation",
                   output.text())
            expect(re.search(r"free page reports [1-9]\d* \(\d+ MiB\)", output.text()), "no free page report",
                   output.text())
            output.wait_for(r"balloon_check: PASS", 30, at)
            status = qemu.wait(timeout=60)
            expect(status == 0, f"exit status {status}", output.text())
        finally:
            if qmp is not None:
                qmp.close()
            if qemu.poll() is None:
                qemu.kill()
                qemu.wait()


@case
def balloon_qmp(env):
    balloon_qmp_case(env)


@case
def balloon_qmp_tcg(env):
    balloon_qmp_case(env, "--accel", "tcg")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if not shutil.which("qemu-system-x86_64"):
        print("qemu-system-x86_64 is not installed", file=sys.stderr)
        return 1
    try:
        CASES[args.case](Env(args.build, args.source))
    except Failure as e:
        print(f"FAIL {args.case}: {e}", file=sys.stderr)
        return 1
    print(f"PASS {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
