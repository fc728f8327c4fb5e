#pragma once
// The one place where C++ touches the CPU directly: port I/O, MSRs, CPUID, control
// registers. Drivers use these through typed wrappers, never with their own asm.

#include <cstddef>
#include <cstdint>

namespace kernel::cpu {

inline void out8(std::uint16_t port, std::uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
inline void out16(std::uint16_t port, std::uint16_t value) { asm volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
inline void out32(std::uint16_t port, std::uint32_t value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
inline std::uint8_t in8(std::uint16_t port) {
    std::uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint16_t in16(std::uint16_t port) {
    std::uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint32_t in32(std::uint16_t port) {
    std::uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

// Writes a run of bytes to one port with a single `rep outsb`: under KVM the whole run
// costs one exit to QEMU instead of one per byte.
inline void out8_string(std::uint16_t port, const void* data, std::size_t count) {
    asm volatile("rep outsb" : "+S"(data), "+c"(count) : "d"(port) : "memory");
}

// A typed I/O port: the width is part of the type, so a 16-bit register cannot be
// written with an 8-bit access by mistake.
template <typename T>
class IoPort {
public:
    constexpr explicit IoPort(std::uint16_t port) : m_port(port) {}
    [[nodiscard]] T read() const {
        if constexpr (sizeof(T) == 1)
            return in8(m_port);
        else if constexpr (sizeof(T) == 2)
            return in16(m_port);
        else
            return in32(m_port);
    }
    void write(T value) const {
        if constexpr (sizeof(T) == 1)
            out8(m_port, value);
        else if constexpr (sizeof(T) == 2)
            out16(m_port, value);
        else
            out32(m_port, value);
    }
    [[nodiscard]] constexpr std::uint16_t port() const { return m_port; }

private:
    std::uint16_t m_port;
};

struct CpuidResult {
    std::uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
    CpuidResult r{};
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
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
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(std::uint32_t msr, std::uint64_t value) {
    asm volatile("wrmsr"
                 :
                 : "c"(msr), "a"(static_cast<std::uint32_t>(value)), "d"(static_cast<std::uint32_t>(value >> 32))
                 : "memory");
}

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

inline std::uint64_t read_cr0() {
    std::uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr2() {
    std::uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr3() {
    std::uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr4() {
    std::uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr3(std::uint64_t v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
inline void invlpg(std::uint64_t address) { asm volatile("invlpg (%0)" : : "r"(address) : "memory"); }

inline void pause() { asm volatile("pause"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
// Enables interrupts and halts in one step: sti's one-instruction shadow means an
// interrupt that is already pending wakes the hlt instead of being taken before it.
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }
[[noreturn]] inline void halt_forever() {
    for (;;) asm volatile("cli; hlt");
}
inline bool interrupts_enabled() {
    std::uint64_t flags;
    asm volatile("pushfq; pop %0" : "=r"(flags));
    return (flags & (1u << 9)) != 0;
}
inline std::uint64_t read_rbp() {
    std::uint64_t v;
    asm volatile("mov %%rbp, %0" : "=r"(v));
    return v;
}

// Hardware randomness when the CPU has it (CPUID.1:ECX.RDRAND[bit 30]).
inline bool rdrand(std::uint64_t& out) {
    unsigned char ok;
    asm volatile("rdrand %0; setc %1" : "=r"(out), "=qm"(ok));
    return ok != 0;
}

}  // namespace kernel::cpu
