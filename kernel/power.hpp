#pragma once
// How kernel::exit switches the machine off when QEMU's debug-exit device is absent.

#include <cstdint>

namespace kernel {

struct AcpiPowerOff {
    std::uint16_t pm1a_control = 0;  // 0: unknown, no ACPI soft-off
    std::uint16_t pm1b_control = 0;
    // The DSDT, searched for \_S5 (the sleep type values) only when exit needs them: the
    // search reads the whole table, which was a third of the boot where every
    // instruction is emulated (docs/kvm-on-this-host.md).
    std::uint64_t dsdt = 0;
};

void set_acpi_power_off(const AcpiPowerOff& power_off);

}  // namespace kernel
