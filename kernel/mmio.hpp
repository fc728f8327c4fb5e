#pragma once
// A window onto device memory (MMIO), in the spirit of SerenityOS's IOWindow: the one
// place where drivers' register accesses become volatile loads and stores. The width of
// an access is its type, so a 32-bit register is never touched with a byte access (the
// local APIC and the I/O APIC only decode aligned 32-bit accesses).
//
// Where the kernel runs in ring 3 (kernel/privilege.hpp), a device access from there
// costs a trip through the hypervisor, about four times what it costs from ring 0 inside
// a gate. While a mmio::Batch lives, stores of up to 4 bytes are queued
// (cpu::mmio_queue) and run in ring 0, in order, as one gate: ahead of the next gate of
// any kind (port I/O, configuration space, halting), together with the next load, when
// the queue is full, and when the outermost Batch ends. Stores to devices are posted
// anyway; a Batch only delays them up to the next load or gate, so code inside one must
// not wait for a device to act on a store without reading a register of it. PCI bring-up,
// drivers included (pci/pci.cpp), runs in a Batch. In ring 0 nothing is queued.

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "kernel/cpu.hpp"
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
        if (cpu::mmio_queued != 0) {
            if constexpr (sizeof(T) <= 4) {
                // The load rides in the gate that runs the queue.
                const std::size_t slot = cpu::queue_mmio({at, 0, sizeof(T), true, 0});
                cpu::flush_mmio();
                return static_cast<T>(cpu::mmio_queue[slot].value);
            }
            cpu::flush_mmio();
        }
        return *at;
    }
    template <typename T>
    void write(std::size_t offset, T value) const {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        volatile T* at = pointer<T>(offset);
        if constexpr (sizeof(T) <= 4) {
            if (g_batch_depth != 0 && !cpu::in_ring0()) {
                cpu::queue_mmio({at, value, sizeof(T), false, 0});
                return;
            }
        }
        if (cpu::mmio_queued != 0) cpu::flush_mmio();
        *at = value;
    }
    // Byte loads of [offset, offset + out.size()), in order. Inside a Batch in ring 3 they
    // go through the queue together: one gate for all (a device's configuration read a
    // byte at a time, such as a MAC address).
    void read_bytes(std::size_t offset, std::span<std::uint8_t> out) const {
        if (g_batch_depth == 0 || cpu::in_ring0()) {
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = read<std::uint8_t>(offset + i);
            return;
        }
        std::size_t done = 0;
        while (done < out.size()) {
            if (cpu::mmio_queued == cpu::k_mmio_queue_size) cpu::flush_mmio();
            const std::size_t first = cpu::mmio_queued;
            std::size_t count = 0;
            while (done + count < out.size() && cpu::mmio_queued < cpu::k_mmio_queue_size) {
                cpu::queue_mmio({pointer<std::uint8_t>(offset + done + count), 0, 1, true, 0});
                ++count;
            }
            cpu::flush_mmio();
            for (std::size_t i = 0; i < count; ++i)
                out[done + i] = static_cast<std::uint8_t>(cpu::mmio_queue[first + i].value);
            done += count;
        }
    }
    // How many Batches are open (a Batch may hold another).
    static inline constinit unsigned g_batch_depth = 0;

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

namespace mmio {

// Queues MmioWindow's stores while it lives (see the top of this file).
class Batch {
public:
    Batch() { ++MmioWindow::g_batch_depth; }
    ~Batch() {
        if (--MmioWindow::g_batch_depth == 0 && cpu::mmio_queued != 0) cpu::flush_mmio();
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
};

}  // namespace mmio

}  // namespace kernel
