#pragma once
// A window onto device memory (MMIO), in the spirit of SerenityOS's IOWindow: the one
// place where drivers' register accesses become volatile loads and stores. The width of
// an access is its type, so a 32-bit register is never touched with a byte access (the
// local APIC and the I/O APIC only decode aligned 32-bit accesses).
//
// In ring 0 each access goes to the device at once. Where the kernel runs in ring 3
// (kernel/gates/), stores of up to 4 bytes wait in the queue of deferred device stores,
// and a load takes what waits along in its gate (kernel/gates/deferred.hpp): drivers write
// straight-line register code either way.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernel/gates/gate.hpp"
#include "kernel/panic.hpp"

namespace kernel {

class MmioWindow {
public:
    MmioWindow() = default;
    // base must come from kernel::memory::map_mmio for at least size bytes.
    MmioWindow(volatile std::byte* base, std::size_t size) : m_base(base), m_size(size) {}

    template <typename T>
    [[nodiscard]] T read(std::size_t offset) const {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        volatile T* at = pointer<T>(offset);
        if (gates::gated() && !gates::g_deferred.empty()) {
            if constexpr (sizeof(T) <= 4) {
                // The load rides in the gate that runs the queue.
                return static_cast<T>(gates::load_after_deferred(gates::DeviceAccess::memory_load(at, sizeof(T))));
            }
            gates::flush_deferred();
        }
        return *at;
    }
    template <typename T>
    void write(std::size_t offset, T value) const {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        volatile T* at = pointer<T>(offset);
        if (gates::gated()) {
            if constexpr (sizeof(T) <= 4) {
                gates::defer_store(gates::DeviceAccess::memory_store(at, sizeof(T), value));
                return;
            }
            gates::flush_deferred();
        }
        *at = value;
    }

    // A store the device must see now, a doorbell (a virtqueue notification): what waits
    // goes first, then this store, at once. Where gated, deferring notifications to the
    // device-list gate lost some of them under our hosts' KVM (the transmit queue stalled
    // with 16 connections echoing), which ordinary stores do not show.
    template <typename T>
    void write_now(std::size_t offset, T value) const {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        volatile T* at = pointer<T>(offset);
        if (gates::gated()) gates::flush_deferred();
        *at = value;
    }

    [[nodiscard]] bool valid() const { return m_base != nullptr; }
    [[nodiscard]] std::size_t size() const { return m_size; }

private:
    template <typename T>
    [[nodiscard]] volatile T* pointer(std::size_t offset) const {
        // Offsets come from constexpr register tables; one that does not fit is a bug in
        // such a table, better named here than as a page fault somewhere past the mapping.
        if (offset % sizeof(T) != 0 || offset + sizeof(T) > m_size)
            panic("mmio: {}-byte access at offset {:#x} of a {}-byte window", sizeof(T), offset, m_size);
        return reinterpret_cast<volatile T*>(m_base + offset);
    }

    volatile std::byte* m_base = nullptr;
    std::size_t m_size = 0;
};

}  // namespace kernel
