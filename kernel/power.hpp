#pragma once
// How kernel::exit switches the machine off when QEMU's debug-exit device is absent.

#include <cstdint>

namespace kernel {

struct AcpiPowerOff {
    std::uint16_t pm1a_control = 0;  // 0: unknown, no ACPI soft-off
    std::uint16_t pm1b_control = 0;
    std::uint16_t sleep_type_a = 0;
    std::uint16_t sleep_type_b = 0;
};

void set_acpi_power_off(const AcpiPowerOff& power_off);

}  // namespace kernel
