#pragma once
// Which ring the kernel's own code runs in: ring 0, or ring 3 (with IOPL 0: port I/O,
// like every privileged instruction, goes through a gate).
//
// Under most hypervisors ring 0 costs nothing extra. Under some, every ring-0 instruction
// is emulated (this project's CI hosts: kvm-pvm, about 2 us per instruction, while ring-3
// code runs natively; docs/kvm-on-this-host.md). There the kernel moves itself to ring 3
// right after it has loaded its GDT and IDT, and everything from then on (boot, drivers,
// TCP, the application) runs natively:
//
// - every page table entry allows ring 3 (kernel/page_table.cpp, boot/multiboot.asm);
// - the instructions that need ring 0 or I/O privilege (MSRs, control registers, hlt,
//   cli and sti, port I/O) go through gates that ring 3 enters with `ud1 r10, r10`
//   (gate.hpp, gates.asm), one exception and about five emulated
//   instructions each;
// - interrupts and exceptions still run in ring 0, on the TSS's ring-0 stack.
//
// It is a move for speed, not for isolation: kernel and application share one address
// space either way, and no page is kernel-only.
//
// `cpu.ring=0` or `cpu.ring=3` on the command line forces a ring; `cpu.ring=auto`, the
// default, chooses ring 3 when a short loop runs far slower in ring 0 than in ring 3.

#include <cstdint>
#include <optional>
#include <string_view>

namespace kernel::privilege {

// The TSC ticks that a short loop takes in the current ring, the best of three runs.
std::uint64_t measure_loop();

// Moves the caller to ring 3, on the same stack. Only from ring 0.
void enter_ring3();
// Moves the caller back to ring 0, on the same stack, through its gate.
void enter_ring0();

struct Decision {
    unsigned ring;
    const char* reason;  // a static string, for the boot log
};
// The auto choice from the same loop timed in each ring (measure_loop): ring 3 when ring 0
// is several times slower, by more than a few microseconds. Natively, and under QEMU's
// TCG, which translates both rings alike, the two take about as long.
inline constexpr std::uint64_t k_slower_factor = 4;
inline constexpr std::uint64_t k_min_difference_ticks = 10'000;
constexpr Decision choose(std::uint64_t ring0_ticks, std::uint64_t ring3_ticks) {
    if (ring0_ticks > k_slower_factor * ring3_ticks && ring0_ticks - ring3_ticks > k_min_difference_ticks)
        return {3, "ring-0 code is emulated here"};
    return {0, "ring-0 code runs natively"};
}

// The command line's `cpu.ring` (nullopt when absent) applied over the auto choice. A
// value other than 0, 3 or auto is a problem to report, and the auto choice stands.
struct Override {
    Decision decision;
    const char* problem = nullptr;
};
constexpr Override apply_setting(std::optional<std::string_view> setting, Decision automatic) {
    if (!setting || *setting == "auto") return {automatic};
    if (*setting == "0") return {{0, "cpu.ring=0"}};
    if (*setting == "3") return {{3, "cpu.ring=3"}};
    return {automatic, "cpu.ring: expected 0, 3 or auto; choosing automatically"};
}

}  // namespace kernel::privilege
