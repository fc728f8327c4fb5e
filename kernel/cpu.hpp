#pragma once
// The one place where C++ touches the CPU directly: port I/O, MSRs, CPUID, control
// registers, and the privilege gates that reach ring 0 from ring 3. Drivers use these
// through typed wrappers, never with their own asm.

#include <cstddef>
#include <cstdint>
#include <span>

namespace kernel::cpu {

// Privilege gates (kernel/privilege.hpp, kernel/isr.asm): where the kernel runs in ring 3,
// each instruction below that needs ring 0 or I/O privilege is reached with `ud1 r10, r10`
// and r10 naming its gate, which runs it in ring 0 on the caller's registers. Code that is in
// ring 0 already (interrupt handlers, early boot, and the whole kernel where ring 0 is
// not emulated) runs it directly. The order is that of privilege_gate_table in isr.asm.
enum class Gate : std::uint64_t {
    WriteMsr,
    ReadMsr,
    Halt,
    HaltForever,
    WriteCr3,
    Invlpg,
    ReadCr0,
    ReadCr2,
    ReadCr3,
    ReadCr4,
    EnterRing0,
    DisableInterrupts,
    EnableInterrupts,
    ReadFlags,
    Out8,
    Out16,
    Out32,
    In8,
    In16,
    In32,
    UartWrite,
    SelectIn8,
    SelectIn16,
    SelectIn32,
    SelectOut8,
    SelectOut16,
    SelectOut32,
    Out8List,
    MmioList,
    MsrList,
    HaltUnlessChanged,
    Count  // isr.asm's GATE_COUNT
};

// The current privilege level: the low two bits of CS.
inline unsigned current_ring() {
    std::uint16_t cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3u;
}
inline bool in_ring0() { return current_ring() == 0; }

// Gates called so far (boot.phases prints them per phase): a native increment.
inline constinit std::uint64_t gate_calls = 0;

// Loads and stores of device memory (MMIO) run in ring 0 as a list: where ring 0 is
// emulated, an access from ring 3 costs a trip through the hypervisor (about 100 us on
// our hosts' KVM), one from inside a gate about a quarter of that (docs/kvm-on-this-host.md).
// A load leaves what it read in `value`. An entry may instead be an access through an
// index port and a data port (PCI's CF8/CFC, pci/port_config_space.cpp), so that such
// accesses queue among the MMIO ones in program order: then `index_port` is nonzero and
// `address` holds the index (low 32 bits) and the data port (bits 32-47), as
// MmioOp::select makes it.
struct MmioOp {
    volatile void* address;
    std::uint32_t value;
    std::uint8_t width;  // 1, 2 or 4
    bool load;
    std::uint16_t index_port;  // 0 for MMIO

    static MmioOp select(std::uint16_t index_port, std::uint32_t index, std::uint16_t data_port, std::uint8_t width,
                         bool load, std::uint32_t value) {
        std::uintptr_t packed = index | std::uintptr_t{data_port} << 32;
        return {reinterpret_cast<volatile void*>(packed), value, width, load,
                index_port};  // NOLINT(performance-no-int-to-ptr)
    }
};
static_assert(sizeof(MmioOp) == 16, "isr.asm's gate_mmio_list steps 16 bytes");

// Stores queued by kernel::mmio::Batch (kernel/mmio.hpp), run ahead of the next gate.
inline constexpr std::size_t k_mmio_queue_size = 64;
inline constinit MmioOp mmio_queue[k_mmio_queue_size]{};
inline constinit std::size_t mmio_queued = 0;
inline void flush_mmio();

// The registers a gate reads and writes.
struct GateRegisters {
    std::uint64_t rax = 0, rcx = 0, rdx = 0, rsi = 0;
};
inline GateRegisters call_gate(Gate gate, GateRegisters r = {}) {
    // Queued device stores go first: whatever this gate does comes after them.
    if (mmio_queued != 0 && gate != Gate::MmioList) flush_mmio();
    ++gate_calls;
    register auto number asm("r10") = static_cast<std::uint64_t>(gate);
    // ud1 r10, r10 (4D 0F B9 D2), spelled out: the encoding is what isr.asm looks for.
    asm volatile(".byte 0x4d, 0x0f, 0xb9, 0xd2"
                 : "+a"(r.rax), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+r"(number)
                 :
                 : "r11", "memory", "cc");
    return r;
}

// The list gates (out8_list and the others below): `each` over the entries in ring 0,
// or the whole list through one gate from ring 3, its address in rsi and its length in
// rcx (and rdx as `rdx` says).
template <typename T, typename Each>
inline void run_list(Gate gate, std::span<T> list, Each each, std::uint64_t rdx = 0) {
    if (list.empty()) return;
    if (!in_ring0()) {
        call_gate(gate, {.rcx = list.size(), .rdx = rdx, .rsi = reinterpret_cast<std::uint64_t>(list.data())});
        return;
    }
    for (T& entry : list) each(entry);
}

inline void out8(std::uint16_t port, std::uint8_t value) {
    if (in_ring0())
        asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
    else
        call_gate(Gate::Out8, {.rax = value, .rdx = port});
}
inline void out16(std::uint16_t port, std::uint16_t value) {
    if (in_ring0())
        asm volatile("outw %0, %1" : : "a"(value), "Nd"(port));
    else
        call_gate(Gate::Out16, {.rax = value, .rdx = port});
}
inline void out32(std::uint16_t port, std::uint32_t value) {
    if (in_ring0())
        asm volatile("outl %0, %1" : : "a"(value), "Nd"(port));
    else
        call_gate(Gate::Out32, {.rax = value, .rdx = port});
}
inline std::uint8_t in8(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint8_t>(call_gate(Gate::In8, {.rdx = port}).rax);
    std::uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint16_t in16(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint16_t>(call_gate(Gate::In16, {.rdx = port}).rax);
    std::uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline std::uint32_t in32(std::uint16_t port) {
    if (!in_ring0()) return static_cast<std::uint32_t>(call_gate(Gate::In32, {.rdx = port}).rax);
    std::uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

// Writes bytes to a 16550 UART at `base` (kernel/serial.hpp): each time the line status
// says the transmitter is empty, up to a FIFO's 16 bytes with one `rep outsb`. From ring 3
// the whole text is one gate, where it was a gate for each status read and each burst.
inline constexpr std::uint16_t k_uart_line_status = 5;
inline constexpr std::uint8_t k_uart_transmitter_empty = 1 << 5;
inline constexpr std::size_t k_uart_fifo_depth = 16;  // isr.asm's gate_uart_write too
inline void uart_write(std::uint16_t base, const char* data, std::size_t count) {
    if (!in_ring0()) {
        call_gate(Gate::UartWrite, {.rcx = count, .rdx = base, .rsi = reinterpret_cast<std::uint64_t>(data)});
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
        auto value = call_gate(gate, {.rax = index, .rcx = data_port, .rdx = index_port}).rax;
        return static_cast<std::uint32_t>(width == 1 ? value & 0xFF : width == 2 ? value & 0xFFFF : value);
    }
    out32(index_port, index);
    return in(data_port, width);
}
inline void select_and_write(std::uint16_t index_port, std::uint32_t index, std::uint16_t data_port, unsigned width,
                             std::uint32_t value) {
    if (!in_ring0()) {
        Gate gate = width == 1 ? Gate::SelectOut8 : width == 2 ? Gate::SelectOut16 : Gate::SelectOut32;
        call_gate(gate, {.rax = index, .rcx = data_port, .rdx = index_port, .rsi = value});
        return;
    }
    out32(index_port, index);
    out(data_port, width, value);
}

// Batches: the same accesses as a loop of out8 or select_and_read, in one gate from ring 3.
// Where a gate costs as much as the exit behind it, a batch of n costs about half of n
// separate calls.
struct PortWrite8 {
    std::uint16_t port;
    std::uint8_t value;
};
static_assert(sizeof(PortWrite8) == 4, "isr.asm's gate_out8_list steps 4 bytes");

inline void out8_list(std::span<const PortWrite8> writes) {
    run_list(Gate::Out8List, writes, [](const PortWrite8& write) { out8(write.port, write.value); });
}

// Runs the list in order, in ring 0 (one gate from ring 3).
inline void run_mmio(std::span<MmioOp> ops) {
    run_list(Gate::MmioList, ops, [](MmioOp& op) {
        if (op.index_port != 0) {
            auto packed = reinterpret_cast<std::uintptr_t>(op.address);
            auto index = static_cast<std::uint32_t>(packed);
            auto data_port = static_cast<std::uint16_t>(packed >> 32);
            if (op.load)
                op.value = select_and_read(op.index_port, index, data_port, op.width);
            else
                select_and_write(op.index_port, index, data_port, op.width, op.value);
        } else if (op.load) {
            op.value = op.width == 1   ? *static_cast<volatile std::uint8_t*>(op.address)
                       : op.width == 2 ? *static_cast<volatile std::uint16_t*>(op.address)
                                       : *static_cast<volatile std::uint32_t*>(op.address);
        } else if (op.width == 1) {
            *static_cast<volatile std::uint8_t*>(op.address) = static_cast<std::uint8_t>(op.value);
        } else if (op.width == 2) {
            *static_cast<volatile std::uint16_t*>(op.address) = static_cast<std::uint16_t>(op.value);
        } else {
            *static_cast<volatile std::uint32_t*>(op.address) = op.value;
        }
    });
}

inline void flush_mmio() {
    std::size_t count = mmio_queued;
    mmio_queued = 0;
    run_mmio({mmio_queue, count});
}

// Appends a store to the queue (running it first when full). Loads go through
// queue_list, which hands their values back.
inline void queue_mmio(const MmioOp& op) {
    if (mmio_queued == k_mmio_queue_size) flush_mmio();
    mmio_queue[mmio_queued++] = op;
}

// Queues the ops in order behind what waits already, running the queue whenever it is
// full, and once more at the end while a load waits; each load's value comes back in its
// op. Stores after the last load stay queued, as single stores do.
inline void queue_list(std::span<MmioOp> ops) {
    std::size_t pending = 0;  // ops[pending, i) wait in the queue from slot `first` on
    std::size_t first = mmio_queued;
    auto run_queue = [&](std::size_t end) {
        flush_mmio();
        for (std::size_t j = pending; j < end; ++j) {
            if (ops[j].load) ops[j].value = mmio_queue[first + (j - pending)].value;
        }
        pending = end;
        first = 0;
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (mmio_queued == k_mmio_queue_size) run_queue(i);
        mmio_queue[mmio_queued++] = ops[i];
    }
    for (std::size_t j = pending; j < ops.size(); ++j) {
        if (ops[j].load) {
            run_queue(ops.size());
            break;
        }
    }
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
        auto r = call_gate(Gate::ReadMsr, {.rcx = msr});
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
        call_gate(Gate::WriteMsr, {.rax = lo, .rcx = msr, .rdx = hi});
}

// Batched, as out8_list: reads and writes in order, one gate from ring 3. A read leaves
// what it read in `value`.
struct MsrOp {
    std::uint32_t msr;
    std::uint32_t read;  // nonzero: rdmsr into value; zero: wrmsr of value
    std::uint64_t value;

    static constexpr MsrOp write(std::uint32_t msr, std::uint64_t value) { return {msr, 0, value}; }
    static constexpr MsrOp read_of(std::uint32_t msr) { return {msr, 1, 0}; }
};
static_assert(sizeof(MsrOp) == 16, "isr.asm's gate_msr_list steps 16 bytes");

inline void msr_list(std::span<MsrOp> ops) {
    run_list(Gate::MsrList, ops, [](MsrOp& op) {
        if (op.read != 0)
            op.value = rdmsr(op.msr);
        else
            wrmsr(op.msr, op.value);
    });
}

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// Control registers, read directly in ring 0 or through their gates.
inline std::uint64_t read_cr0() {
    if (!in_ring0()) return call_gate(Gate::ReadCr0).rax;
    std::uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr2() {
    if (!in_ring0()) return call_gate(Gate::ReadCr2).rax;
    std::uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr3() {
    if (!in_ring0()) return call_gate(Gate::ReadCr3).rax;
    std::uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr4() {
    if (!in_ring0()) return call_gate(Gate::ReadCr4).rax;
    std::uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr3(std::uint64_t v) {
    if (in_ring0())
        asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
    else
        call_gate(Gate::WriteCr3, {.rax = v});
}
inline void invlpg(std::uint64_t address) {
    if (in_ring0())
        asm volatile("invlpg (%0)" : : "r"(address) : "memory");
    else
        call_gate(Gate::Invlpg, {.rax = address});
}

inline void pause() { asm volatile("pause"); }
inline void disable_interrupts() {
    if (in_ring0())
        asm volatile("cli" ::: "memory");
    else
        call_gate(Gate::DisableInterrupts);
}
inline void enable_interrupts() {
    if (in_ring0())
        asm volatile("sti" ::: "memory");
    else
        call_gate(Gate::EnableInterrupts);
}
// Enables interrupts and halts in one step: sti's one-instruction shadow means an
// interrupt that is already pending wakes the hlt instead of being taken before it.
// In ring 3 the gate does the same in ring 0, where it is entered with interrupts off.
inline void enable_interrupts_and_halt() {
    if (in_ring0())
        asm volatile("sti; hlt" ::: "memory");
    else
        call_gate(Gate::Halt);
}
// Halts until an interrupt, unless *counter no longer holds `seen`: interrupts::
// delivered_counter moves with every interrupt, so a sleeper that read it before its last
// look for work halts only if nothing arrived since. The compare and the halt run with
// interrupts off (in ring 3, inside the gate), so no wake-up is lost; returns with
// interrupts on. In ring 3 this is one gate, where cli, look, sti+hlt would be two.
inline void halt_unless_changed(const volatile std::uint64_t* counter, std::uint64_t seen) {
    if (!in_ring0()) {
        call_gate(Gate::HaltUnlessChanged, {.rax = seen, .rsi = reinterpret_cast<std::uint64_t>(counter)});
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
    if (!in_ring0()) call_gate(Gate::HaltForever);
    for (;;) asm volatile("cli; hlt");
}
inline bool interrupts_enabled() {
    std::uint64_t flags;
    if (in_ring0())
        asm volatile("pushfq; pop %0" : "=r"(flags));
    else
        flags = call_gate(Gate::ReadFlags).rax;  // a hypervisor may show ring 3 its own IF
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
