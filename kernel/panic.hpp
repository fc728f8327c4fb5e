#pragma once
// Panic: for broken invariants only. Prints the message and a symbolized backtrace, then
// ends the guest with k_exit_panic.

#include <cstdint>

#include "kernel/console.hpp"
#include "kernel/interrupts.hpp"

namespace kernel {

// Starts a panic report (disables interrupts; a panic inside a panic exits at once).
void panic_begin();
// Prints the backtrace from the given frame and exits.
[[noreturn]] void panic_end(std::uint64_t frame_pointer);

template <typename... Args>
[[noreturn]] [[gnu::noinline]] void panic(fmt::FormatString<std::type_identity_t<Args>...> format,
                                          const Args&... args) {
    panic_begin();
    print("PANIC: ");
    println<Args...>(format, args...);
    panic_end(reinterpret_cast<std::uint64_t>(__builtin_frame_address(0)));
}

[[noreturn]] void report_exception(const InterruptFrame& frame);

// Prints "#N address symbol" lines, starting with rip (if non-zero) and then following the
// frame-pointer chain while it stays on a known kernel stack.
void print_backtrace(std::uint64_t rip, std::uint64_t rbp);

}  // namespace kernel

// Checks an invariant in every build; the message says which invariant broke.
#define KERNEL_ASSERT(condition)                                                                           \
    do {                                                                                                   \
        if (!(condition)) ::kernel::panic("assertion failed: {} ({}:{})", #condition, __FILE__, __LINE__); \
    } while (0)
