#include "kernel/clock.hpp"

#include "kernel/cpu.hpp"
#include "kernel/timer.hpp"
#include "kernel/tsc.hpp"

extern "C" std::uint64_t boot_tsc_start;

namespace kernel {

namespace clock {
std::uint64_t now_ns() { return tsc::ticks_to_ns(cpu::rdtsc() - boot_tsc_start); }
std::uint64_t tsc_at(std::uint64_t ns) { return boot_tsc_start + tsc::ns_to_ticks(ns); }
}  // namespace clock

namespace timer {
namespace {
Device* g_device = nullptr;
}
void install(Device& device) { g_device = &device; }
Device* device() { return g_device; }
}  // namespace timer

}  // namespace kernel
