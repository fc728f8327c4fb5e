#pragma once
// The TSC's frequency, found once at boot: from kvmclock when KVM offers it, from the
// hypervisor timing leaf (CPUID 0x40000010), CPUID 0x15 or 0x16, or by counting it
// against the ACPI PM timer (or, without ACPI, the PIT) for a few milliseconds, most of
// them overlapped with the interrupt controllers' bring-up.

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

// Finds the frequency at once when the hypervisor or the CPU states it; otherwise starts
// counting the PM timer (when there is one) against the TSC.
void begin_calibration(std::optional<PmTimer> pm_timer);
// Ends the count (waiting out what is left of its 1 ms, or counting the PIT for 10 ms when
// there was no PM timer) and fixes the frequency. Runs as the KERNEL_INIT stage 15 call
// "tsc calibration", before the timers (stage 20) need the frequency; later calls return
// the frequency found. Until then the conversions below return 0.
const Frequency& finish_calibration();
const Frequency& frequency();
// Converts TSC ticks to nanoseconds and back, without overflow for any delta under
// about 2^64 / 2^32 ticks.
std::uint64_t ticks_to_ns(std::uint64_t ticks);
std::uint64_t ns_to_ticks(std::uint64_t ns);

}  // namespace kernel::tsc
