#pragma once
// A window onto device memory (MMIO), in the spirit of SerenityOS's IOWindow: the one
// place where drivers' register accesses become volatile loads and stores. The width of
// an access is its type, so a 32-bit register is never touched with a byte access (the
// local APIC and the I/O APIC only decode aligned 32-bit accesses).

#include <algorithm>
#include <array>
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
        return *pointer<T>(offset);
    }
    template <typename T>
    void write(std::size_t offset, T value) const {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        *pointer<T>(offset) = value;
    }
    // 32-bit writes in order, in batches of 64: one gate each where the kernel runs in ring
    // 3 (cpu::store32_list), for a run of register writes such as masking an I/O APIC.
    struct Write32 {
        std::size_t offset;
        std::uint32_t value;
    };
    void write32_list(std::span<const Write32> writes) const {
        std::array<cpu::Store32, 64> stores;
        while (!writes.empty()) {
            std::size_t count = std::min(writes.size(), stores.size());
            for (std::size_t i = 0; i < count; ++i)
                stores[i] = {pointer<std::uint32_t>(writes[i].offset), writes[i].value};
            cpu::store32_list(std::span(stores).first(count));
            writes = writes.subspan(count);
        }
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
