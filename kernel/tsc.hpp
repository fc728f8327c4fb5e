#pragma once
// The TSC's frequency, found once at boot: from kvmclock when KVM offers it, from the
// hypervisor timing leaf (CPUID 0x40000010), CPUID 0x15 or 0x16, or by counting it
// against the ACPI PM timer (or, without ACPI, the PIT) for a few milliseconds.

#include <cstdint>
#include <optional>

namespace kernel::tsc {

struct Frequency {
    std::uint64_t hz = 0;
    const char* source = "none";
};

struct PmTimer {
    std::uint16_t port;
    bool is_32bit;
};

Frequency calibrate(std::optional<PmTimer> pm_timer);
const Frequency& frequency();
// Converts TSC ticks to nanoseconds and back, without overflow for any delta under
// about 2^64 / 2^32 ticks.
std::uint64_t ticks_to_ns(std::uint64_t ticks);
std::uint64_t ns_to_ticks(std::uint64_t ns);

}  // namespace kernel::tsc
