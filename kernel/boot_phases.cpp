#include "kernel/boot_phases.hpp"

#include <array>

#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/tsc.hpp"

extern "C" std::uint64_t boot_tsc_start;

namespace kernel::boot_phases {
namespace {

struct Mark {
    const char* name;
    std::uint64_t tsc;
    std::uint64_t gates;  // gates::g_calls
};

constinit std::array<Mark, k_max_phases> g_marks{};
constinit std::size_t g_count = 0;
constinit std::size_t g_dropped = 0;
constinit std::uint64_t g_last_tsc = 0;

}  // namespace

void mark(const char* name) {
    std::uint64_t now = cpu::rdtsc();
    g_last_tsc = now;
    if (g_count == g_marks.size()) {
        ++g_dropped;
        return;
    }
    g_marks[g_count++] = {name, now, gates::g_calls};
}

std::uint64_t last_mark_tsc() { return g_last_tsc != 0 ? g_last_tsc : boot_tsc_start; }

void print() {
    std::uint64_t previous = boot_tsc_start;
    std::uint64_t previous_gates = 0;
    for (std::size_t i = 0; i < g_count; ++i) {
        println("kernel: boot phase {:>14} {:>7} us {:>4} gates", g_marks[i].name,
                tsc::ticks_to_ns(g_marks[i].tsc - previous) / 1000, g_marks[i].gates - previous_gates);
        previous = g_marks[i].tsc;
        previous_gates = g_marks[i].gates;
    }
    if (g_dropped != 0) println("kernel: boot phases: {} more not recorded", g_dropped);
}

}  // namespace kernel::boot_phases
