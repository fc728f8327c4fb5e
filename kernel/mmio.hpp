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

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "kernel/cpu.hpp"
#include "kernel/io_access.hpp"
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
                cpu::MmioOp load{at, 0, sizeof(T), true, 0};
                cpu::queue_list({&load, 1});
                return static_cast<T>(load.value);
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
    using Access = IoAccess;
    // Runs the accesses in order, as read() and write() would. Inside a Batch in ring 3
    // they queue together: the loads, and the stores before them, take one gate.
    void run(std::span<Access> ops) const {
        if (g_batch_depth == 0 || cpu::in_ring0()) {
            for (Access& op : ops) {
                if (op.write) {
                    write_any(op.offset, op.width, op.value);
                } else {
                    op.value = op.width == 1   ? read<std::uint8_t>(op.offset)
                               : op.width == 2 ? read<std::uint16_t>(op.offset)
                                               : read<std::uint32_t>(op.offset);
                }
            }
            return;
        }
        constexpr std::size_t k_chunk = 32;
        std::array<cpu::MmioOp, k_chunk> batch;
        for (std::size_t start = 0; start < ops.size(); start += k_chunk) {
            std::size_t n = ops.size() - start < k_chunk ? ops.size() - start : k_chunk;
            for (std::size_t i = 0; i < n; ++i) {
                const Access& op = ops[start + i];
                batch[i] = {address_of(op.offset, op.width), op.value, op.width, !op.write, 0};
            }
            cpu::queue_list(std::span(batch).first(n));
            for (std::size_t i = 0; i < n; ++i) {
                if (!ops[start + i].write) ops[start + i].value = batch[i].value;
            }
        }
    }
    // How many Batches are open (a Batch may hold another).
    static inline constinit unsigned g_batch_depth = 0;

    [[nodiscard]] bool valid() const { return m_base != nullptr; }
    [[nodiscard]] std::size_t size() const { return m_size; }

private:
    void write_any(std::size_t offset, std::uint8_t width, std::uint32_t value) const {
        if (width == 1)
            write<std::uint8_t>(offset, static_cast<std::uint8_t>(value));
        else if (width == 2)
            write<std::uint16_t>(offset, static_cast<std::uint16_t>(value));
        else
            write<std::uint32_t>(offset, value);
    }
    [[nodiscard]] volatile void* address_of(std::size_t offset, std::uint8_t width) const {
        if (width == 1) return pointer<std::uint8_t>(offset);
        if (width == 2) return pointer<std::uint16_t>(offset);
        return pointer<std::uint32_t>(offset);
    }
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
