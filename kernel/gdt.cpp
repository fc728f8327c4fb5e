#include "kernel/gdt.hpp"

#include <array>
#include <cstddef>

namespace kernel {

extern "C" std::byte boot_stack_guard[];
extern "C" std::byte boot_stack_bottom[];
extern "C" std::byte boot_stack_top[];

namespace {

// Intel SDM vol. 3A §8.7, figure 8-11.
struct [[gnu::packed]] Tss {
    std::uint32_t reserved0;
    std::uint64_t rsp[3];
    std::uint64_t reserved1;
    std::uint64_t ist[7];
    std::uint64_t reserved2;
    std::uint16_t reserved3;
    std::uint16_t io_map_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] DescriptorPointer {
    std::uint16_t limit;
    std::uint64_t base;
};
static_assert(sizeof(DescriptorPointer) == 10);

constexpr std::size_t k_page = 4096;
constexpr std::size_t k_ist_stack_size = std::size_t{16} * 1024;
constexpr std::size_t k_ring0_stack_size = std::size_t{32} * 1024;

// A stack with an unmapped guard page below it. In .bss.stacks: never zeroed
// (boot/linker.ld).
template <std::size_t Size>
struct alignas(k_page) GuardedStack {
    std::byte guard[k_page];
    std::byte stack[Size];
};

// Where interrupts and gates run when they arrive in ring 3 (TSS.RSP0).
[[gnu::section(".bss.stacks")]] GuardedStack<k_ring0_stack_size> g_ring0_stack;

constexpr std::size_t k_ist_count = 4;
[[gnu::section(".bss.stacks")]] GuardedStack<k_ist_stack_size> g_ist_stacks[k_ist_count];
constexpr const char* k_ist_names[k_ist_count] = {"double-fault stack", "NMI stack", "page-fault stack",
                                                  "machine-check stack"};

Tss g_tss;
alignas(16) std::array<std::uint64_t, 7> g_gdt;
std::array<StackRange, 2 + k_ist_count> g_stacks;

std::uint64_t address_of(const void* p) { return reinterpret_cast<std::uint64_t>(p); }

}  // namespace

namespace gdt {

void init() {
    for (std::size_t i = 0; i < k_ist_count; ++i) {
        g_tss.ist[i] = address_of(g_ist_stacks[i].stack + k_ist_stack_size);
        g_stacks[2 + i] = {address_of(g_ist_stacks[i].guard), address_of(g_ist_stacks[i].stack),
                           address_of(g_ist_stacks[i].stack + k_ist_stack_size), k_ist_names[i]};
    }
    g_stacks[0] = {address_of(boot_stack_guard), address_of(boot_stack_bottom), address_of(boot_stack_top),
                   "boot stack"};
    g_tss.rsp[0] = address_of(g_ring0_stack.stack + k_ring0_stack_size);
    g_stacks[1] = {address_of(g_ring0_stack.guard), address_of(g_ring0_stack.stack), g_tss.rsp[0],
                   "ring-0 interrupt stack"};
    g_tss.io_map_base = sizeof(Tss);  // no I/O permission bitmap

    // Intel SDM vol. 3A §3.4.5 and §8.2.3 (the 16-byte system descriptor of a 64-bit TSS).
    std::uint64_t base = address_of(&g_tss);
    std::uint64_t limit = sizeof(Tss) - 1;
    g_gdt[0] = 0;
    g_gdt[1] = 0x00AF9A000000FFFF;  // code: present, DPL 0, long mode
    g_gdt[2] = 0x00CF92000000FFFF;  // data: present, writable
    g_gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xF) << 48) |
               (((base >> 24) & 0xFF) << 56);
    g_gdt[4] = base >> 32;
    g_gdt[5] = 0x00CFF2000000FFFF;  // user data: present, DPL 3, writable
    g_gdt[6] = 0x00AFFA000000FFFF;  // user code: present, DPL 3, long mode

    DescriptorPointer pointer{sizeof(g_gdt) - 1, address_of(g_gdt.data())};
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "movw %2, %%ax\n"
        "movw %%ax, %%ds\n"
        "movw %%ax, %%es\n"
        "movw %%ax, %%ss\n"
        "ltr %3\n"
        :
        : "m"(pointer), "i"(k_kernel_code), "i"(k_kernel_data), "r"(k_tss)
        : "rax", "memory");
}

}  // namespace gdt

std::span<const StackRange> kernel_stacks() { return g_stacks; }

}  // namespace kernel
