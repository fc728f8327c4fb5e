// What compiled C++ expects from its runtime when there is no hosted library: global
// constructors, the stack-protector canary, and the hooks that libstdc++'s header-only
// parts call where a hosted build would throw. Each of those is a broken invariant here,
// so each panics with a message that says what happened.

#include <bits/functexcept.h>  // declares the std::__throw_* hooks defined below
#include <cstddef>
#include <cstdint>

#include "kernel/cpu.hpp"
#include "kernel/panic.hpp"
#include "kernel/symbols.hpp"

extern "C" {

// Read by every function compiled with -fstack-protector (-mstack-protector-guard=global).
// The initial value only guards the few frames before init_stack_canary runs.
std::uintptr_t __stack_chk_guard = 0x595e9fbd94fda766;  // NOLINT(bugprone-reserved-identifier)

// Called from boot/multiboot.asm before any C++ frame exists, so changing the canary
// cannot invalidate a live frame.
[[clang::no_stack_protector]] void init_stack_canary() {
    std::uint64_t value = 0;
    bool have_rdrand = (kernel::cpu::cpuid(1).ecx & (1u << 30)) != 0;
    bool ok = false;
    for (int attempt = 0; have_rdrand && !ok && attempt < 10; ++attempt) ok = kernel::cpu::rdrand(value);
    if (!ok) {
        // No hardware randomness: mix the TSC (which differs run to run) into the default.
        std::uint64_t t = kernel::cpu::rdtsc();
        value = __stack_chk_guard ^ (t * 0x9E3779B97F4A7C15ull) ^ (t >> 29);
    }
    // A zero low byte stops string functions from reading or copying past the canary.
    __stack_chk_guard = value & ~std::uintptr_t{0xFF};
}

[[noreturn]] void __stack_chk_fail() {  // NOLINT(readability-identifier-naming)
    kernel::panic("stack smashing detected in {}",
                  kernel::SymbolizedAddress{reinterpret_cast<std::uint64_t>(__builtin_return_address(0))});
}

[[noreturn]] void __cxa_pure_virtual() { kernel::panic("pure virtual function called"); }  // NOLINT

// Statics live as long as the unikernel; nothing runs at exit.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }  // NOLINT
void* __dso_handle = nullptr;                                  // NOLINT

[[noreturn]] void abort() { kernel::panic("abort() called"); }

// NOLINTNEXTLINE(readability-identifier-naming)
[[noreturn]] void __assert_fail(const char* expression, const char* file, unsigned line, const char* function) {
    kernel::panic("assertion '{}' failed in {} ({}:{})", expression, function, file, line);
}

}  // extern "C"

// libstdc++'s throw hooks (bits/functexcept.h).
namespace std {
void __throw_bad_alloc() { kernel::panic("std::bad_alloc"); }
void __throw_bad_array_new_length() { kernel::panic("std::bad_array_new_length"); }
void __throw_length_error(const char* what) { kernel::panic("std::length_error: {}", what); }
void __throw_out_of_range(const char* what) { kernel::panic("std::out_of_range: {}", what); }
void __throw_out_of_range_fmt(const char* what, ...) { kernel::panic("std::out_of_range: {}", what); }
void __throw_logic_error(const char* what) { kernel::panic("std::logic_error: {}", what); }
void __throw_invalid_argument(const char* what) { kernel::panic("std::invalid_argument: {}", what); }
void __throw_runtime_error(const char* what) { kernel::panic("std::runtime_error: {}", what); }
void __throw_overflow_error(const char* what) { kernel::panic("std::overflow_error: {}", what); }
void __throw_bad_function_call() { kernel::panic("std::bad_function_call"); }
}  // namespace std

namespace kernel {

using Constructor = void (*)();
extern "C" Constructor __init_array_start[];  // NOLINT
extern "C" Constructor __init_array_end[];    // NOLINT

void run_global_constructors() {
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c) (*c)();
}

}  // namespace kernel
