#include "kernel/gates/privilege.hpp"

#include <algorithm>

#include "kernel/cpu.hpp"
#include "kernel/gates/gate.hpp"
#include "kernel/gdt.hpp"

static_assert(static_cast<unsigned>(kernel::gates::Gate::Count) == 29, "gates.asm's GATE_COUNT and gate table");

namespace kernel::privilege {

std::uint64_t measure_loop() {
    std::uint64_t best = ~std::uint64_t{0};
    for (int round = 0; round < 3; ++round) {
        std::uint64_t start = cpu::rdtsc();
        // 16 steps: about 28,000 ticks where ring 0 is emulated, well past
        // k_min_difference_ticks; 64 took 0.1 ms more of boot there for the same answer.
        std::uint32_t steps = 16;
        asm volatile("1: dec %0\n\tjnz 1b" : "+r"(steps) : : "cc");
        best = std::min(best, cpu::rdtsc() - start);
    }
    return best;
}

void enter_ring3() {
    // An iretq to the next instruction with ring-3 selectors (Intel SDM vol. 3A §6.14.3).
    // Interrupts stay as they were. IOPL stays 0: some hypervisors ignore it in ring 3,
    // so port I/O goes through the gates everywhere.
    asm volatile(
        "movq %%rsp, %%rax\n\t"
        "pushq %[ss]\n\t"
        "pushq %%rax\n\t"
        "pushfq\n\t"
        "pushq %[cs]\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "iretq\n"
        "1:"
        :
        : [ss] "i"(gdt::k_user_data), [cs] "i"(gdt::k_user_code)
        : "rax", "memory", "cc");
}

void enter_ring0() { gates::call(gates::Gate::EnterRing0); }

}  // namespace kernel::privilege
