#pragma once
// Arithmetic for the local APIC timer's one-shot mode, kept apart from the hardware so
// the host tests check its edges: rounding, clamping, deadlines already past. No 128-bit
// division: the kernel links no compiler runtime (__udivti3).

#include <cstdint>
#include <limits>

namespace apic::timer_math {

constexpr std::uint64_t k_ns_per_second = 1'000'000'000;
// Far above any APIC timer (they run at bus or crystal rates, or 1 GHz under KVM and
// QEMU), and low enough that the arithmetic below cannot overflow: 2^34 * 10^9 < 2^64.
constexpr std::uint64_t k_max_timer_hz = 1ull << 34;
constexpr std::uint64_t k_max_u64 = std::numeric_limits<std::uint64_t>::max();

// Ticks of a clock at hz (at most k_max_timer_hz) in ns nanoseconds, rounded up: a timer
// loaded with it does not expire before ns have passed. Saturates.
constexpr std::uint64_t ns_to_ticks_ceil(std::uint64_t ns, std::uint64_t hz) {
    std::uint64_t seconds = ns / k_ns_per_second;
    std::uint64_t rest = ns % k_ns_per_second;
    std::uint64_t whole = 0;
    if (__builtin_mul_overflow(seconds, hz, &whole)) return k_max_u64;
    std::uint64_t part = (rest * hz + (k_ns_per_second - 1)) / k_ns_per_second;  // rest * hz < 2^64
    std::uint64_t ticks = 0;
    return __builtin_add_overflow(whole, part, &ticks) ? k_max_u64 : ticks;
}

// The initial count that makes a one-shot timer at hz expire at deadline_ns. At least 1:
// a count of 0 stops the timer (SDM vol. 3A §11.5.4), and a deadline already past must
// fire at once. At most 2^32 - 1: a deadline further away fires early and the interrupt
// handler re-arms for the rest.
constexpr std::uint32_t one_shot_count(std::uint64_t now_ns, std::uint64_t deadline_ns, std::uint64_t hz) {
    if (deadline_ns <= now_ns) return 1;
    std::uint64_t ticks = ns_to_ticks_ceil(deadline_ns - now_ns, hz);
    if (ticks == 0) return 1;
    constexpr std::uint64_t k_max_count = std::numeric_limits<std::uint32_t>::max();
    return static_cast<std::uint32_t>(ticks > k_max_count ? k_max_count : ticks);
}

// The frequency of a counter that advanced `counted` (< 2^32) while a clock at clock_hz
// advanced clock_elapsed ticks; 0 if it makes no sense (nothing elapsed, or a result past
// k_max_timer_hz).
constexpr std::uint64_t frequency_from(std::uint64_t counted, std::uint64_t clock_elapsed, std::uint64_t clock_hz) {
    // counted * clock_hz / clock_elapsed, as q and r of clock_hz / clock_elapsed, so that
    // no product passes 2^64 while both counts stay under 2^32.
    while (clock_elapsed >= (1ull << 32) || counted >= (1ull << 32)) {
        clock_elapsed >>= 1;
        counted >>= 1;
    }
    if (clock_elapsed == 0) return 0;
    std::uint64_t q = clock_hz / clock_elapsed;
    std::uint64_t r = clock_hz % clock_elapsed;
    std::uint64_t hz = 0;
    if (__builtin_mul_overflow(counted, q, &hz) || __builtin_add_overflow(hz, counted * r / clock_elapsed, &hz))
        return 0;
    return hz > k_max_timer_hz ? 0 : hz;
}

}  // namespace apic::timer_math
