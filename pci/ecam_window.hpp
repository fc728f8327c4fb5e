#pragma once
// The ECAM region as an IoWindow that maps itself two buses (2 MiB) at a time, on first
// touch. A q35 machine lists 256 buses, 256 MiB, and uses one or two of them; mapping all
// of it up front costs tens of milliseconds where every instruction of the page-table code
// is emulated (docs/kvm-on-this-host.md). Kernel only.

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernel/mmio.hpp"
#include "pci/io_window.hpp"

namespace pci {

class EcamWindow final : public IoWindow {
public:
    static constexpr std::size_t k_chunk = 2u << 20;
    static constexpr std::size_t k_max_size = 256u << 20;  // 256 buses of 1 MiB

    EcamWindow() = default;
    // physical is 1 MiB aligned (PCIe 6.0 §7.2.2); size at most k_max_size.
    EcamWindow(std::uint64_t physical, std::size_t size);

    [[nodiscard]] std::size_t size() const override { return m_size; }

protected:
    std::uint32_t read_raw(std::size_t offset, unsigned width) override;
    void write_raw(std::size_t offset, unsigned width, std::uint32_t value) override;

private:
    // Maps the chunk holding `offset` if it is not mapped yet; false if it cannot be.
    bool ensure_mapped(std::size_t offset);

    std::uint64_t m_physical = 0;
    std::size_t m_size = 0;
    kernel::MmioWindow m_window;
    // Chunks are counted from the 2 MiB boundary at or below m_physical.
    std::array<bool, k_max_size / k_chunk + 1> m_mapped{};
};

}  // namespace pci
