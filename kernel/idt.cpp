#include <array>
#include <cstddef>

#include "kernel/gdt.hpp"
#include "kernel/interrupts.hpp"
#include "kernel/panic.hpp"

extern "C" const std::uint64_t isr_stub_table[kernel::interrupts::k_vector_count];

namespace kernel::interrupts {
namespace {

// Intel SDM vol. 3A §6.14.1, figure 6-8: a 64-bit interrupt gate.
struct [[gnu::packed]] Gate {
    std::uint16_t offset_low;
    std::uint16_t selector;
    std::uint8_t ist;
    std::uint8_t type_attributes;
    std::uint16_t offset_middle;
    std::uint32_t offset_high;
    std::uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] IdtPointer {
    std::uint16_t limit;
    std::uint64_t base;
};
static_assert(sizeof(IdtPointer) == 10);

constexpr std::uint8_t k_interrupt_gate = 0x8E;  // present, DPL 0, 64-bit interrupt gate
constexpr std::uint8_t k_vector_nmi = 2;
constexpr std::uint8_t k_vector_invalid_opcode = 6;  // also the privilege gates (kernel/cpu.hpp)
constexpr std::uint8_t k_vector_double_fault = 8;
constexpr std::uint8_t k_vector_page_fault = 14;
constexpr std::uint8_t k_vector_machine_check = 18;

struct Route {
    Handler handler = nullptr;
    void* context = nullptr;
};

alignas(16) std::array<Gate, k_vector_count> g_idt;
std::array<Route, k_vector_count> g_routes;
std::uint64_t g_unhandled = 0;
volatile std::uint64_t g_delivered = 0;  // delivered_counter()
void (*g_eoi)() = nullptr;
std::uint8_t g_spurious_vector = 0xFF;

std::uint8_t ist_for(std::size_t vector) {
    switch (vector) {
        case k_vector_nmi: return gdt::k_ist_nmi;
        case k_vector_double_fault: return gdt::k_ist_double_fault;
        case k_vector_page_fault: return gdt::k_ist_page_fault;
        case k_vector_machine_check: return gdt::k_ist_machine_check;
        default: return 0;
    }
}

void set_gate(std::size_t vector) {
    std::uint64_t target = isr_stub_table[vector];
    g_idt[vector] = Gate{static_cast<std::uint16_t>(target),
                         gdt::k_kernel_code,
                         ist_for(vector),
                         k_interrupt_gate,
                         static_cast<std::uint16_t>(target >> 16),
                         static_cast<std::uint32_t>(target >> 32),
                         0};
}

}  // namespace

void load() {
    set_gate(k_vector_invalid_opcode);
    set_gate(k_vector_double_fault);
    IdtPointer pointer{sizeof(g_idt) - 1, reinterpret_cast<std::uint64_t>(g_idt.data())};
    asm volatile("lidt %0" : : "m"(pointer) : "memory");
}

void init() {
    for (std::size_t v = 0; v < k_vector_count; ++v) set_gate(v);
}

bool set_handler(std::uint8_t vector, Handler handler, void* context) {
    if (vector < k_first_external_vector || g_routes[vector].handler != nullptr) return false;
    g_routes[vector] = {handler, context};
    return true;
}

void clear_handler(std::uint8_t vector) { g_routes[vector] = {}; }

std::uint8_t allocate_vector() {
    // 0xF0 and up are left for the APIC's own vectors (spurious, timer, errors).
    for (unsigned v = 0x30; v < 0xF0; ++v) {
        if (g_routes[v].handler == nullptr) return static_cast<std::uint8_t>(v);
    }
    return 0;
}

std::uint64_t unhandled_count() { return g_unhandled; }
const volatile std::uint64_t* delivered_counter() { return &g_delivered; }

void set_end_of_interrupt(void (*eoi)(), std::uint8_t spurious_vector) {
    g_eoi = eoi;
    g_spurious_vector = spurious_vector;
}

}  // namespace kernel::interrupts

extern "C" void interrupt_dispatch(kernel::InterruptFrame* frame) {
    using namespace kernel::interrupts;
    if (frame->vector < k_first_external_vector) kernel::report_exception(*frame);
    g_delivered = g_delivered + 1;  // one writer: interrupts do not nest here
    if (frame->vector == g_spurious_vector) return;
    auto& route = g_routes[frame->vector];
    if (route.handler == nullptr)
        ++g_unhandled;
    else
        route.handler(*frame, route.context);
    if (g_eoi != nullptr) g_eoi();
}
