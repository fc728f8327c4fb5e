#include "kernel/panic.hpp"

#include <array>
#include <cstddef>

#include "kernel/cpu.hpp"
#include "kernel/exit.hpp"
#include "kernel/gdt.hpp"
#include "kernel/result.hpp"
#include "kernel/symbols.hpp"

extern "C" const std::byte __ksyms_start[];
extern "C" const std::byte __ksyms_end[];

namespace kernel {

const SymbolTable& SymbolTable::kernel() {
    static const SymbolTable table(
        std::span<const std::byte>(__ksyms_start, static_cast<std::size_t>(__ksyms_end - __ksyms_start)));
    return table;
}

namespace {

bool g_panicking = false;
constexpr unsigned k_max_frames = 32;    // distinct frames printed
constexpr unsigned k_max_walk = 100000;  // frames followed (a stack of recursion is deep)

// Intel SDM vol. 3A table 6-1.
constexpr std::array<const char*, 32> k_exception_names = {"Divide error (#DE)",
                                                           "Debug (#DB)",
                                                           "Non-maskable interrupt (NMI)",
                                                           "Breakpoint (#BP)",
                                                           "Overflow (#OF)",
                                                           "BOUND range exceeded (#BR)",
                                                           "Invalid opcode (#UD)",
                                                           "Device not available (#NM)",
                                                           "Double fault (#DF)",
                                                           "Coprocessor segment overrun",
                                                           "Invalid TSS (#TS)",
                                                           "Segment not present (#NP)",
                                                           "Stack-segment fault (#SS)",
                                                           "General protection fault (#GP)",
                                                           "Page fault (#PF)",
                                                           "Reserved (15)",
                                                           "x87 floating-point error (#MF)",
                                                           "Alignment check (#AC)",
                                                           "Machine check (#MC)",
                                                           "SIMD floating-point exception (#XM)",
                                                           "Virtualization exception (#VE)",
                                                           "Control protection (#CP)",
                                                           "Reserved (22)",
                                                           "Reserved (23)",
                                                           "Reserved (24)",
                                                           "Reserved (25)",
                                                           "Reserved (26)",
                                                           "Reserved (27)",
                                                           "Hypervisor injection (#HV)",
                                                           "VMM communication (#VC)",
                                                           "Security exception (#SX)",
                                                           "Reserved (31)"};

constexpr std::uint8_t k_vector_page_fault = 14;

const StackRange* stack_containing(std::uint64_t address, std::uint64_t size) {
    for (const auto& stack : kernel_stacks()) {
        if (address >= stack.bottom && address + size <= stack.top) return &stack;
    }
    return nullptr;
}

const StackRange* guard_containing(std::uint64_t address) {
    for (const auto& stack : kernel_stacks()) {
        if (address >= stack.guard && address < stack.bottom) return &stack;
    }
    return nullptr;
}

void print_page_fault_details(std::uint64_t error_code, std::uint64_t address) {
    // Intel SDM vol. 3A §4.7, figure 4-12.
    print("  faulting address (CR2): {:#018x} (", address);
    print("{}", (error_code & 1) != 0 ? "protection violation" : "page not present");
    print(", {}", (error_code & 2) != 0 ? "write" : "read");
    if ((error_code & 16) != 0) print(", instruction fetch");
    if ((error_code & 8) != 0) print(", reserved bit set");
    println(")");
    if (address < 4096) println("  (a null pointer dereference: page 0 is never mapped)");
    if (const StackRange* stack = guard_containing(address))
        println("  stack overflow: {} ran into its guard page", stack->name);
}

void print_registers(const InterruptFrame& f) {
    println("  rax {:#018x}  rbx {:#018x}  rcx {:#018x}", f.rax, f.rbx, f.rcx);
    println("  rdx {:#018x}  rsi {:#018x}  rdi {:#018x}", f.rdx, f.rsi, f.rdi);
    println("  rbp {:#018x}  rsp {:#018x}  r8  {:#018x}", f.rbp, f.rsp, f.r8);
    println("  r9  {:#018x}  r10 {:#018x}  r11 {:#018x}", f.r9, f.r10, f.r11);
    println("  r12 {:#018x}  r13 {:#018x}  r14 {:#018x}", f.r12, f.r13, f.r14);
    println("  r15 {:#018x}  rflags {:#010x}  cs {:#06x}  ss {:#06x}", f.r15, f.rflags, f.cs, f.ss);
    println("  cr0 {:#018x}  cr3 {:#018x}  cr4 {:#018x}", cpu::read_cr0(), cpu::read_cr3(), cpu::read_cr4());
}

}  // namespace

void print_backtrace(std::uint64_t rip, std::uint64_t rbp) {
    println("backtrace:");
    unsigned depth = 0;
    if (rip != 0) println("  #{} {:#018x} {}", depth++, rip, SymbolizedAddress{rip});
    // Each frame: [rbp] = caller's rbp, [rbp + 8] = return address. Stop at the zero rbp
    // that boot/multiboot.asm plants, or at anything that leaves the known stacks. Runs of
    // one return address (deep recursion) print once with a count.
    std::uint64_t repeated_address = 0;
    unsigned repeats = 0;
    unsigned walked = 0;
    while (walked++ < k_max_walk && rbp != 0 && rbp % 8 == 0 && stack_containing(rbp, 16) != nullptr) {
        const auto* frame = reinterpret_cast<const std::uint64_t*>(rbp);
        std::uint64_t return_address = frame[1];
        if (return_address == 0) break;
        if (return_address == repeated_address) {
            ++repeats;
        } else {
            if (repeats != 0) println("  ... the frame above {} more times", repeats);
            repeats = 0;
            repeated_address = return_address;
            if (depth == k_max_frames) {
                println("  ... (more frames not shown)");
                return;
            }
            // Name the call instruction, not whatever follows it.
            auto symbol = SymbolTable::kernel().lookup(return_address - 1);
            if (symbol)
                println("  #{} {:#018x} {}+{:#x}", depth++, return_address, symbol->name, symbol->offset + 1);
            else
                println("  #{} {:#018x} ??", depth++, return_address);
        }
        if (frame[0] <= rbp) break;  // frames only go up the stack
        rbp = frame[0];
    }
    if (repeats != 0) println("  ... the frame above {} more times", repeats);
}

void panic_begin() {
    cpu::disable_interrupts();
    if (g_panicking) {
        console_write("\nPANIC while panicking; giving up\n");
        kernel::exit(k_exit_panic);
    }
    g_panicking = true;
    console_write("\n");
}

void panic_end(std::uint64_t frame_pointer) {
    print_backtrace(0, frame_pointer);
    kernel::exit(k_exit_panic);
}

void report_exception(const InterruptFrame& frame) {
    panic_begin();
    println("PANIC: CPU exception: {} (vector {}), error code {:#x}", k_exception_names[frame.vector & 31],
            frame.vector, frame.error_code);
    println("  rip {:#018x} {}", frame.rip, SymbolizedAddress{frame.rip});
    if (frame.vector == k_vector_page_fault) print_page_fault_details(frame.error_code, cpu::read_cr2());
    print_registers(frame);
    print_backtrace(frame.rip, frame.rbp);
    kernel::exit(k_exit_panic);
}

void detail::broken_result(const char* what) { panic("{}", what); }

}  // namespace kernel

void kernel::fmt::Formatter<kernel::SymbolizedAddress>::format(Sink& sink, const Spec&,
                                                               const kernel::SymbolizedAddress& value) {
    auto symbol = kernel::SymbolTable::kernel().lookup(value.address);
    if (!symbol) {
        sink.write("??");
        return;
    }
    format_to(sink, "{}+{:#x}", symbol->name, symbol->offset);
}
