#pragma once
// Where the boot's time goes: kernel_entry and run_init_calls mark the end of each phase
// with the TSC, and with `boot.phases` (or `verbose`) on the command line the kernel
// prints the table before main:
//
//     kernel: boot phase     entry asm        31 us
//     kernel: boot phase     memory          812 us
//     ...
//
// Marks are only TSC reads into a fixed table, so they cost nothing worth measuring; the
// table is converted to microseconds once the TSC's frequency is known.

#include <cstdint>

namespace kernel::boot_phases {

inline constexpr std::size_t k_max_phases = 32;

// Records that the phase `name` (a string literal or other static string) ends now.
// Marks past k_max_phases are counted and dropped.
void mark(const char* name);
// The TSC at the latest mark (at the first instruction before any): the end of the boot.
std::uint64_t last_mark_tsc();
// Prints one line per phase (its duration since the previous mark, the first since the
// boot's first instruction) and the total. Needs the TSC's frequency.
void print();

}  // namespace kernel::boot_phases
