// Panic and exit on the hosted target. A panic prints its message and a backtrace, then
// calls abort(): under gdb the program stops right there, with the whole stack to look
// at; outside it, SIGABRT ends the process (and may leave a core dump).

#include <execinfo.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include "kernel/exit.hpp"
#include "kernel/panic.hpp"
#include "kernel/result.hpp"

namespace kernel {
namespace {

bool g_panicking = false;
constexpr int k_max_frames = 32;

}  // namespace

void panic_begin() {
    if (g_panicking) {
        console_write("\nPANIC while panicking; giving up\n");
        std::abort();
    }
    g_panicking = true;
    console_write("\n");
}

void panic_end(std::uint64_t /*frame_pointer*/) {
    // glibc's unwinder needs no frame pointers; the names come from the dynamic symbol
    // table (-rdynamic), and `addr2line -e PROGRAM ADDRESS` or gdb give file and line.
    std::array<void*, k_max_frames> frames{};
    int count = backtrace(frames.data(), k_max_frames);
    println("backtrace:");
    backtrace_symbols_fd(frames.data(), count, STDOUT_FILENO);
    std::abort();
}

void exit(int code) { std::exit(code); }

void detail::broken_result(const char* what) { panic("{}", what); }

}  // namespace kernel
