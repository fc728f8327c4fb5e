#include "kernel/exit.hpp"

#include "kernel/acpi.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/memory.hpp"
#include "kernel/power.hpp"

namespace kernel {
namespace {

constexpr std::uint16_t k_debug_exit_port = 0xF4;  // QEMU's isa-debug-exit, iobase=0xf4
// The 8042 keyboard controller's command port and its "pulse output line 0" command, which
// drives the CPU's reset line: how a Firecracker guest ends its VM (QEMU with -no-reboot
// exits on it too).
constexpr std::uint16_t k_i8042_command_port = 0x64;
constexpr std::uint8_t k_i8042_pulse_reset = 0xFE;
constexpr std::uint16_t k_sleep_enable = 1 << 13;  // ACPI 6.5 §4.8.3.2.1, PM1 control SLP_EN
constexpr unsigned k_sleep_type_shift = 10;

constinit AcpiPowerOff g_power_off{};

}  // namespace

void set_acpi_power_off(const AcpiPowerOff& power_off) { g_power_off = power_off; }

void exit(int code) {
    cpu::disable_interrupts();
    if (code < 0 || code > k_exit_max) code = k_exit_failure;
    println("kernel: exit status {}", code);
    cpu::out8(k_debug_exit_port, static_cast<std::uint8_t>(code + 1));
    if (g_power_off.pm1a_control != 0) {
        // Still here: no debug-exit device. ACPI soft-off (ACPI 6.5 §7.4.2, §4.8.3.2.1).
        auto s5 = acpi::find_s5(memory::physical_reader(), g_power_off.dsdt);
        if (!s5) {
            println("kernel: ACPI: {}; no ACPI power-off", acpi::to_string(s5.error()));
        } else {
            cpu::out16(g_power_off.pm1a_control,
                       static_cast<std::uint16_t>((s5->a << k_sleep_type_shift) | k_sleep_enable));
            if (g_power_off.pm1b_control != 0) {
                cpu::out16(g_power_off.pm1b_control,
                           static_cast<std::uint16_t>((s5->b << k_sleep_type_shift) | k_sleep_enable));
            }
            for (int i = 0; i < 1000000; ++i) cpu::pause();
        }
    }
    // Still here: neither device. A reset ends a microVM (the exit status is lost).
    println("kernel: no isa-debug-exit device and no ACPI soft-off; resetting through the i8042");
    cpu::out8(k_i8042_command_port, k_i8042_pulse_reset);
    for (int i = 0; i < 1000000; ++i) cpu::pause();
    println("kernel: could not power off or reset; halting");
    cpu::halt_forever();
}

}  // namespace kernel
