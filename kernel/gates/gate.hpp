#pragma once
// The privilege gates. Under most hypervisors the kernel runs in ring 0 and nothing here
// is used. Where ring-0 code is emulated (our development hosts' kvm-pvm,
// docs/kvm-on-this-host.md), the kernel moves itself to ring 3 at boot (privilege.hpp)
// and reaches each instruction that needs ring 0 or I/O privilege through a gate:
// `ud1 r10, r10` with r10 naming it, which raises #UD, and the handler (gates.asm) runs
// the instruction in ring 0 on the caller's registers.
//
// Everything that exists only because the kernel may run in ring 3 is in kernel/gates/:
// this file, the decision (privilege.hpp), the assembly (gates.asm) and the queue of
// deferred device stores (deferred.hpp). kernel/cpu.hpp's primitives call in here when
// gated(); drivers never do.
//
// Kernel only.

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/gates/deferred.hpp"

namespace kernel::gates {

// The order is that of privilege_gate_table in gates.asm.
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
    DeviceList,
    HaltUnlessChanged,
    Count  // gates.asm's GATE_COUNT
};

// Whether this code must use the gates: the kernel runs in ring 3 and this is not an
// interrupt handler (those run in ring 0 either way). The low two bits of CS.
inline bool gated() {
    std::uint16_t cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3u) != 0;
}

// Gates taken so far (boot.phases and tools/bench-boot print them): a native increment.
inline constinit std::uint64_t g_calls = 0;

// The registers a gate reads and writes.
struct Registers {
    std::uint64_t rax = 0, rcx = 0, rdx = 0, rsi = 0;
};

// Takes the gate, and nothing else (call() runs the deferred stores first).
inline Registers enter(Gate gate, Registers r = {}) {
    ++g_calls;
    register auto number asm("r10") = static_cast<std::uint64_t>(gate);
    // ud1 r10, r10 (4D 0F B9 D2), spelled out: the encoding is what gates.asm looks for.
    asm volatile(".byte 0x4d, 0x0f, 0xb9, 0xd2"
                 : "+a"(r.rax), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+r"(number)
                 :
                 : "r11", "memory", "cc");
    return r;
}

// Runs device accesses in ring 0, in order, through one gate.
inline void run_device_list(std::span<DeviceAccess> accesses) {
    enter(Gate::DeviceList, {.rcx = accesses.size(), .rsi = reinterpret_cast<std::uint64_t>(accesses.data())});
}

// The kernel's queue of deferred device stores (deferred.hpp). Only gated code touches
// it; interrupt handlers, in ring 0, access devices directly.
inline constexpr std::size_t k_deferred_capacity = 64;
inline constinit DeferredStores<k_deferred_capacity> g_deferred{run_device_list};

// Takes a gate: whatever it does comes after the stores that wait.
inline Registers call(Gate gate, Registers r = {}) {
    g_deferred.flush();
    return enter(gate, r);
}

// Where gated(), what the access windows use: a store waits in the queue, a load runs what
// waits and itself in one gate.
inline void defer_store(const DeviceAccess& access) { g_deferred.store(access); }
inline std::uint32_t load_after_deferred(const DeviceAccess& access) { return g_deferred.load(access); }
inline void flush_deferred() { g_deferred.flush(); }

}  // namespace kernel::gates
