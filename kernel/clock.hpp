#pragma once
// The monotonic clock: nanoseconds since the kernel's first instruction, from the TSC.

#include <cstdint>

namespace kernel::clock {

std::uint64_t now_ns();
// The TSC value at a given clock time, for timers that take TSC deadlines.
std::uint64_t tsc_at(std::uint64_t ns);

}  // namespace kernel::clock
