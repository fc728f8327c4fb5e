#pragma once
// Interrupt descriptor table, exception reporting and the handler registry.
//
// Handlers run with interrupts disabled on the interrupted stack (exceptions that can
// come from a broken stack run on their own IST stacks). A handler only records work and
// acknowledges the device: the event loop does the rest (ARCHITECTURE.md).

#include <cstdint>

namespace kernel {

// What isr.asm pushes, lowest address first.
struct InterruptFrame {
    std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    std::uint64_t vector, error_code;
    // Pushed by the CPU.
    std::uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * sizeof(std::uint64_t));

namespace interrupts {

constexpr std::uint8_t k_first_external_vector = 32;
constexpr unsigned k_vector_count = 256;

using Handler = void (*)(InterruptFrame& frame, void* context);

// Loads the IDT with the two gates needed to leave ring 0: #UD, which also carries the
// privilege gates (kernel/cpu.hpp), and #DF. In ring 0.
void load();
// Fills every gate of the loaded IDT. In either ring: the table is ordinary memory, and
// where ring 0 is emulated, 256 gates written there take milliseconds.
void init();
// Routes a vector (>= 32) to a handler. Returns false if the vector is taken.
bool set_handler(std::uint8_t vector, Handler handler, void* context);
void clear_handler(std::uint8_t vector);
// A vector no one has claimed yet, or 0 when all are taken.
std::uint8_t allocate_vector();
// Interrupts that arrived on a vector with no handler.
std::uint64_t unhandled_count();
// Moves with every external interrupt (vector >= 32, spurious ones too): a sleeper reads
// it before its last look for work and halts with cpu::halt_unless_changed.
const volatile std::uint64_t* delivered_counter();
// Called after every handler of an external vector (the interrupt controller's EOI).
// Vectors in [spurious_first, 255] get no EOI (the APIC's spurious vector needs none).
void set_end_of_interrupt(void (*eoi)(), std::uint8_t spurious_vector);

}  // namespace interrupts
}  // namespace kernel
