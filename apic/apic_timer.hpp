#pragma once
// The local APIC timer as the kernel's one-shot timer device (kernel/timer.hpp): in
// TSC-deadline mode when the CPU has it, else in one-shot mode with a count worked out
// from the calibrated timer frequency. Kernel only. No periodic mode, ever.

#include <cstdint>
#include <optional>

#include "apic/local_apic.hpp"
#include "kernel/timer.hpp"

namespace apic {

struct TimerStats {
    std::uint64_t fired = 0;  // interrupts at or after the armed deadline
    std::uint64_t early = 0;  // interrupts well before it (a clamped count, calibration): re-armed
    std::uint64_t stale = 0;  // interrupts with nothing armed (one already pending when disarmed)
};

class ApicTimer final : public kernel::timer::Device {
public:
    enum class Mode : std::uint8_t { TscDeadline, OneShot };

    ApicTimer() = default;
    // The LVT timer entry must already be set for `mode`; one_shot_hz is the one-shot
    // timer's frequency (unused in TSC-deadline mode).
    void start(LocalApic& local_apic, Mode mode, std::uint64_t one_shot_hz);

    void arm_at(std::uint64_t deadline_ns) override;
    void disarm() override;
    [[nodiscard]] const char* name() const override;

    // From the timer vector's interrupt handler, with interrupts disabled.
    void handle_interrupt();
    [[nodiscard]] TimerStats stats() const { return m_stats; }

private:
    void program_deadline(std::uint64_t deadline_ns);
    void program_after(std::uint64_t remaining_ns);

    LocalApic* m_local_apic = nullptr;
    Mode m_mode = Mode::TscDeadline;
    std::uint64_t m_one_shot_hz = 0;
    std::uint64_t m_deadline_ns = 0;
    bool m_armed = false;
    TimerStats m_stats;
};

// The one-shot timer's frequency in Hz, or 0 if it does not count. Taken from CPUID 0x15's
// crystal clock on bare metal, else counted against the TSC for k_calibration_ns. Leaves
// the timer stopped and its LVT entry masked.
struct TimerFrequency {
    std::uint64_t hz = 0;
    const char* source = "none";
};
constexpr std::uint64_t k_calibration_ns = 500'000;  // 0.5 ms: a 1 GHz timer counts 500 000 in it
TimerFrequency calibrate_one_shot(LocalApic& local_apic, std::uint8_t vector);

// The same calibration in two halves, so that the boot's other work (PCI bring-up) runs
// while the timer counts instead of a busy wait: begin starts the count, finish waits out
// what is left of k_calibration_ns (usually nothing) and reads it. A count that ran out
// in between (over 4 s at 1 GHz) is measured again the short way.
class OneShotCalibration {
public:
    // Returns the answer at once when there is nothing to count (CPUID 0x15).
    std::optional<TimerFrequency> begin(LocalApic& local_apic, std::uint8_t vector);
    TimerFrequency finish();

private:
    LocalApic* m_local_apic = nullptr;
    std::uint8_t m_vector = 0;
    std::uint32_t m_start_count = 0;
    std::uint64_t m_start_tsc = 0;
};

}  // namespace apic
