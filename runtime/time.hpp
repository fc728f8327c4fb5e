#pragma once
// Time for the event loop: a monotonic clock in nanoseconds. The loop never reads a
// hardware clock itself; its Platform does (the TSC in the kernel, CLOCK_MONOTONIC when
// hosted, a virtual clock in tests and simulations).

#include <chrono>
#include <cstdint>

namespace runtime {

using Duration = std::chrono::nanoseconds;

struct MonotonicClock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = Duration;
    using time_point = std::chrono::time_point<MonotonicClock, Duration>;
    static constexpr bool is_steady = true;
};

using Instant = MonotonicClock::time_point;

constexpr Instant instant_from_ns(std::int64_t ns) { return Instant(Duration(ns)); }
constexpr std::int64_t to_ns(Instant t) { return t.time_since_epoch().count(); }

}  // namespace runtime
