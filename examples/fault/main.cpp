// Faults on purpose, to show (and test) the panic report. The command line picks how:
//   fault=page (default)  write through a bad pointer
//   fault=null            read through a null pointer
//   fault=overflow        unbounded recursion into the stack's guard page
//   fault=ud              an invalid instruction
//   fault=panic           kernel::panic with a message

#include <cstdint>

#include "kernel/kernel.hpp"

namespace {

[[gnu::noinline]] void write_through_bad_pointer(std::uintptr_t address) {
    *reinterpret_cast<volatile std::uint32_t*>(address) = 0xBAD;
}

[[gnu::noinline]] int read_null() {
    return *static_cast<volatile int*>(nullptr);  // NOLINT(clang-analyzer-core.NullDereference): on purpose
}

// Recurses until the stack runs out; the volatile frame keeps the compiler from turning
// this into a loop.
[[gnu::noinline]] int recurse(int depth) {
    volatile char frame[512];
    frame[0] = static_cast<char>(depth);
    if (depth < 0) return 0;  // never true; keeps -Winfinite-recursion quiet
    return recurse(depth + 1) + frame[0];
}

}  // namespace

int main() {
    auto kind = kernel::command_line().get("fault").value_or("page");
    kernel::println("fault: causing a '{}' fault", kind);
    if (kind == "null") return read_null();
    if (kind == "overflow") return recurse(0);
    if (kind == "ud") __builtin_trap();
    if (kind == "panic") kernel::panic("deliberate panic ({})", 42);
    write_through_bad_pointer(0xdead0000);
    return 0;
}
