#include "apic/apic_timer.hpp"

#include "apic/timer_math.hpp"
#include "kernel/clock.hpp"
#include "kernel/cpu.hpp"
#include "kernel/tsc.hpp"

namespace apic {
namespace {

// arm_at and disarm may be called with interrupts on; the handler changes the same state.
class InterruptsOff {
public:
    InterruptsOff() : m_were_enabled(kernel::cpu::interrupts_enabled()) { kernel::cpu::disable_interrupts(); }
    ~InterruptsOff() {
        if (m_were_enabled) kernel::cpu::enable_interrupts();
    }
    InterruptsOff(const InterruptsOff&) = delete;
    InterruptsOff& operator=(const InterruptsOff&) = delete;

private:
    bool m_were_enabled;
};

constexpr std::uint32_t k_cpuid_hypervisor = 1u << 31;  // CPUID.1:ECX
// An interrupt at most this much before its deadline waits out the rest in the handler;
// one further ahead (a clamped count, a large calibration error) re-arms the timer.
constexpr std::uint64_t k_spin_limit_ns = 20'000;

}  // namespace

void ApicTimer::start(LocalApic& local_apic, Mode mode, std::uint64_t one_shot_hz) {
    m_local_apic = &local_apic;
    m_mode = mode;
    m_one_shot_hz = one_shot_hz;
}

const char* ApicTimer::name() const {
    return m_mode == Mode::TscDeadline ? "local APIC TSC-deadline" : "local APIC one-shot";
}

void ApicTimer::arm_at(std::uint64_t deadline_ns) {
    InterruptsOff off;
    m_deadline_ns = deadline_ns;
    m_armed = true;
    program_deadline(deadline_ns);
}

void ApicTimer::disarm() {
    InterruptsOff off;
    m_armed = false;
    // SDM vol. 3A §11.5.4.1: a zero deadline disarms; §11.5.4: a zero initial count stops.
    if (m_mode == Mode::TscDeadline)
        kernel::cpu::wrmsr(msr::k_tsc_deadline, 0);
    else
        m_local_apic->timer_stop();
}

void ApicTimer::handle_interrupt() {
    if (!m_armed) {
        ++m_stats.stale;
        return;
    }
    // The device promises never to fire before the deadline, but a clamped one-shot count,
    // an error in the calibrated frequency, or the rounding between the clock's
    // nanoseconds and TSC ticks can bring the interrupt early.
    std::uint64_t now = kernel::clock::now_ns();
    if (now < m_deadline_ns && m_deadline_ns - now > k_spin_limit_ns) {
        ++m_stats.early;
        program_after(m_deadline_ns - now);
        return;
    }
    // A few microseconds short: waiting them out here costs less than a second interrupt,
    // and the CPU wakes once per arming.
    while (now < m_deadline_ns) {
        kernel::cpu::pause();
        now = kernel::clock::now_ns();
    }
    m_armed = false;
    ++m_stats.fired;
}

void ApicTimer::program_deadline(std::uint64_t deadline_ns) {
    if (m_mode == Mode::TscDeadline) {
        // §11.5.4.1: the interrupt comes when the TSC reaches the value, at once if it
        // already has. 0 would disarm instead.
        std::uint64_t tsc = kernel::clock::tsc_at(deadline_ns);
        kernel::cpu::wrmsr(msr::k_tsc_deadline, tsc == 0 ? 1 : tsc);
    } else {
        m_local_apic->timer_start(timer_math::one_shot_count(kernel::clock::now_ns(), deadline_ns, m_one_shot_hz));
    }
}

void ApicTimer::program_after(std::uint64_t remaining_ns) {
    if (m_mode == Mode::TscDeadline) {
        // Relative to the TSC now, plus a tick, so a rounding error cannot name the past again.
        kernel::cpu::wrmsr(msr::k_tsc_deadline, kernel::cpu::rdtsc() + kernel::tsc::ns_to_ticks(remaining_ns) + 1);
    } else {
        m_local_apic->timer_start(timer_math::one_shot_count(0, remaining_ns, m_one_shot_hz));
    }
}

namespace {

constexpr std::uint32_t k_full_count = 0xFFFF'FFFF;

// Each sample is bracketed by two TSC reads and dated at their midpoint: where every
// instruction is emulated, a read of the APIC takes microseconds.
std::uint64_t sample(LocalApic& local_apic, std::uint32_t& count) {
    std::uint64_t before = kernel::cpu::rdtsc();
    count = local_apic.timer_current();
    std::uint64_t after = kernel::cpu::rdtsc();
    return before + (after - before) / 2;
}

}  // namespace

std::optional<TimerFrequency> OneShotCalibration::begin(LocalApic& local_apic, std::uint8_t vector) {
    auto leaf1 = kernel::cpu::cpuid(1);
    // SDM vol. 3A §11.5.4: with CPUID 0x15 the APIC timer runs at the core crystal clock.
    // Not under a hypervisor: KVM reports the host's crystal but runs its emulated APIC
    // timer at its own rate (1 GHz).
    if ((leaf1.ecx & k_cpuid_hypervisor) == 0 && kernel::cpu::cpuid(0).eax >= 0x15) {
        if (std::uint32_t crystal = kernel::cpu::cpuid(0x15).ecx; crystal != 0)
            return TimerFrequency{crystal, "CPUID 0x15"};
    }
    m_local_apic = &local_apic;
    m_vector = vector;
    local_apic.timer_one_shot_mode(vector, true);
    local_apic.timer_start(k_full_count);
    m_start_tsc = sample(local_apic, m_start_count);
    return std::nullopt;
}

TimerFrequency OneShotCalibration::finish() {
    LocalApic& local_apic = *m_local_apic;
    std::uint64_t wait = kernel::tsc::ns_to_ticks(k_calibration_ns);
    std::uint32_t end_count = 0;
    std::uint64_t end = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        while (kernel::cpu::rdtsc() - m_start_tsc < wait) kernel::cpu::pause();
        end = sample(local_apic, end_count);
        if (end_count != 0 || attempt == 1) break;
        // Ran out while the boot went on (over 4 s at 1 GHz): count again, the short way.
        local_apic.timer_start(k_full_count);
        m_start_tsc = sample(local_apic, m_start_count);
    }
    local_apic.timer_stop();
    // A count that did not move, or ran out, gives no frequency.
    if (end_count == 0 || end_count >= m_start_count) return {};
    std::uint64_t hz =
        timer_math::frequency_from(m_start_count - end_count, end - m_start_tsc, kernel::tsc::frequency().hz);
    return {hz, "calibrated against the TSC"};
}

TimerFrequency calibrate_one_shot(LocalApic& local_apic, std::uint8_t vector) {
    OneShotCalibration calibration;
    if (auto known = calibration.begin(local_apic, vector)) return *known;
    return calibration.finish();
}

}  // namespace apic
