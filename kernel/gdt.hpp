#pragma once
// Long-mode GDT with a TSS whose interrupt stack table gives the exceptions that can
// strike on a broken stack (#DF, NMI, #PF, #MC) stacks of their own, each with a guard
// page below it. It also holds ring-3 code and data segments, and the TSS names the
// stack that interrupts switch to when they arrive in ring 3 (kernel/gates/privilege.hpp).

#include <cstdint>
#include <span>

namespace kernel {

struct StackRange {
    std::uint64_t guard;  // the unmapped page just below bottom
    std::uint64_t bottom;
    std::uint64_t top;
    const char* name;
};

namespace gdt {

constexpr std::uint16_t k_kernel_code = 0x08;
constexpr std::uint16_t k_kernel_data = 0x10;
constexpr std::uint16_t k_tss = 0x18;  // 16 bytes: two slots
constexpr std::uint16_t k_user_data = 0x28 | 3;
constexpr std::uint16_t k_user_code = 0x30 | 3;

// IST slots (1-based, as the IDT gate wants them).
constexpr std::uint8_t k_ist_double_fault = 1;
constexpr std::uint8_t k_ist_nmi = 2;
constexpr std::uint8_t k_ist_page_fault = 3;
constexpr std::uint8_t k_ist_machine_check = 4;

void init();

}  // namespace gdt

// Every stack the kernel runs on: the boot stack, the ring-0 stack for interrupts from
// ring 3, and the IST stacks.
std::span<const StackRange> kernel_stacks();

}  // namespace kernel
