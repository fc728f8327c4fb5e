#pragma once
// The one place where C++ touches the CPU directly: port I/O, MSRs, CPUID, control
// registers, halting. Drivers use these through typed wrappers, never with their own asm.
// Each privileged one is the instruction itself, or, where the kernel runs in ring 3, the
// privilege gate that runs it (kernel/gates/gate.hpp).

#include <cstddef>
#include <cstdint>

#include "kernel/gates/gate.hpp"

namespace kernel::cpu {

using gates::Gate;

// The current privilege level: the low two bits of CS. Ring 0 unless the kernel runs in
// ring 3 (kernel/gates/) and this is not an interrupt handler.
inline unsigned current_ring() { return gates::gated() ? 3u : 0u; }
inline bool in_ring0() { return !gates::gated(); }

inline void out8(std::uint16_t port, std::uint8_t value) {
    if (in_ring0())
        asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
    else
        gates::call(Gate::Out8, {.rax = value, .rdx = port});
}
inline void out16(std::uint16_t port, std::uint16_t value) {
    if (in_ring0())
        asm volatile("outw %0, %1" : : "a"(value), "Nd"(port));
    else
        gates::call(Gate::Out16, {.rax = value, .rdx = port});
}
inline void out32(std::uint16_t port, std::uint32_t value) {
    if (in_ring0())
        asm volatile("outl %0, %1" : : "a"(value), "Nd"(port));
    else
        gates::call(Gate::Out32, {.rax = value, .rdx = port});
}
inline std::uint8_t in8(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint8_t>(gates::call(Gate::In8, {.rdx = port}).rax);
    std::uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint16_t in16(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint16_t>(gates::call(Gate::In16, {.rdx = port}).rax);
    std::uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint32_t in32(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint32_t>(gates::call(Gate::In32, {.rdx = port}).rax);
    std::uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

// Writes bytes to a 16550 UART at `base` (kernel/serial.hpp): each time the line status
// says the transmitter is empty, up to a FIFO's 16 bytes with one `rep outsb`. From ring 3
// the whole text is one gate, not one for each status read and each burst.
inline constexpr std::uint16_t k_uart_line_status = 5;
inline constexpr std::uint8_t k_uart_transmitter_empty = 1 << 5;
inline constexpr std::size_t k_uart_fifo_depth = 16;  // gates.asm's gate_uart_write too
inline void uart_write(std::uint16_t base, const char* data, std::size_t count) {
    if (!in_ring0()) {
        gates::call(Gate::UartWrite, {.rcx = count, .rdx = base, .rsi = reinterpret_cast<std::uint64_t>(data)});
        return;
    }
    while (count > 0) {
        while ((in8(static_cast<std::uint16_t>(base + k_uart_line_status)) & k_uart_transmitter_empty) == 0)
            asm volatile("pause");
        std::size_t burst = count < k_uart_fifo_depth ? count : k_uart_fifo_depth;
        count -= burst;
        asm volatile("rep outsb" : "+S"(data), "+c"(burst) : "d"(base) : "memory");
    }
}

// A port access of `width` bytes (1, 2 or 4, anything else reads as 4).
inline std::uint32_t in(std::uint16_t port, unsigned width) {
    return width == 1 ? in8(port) : width == 2 ? in16(port) : in32(port);
}
inline void out(std::uint16_t port, unsigned width, std::uint32_t value) {
    if (width == 1)
        out8(port, static_cast<std::uint8_t>(value));
    else if (width == 2)
        out16(port, static_cast<std::uint16_t>(value));
    else
        out32(port, value);
}

// An index register and its data register (PCI's CF8/CFC): writes `index` to the 32-bit
// index port, then reads or writes `width` (1, 2 or 4) bytes at the data port. In ring 3
// both accesses take one gate.
inline std::uint32_t select_and_read(std::uint16_t index_port, std::uint32_t index, std::uint16_t data_port,
                                     unsigned width) {
    if (!in_ring0()) {
        Gate gate = width == 1 ? Gate::SelectIn8 : width == 2 ? Gate::SelectIn16 : Gate::SelectIn32;
        auto value = gates::call(gate, {.rax = index, .rcx = data_port, .rdx = index_port}).rax;
        return static_cast<std::uint32_t>(width == 1 ? value & 0xFF : width == 2 ? value & 0xFFFF : value);
    }
    out32(index_port, index);
    return in(data_port, width);
}
inline void select_and_write(std::uint16_t index_port, std::uint32_t index, std::uint16_t data_port, unsigned width,
                             std::uint32_t value) {
    if (!in_ring0()) {
        Gate gate = width == 1 ? Gate::SelectOut8 : width == 2 ? Gate::SelectOut16 : Gate::SelectOut32;
        gates::call(gate, {.rax = index, .rcx = data_port, .rdx = index_port, .rsi = value});
        return;
    }
    out32(index_port, index);
    out(data_port, width, value);
}

// Port accesses of `width` bytes (1, 2 or 4) for device registers: where gated, a write
// waits in the queue of deferred device stores and a read takes what waits along in its
// gate (kernel/gates/deferred.hpp). in() and out() above never wait.
inline std::uint32_t read_port(std::uint16_t port, unsigned width) {
    if (gates::gated() && !gates::g_deferred.empty())
        return gates::load_after_deferred(gates::DeviceAccess::port_load(port, static_cast<std::uint8_t>(width)));
    return in(port, width);
}
inline void write_port(std::uint16_t port, unsigned width, std::uint32_t value) {
    if (gates::gated())
        gates::defer_store(gates::DeviceAccess::port_store(port, static_cast<std::uint8_t>(width), value));
    else
        out(port, width, value);
}

// A typed I/O port: the width is part of the type, so a 16-bit register cannot be
// written with an 8-bit access by mistake. Accesses as read_port and write_port.
template <typename T>
class IoPort {
public:
    static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4);
    constexpr explicit IoPort(std::uint16_t port) : m_port(port) {}
    [[nodiscard]] T read() const { return static_cast<T>(read_port(m_port, sizeof(T))); }
    void write(T value) const { write_port(m_port, sizeof(T), value); }

private:
    std::uint16_t m_port;
};

struct CpuidResult {
    std::uint32_t eax, ebx, ecx, edx;
};
// Each CPUID is an exit to the hypervisor (36-49 us on our hosts, docs/kvm-on-this-host.md),
// and the boot asks for some leaves several times, so answers are kept. On one vCPU they
// do not change, except leaf 0xD's, which follows XCR0: that one is never kept.
struct CpuidCacheEntry {
    std::uint32_t leaf, subleaf;
    CpuidResult result;
    bool valid;
};
inline constexpr std::size_t k_cpuid_cache_size = 16;
inline constinit CpuidCacheEntry cpuid_cache[k_cpuid_cache_size]{};
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
    for (const CpuidCacheEntry& entry : cpuid_cache) {
        if (!entry.valid) break;
        if (entry.leaf == leaf && entry.subleaf == subleaf) return entry.result;
    }
    CpuidResult r{};
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    if (leaf == 0xD) return r;
    for (CpuidCacheEntry& entry : cpuid_cache) {
        if (entry.valid) continue;
        entry = {leaf, subleaf, r, true};
        break;
    }
    return r;
}

// The hypervisor's highest leaf when CPUID leaf 0x40000000 names `signature` (12 bytes,
// e.g. "KVMKVMKVM\0\0\0", or "TCGTCGTCGTCG" for QEMU's TCG), else 0.
inline std::uint32_t hypervisor_max_leaf(const char* signature) {
    CpuidResult r = cpuid(0x40000000);
    const std::uint32_t words[3] = {r.ebx, r.ecx, r.edx};
    for (std::size_t i = 0; i < 12; ++i) {
        if (static_cast<char>(words[i / 4] >> (8 * (i % 4))) != signature[i]) return 0;
    }
    return r.eax;
}

inline std::uint64_t rdmsr(std::uint32_t msr) {
    std::uint32_t lo, hi;
    if (in_ring0()) {
        asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    } else {
        auto r = gates::call(Gate::ReadMsr, {.rcx = msr});
        lo = static_cast<std::uint32_t>(r.rax);
        hi = static_cast<std::uint32_t>(r.rdx);
    }
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(std::uint32_t msr, std::uint64_t value) {
    auto lo = static_cast<std::uint32_t>(value);
    auto hi = static_cast<std::uint32_t>(value >> 32);
    if (in_ring0())
        asm volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(hi) : "memory");
    else
        gates::call(Gate::WriteMsr, {.rax = lo, .rcx = msr, .rdx = hi});
}

// A 32-bit write of a device's register that is an MSR (the x2APIC's): where gated it
// waits with the deferred device stores, as an MMIO store would (kernel/gates/deferred.hpp).
inline void wrmsr_posted(std::uint32_t msr, std::uint32_t value) {
    if (gates::gated())
        gates::defer_store(gates::DeviceAccess::msr_store(msr, value));
    else
        wrmsr(msr, value);
}

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// Control registers, read directly in ring 0 or through their gates.
inline std::uint64_t read_cr0() {
    if (!in_ring0()) return gates::call(Gate::ReadCr0).rax;
    std::uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr2() {
    if (!in_ring0()) return gates::call(Gate::ReadCr2).rax;
    std::uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr3() {
    if (!in_ring0()) return gates::call(Gate::ReadCr3).rax;
    std::uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr4() {
    if (!in_ring0()) return gates::call(Gate::ReadCr4).rax;
    std::uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr3(std::uint64_t v) {
    if (in_ring0())
        asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
    else
        gates::call(Gate::WriteCr3, {.rax = v});
}
inline void invlpg(std::uint64_t address) {
    if (in_ring0())
        asm volatile("invlpg (%0)" : : "r"(address) : "memory");
    else
        gates::call(Gate::Invlpg, {.rax = address});
}

// A spin-wait's step. Whoever spins waits for a device, which may be waiting for a store
// of ours: where gated, the deferred device stores run first (kernel/gates/deferred.hpp).
inline void pause() {
    if (gates::gated()) gates::flush_deferred();
    asm volatile("pause");
}
inline void disable_interrupts() {
    if (in_ring0())
        asm volatile("cli" ::: "memory");
    else
        gates::call(Gate::DisableInterrupts);
}
inline void enable_interrupts() {
    if (in_ring0())
        asm volatile("sti" ::: "memory");
    else
        gates::call(Gate::EnableInterrupts);
}
// Enables interrupts and halts in one step: sti's one-instruction shadow means an
// interrupt that is already pending wakes the hlt instead of being taken before it.
// In ring 3 the gate does the same in ring 0, where it is entered with interrupts off.
inline void enable_interrupts_and_halt() {
    if (in_ring0())
        asm volatile("sti; hlt" ::: "memory");
    else
        gates::call(Gate::Halt);
}
// Halts until an interrupt, unless *counter no longer holds `seen`: interrupts::
// delivered_counter moves with every interrupt, so a sleeper that read it before its last
// look for work halts only if nothing arrived since. The compare and the halt run with
// interrupts off (in ring 3, inside the gate), so no wake-up is lost; returns with
// interrupts on. In ring 3 this is one gate, where cli, look, sti+hlt would be two.
inline void halt_unless_changed(const volatile std::uint64_t* counter, std::uint64_t seen) {
    if (!in_ring0()) {
        gates::call(Gate::HaltUnlessChanged, {.rax = seen, .rsi = reinterpret_cast<std::uint64_t>(counter)});
        return;
    }
    asm volatile("cli" ::: "memory");
    if (*counter != seen) {
        asm volatile("sti" ::: "memory");
        return;
    }
    asm volatile("sti; hlt" ::: "memory");
}
[[noreturn]] inline void halt_forever() {
    if (!in_ring0()) gates::call(Gate::HaltForever);
    for (;;) asm volatile("cli; hlt");
}
inline bool interrupts_enabled() {
    std::uint64_t flags;
    if (in_ring0())
        asm volatile("pushfq; pop %0" : "=r"(flags));
    else
        flags = gates::call(Gate::ReadFlags).rax;  // a hypervisor may show ring 3 its own IF
    return (flags & (1u << 9)) != 0;
}

// Hardware randomness when the CPU has it (CPUID.1:ECX.RDRAND[bit 30]).
inline bool rdrand(std::uint64_t& out) {
    unsigned char ok;
    asm volatile("rdrand %0; setc %1" : "=r"(out), "=qm"(ok));
    return ok != 0;
}

}  // namespace kernel::cpu
