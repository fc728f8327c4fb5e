#include "pci/ecam_window.hpp"

#include <algorithm>

#include "kernel/memory.hpp"

namespace pci {

EcamWindow::EcamWindow(std::uint64_t physical, std::size_t size)
    : m_physical(physical),
      m_size(std::min(size, k_max_size)),
      m_window(reinterpret_cast<volatile std::byte*>(physical), m_size) {}

bool EcamWindow::ensure_mapped(std::size_t offset) {
    std::uint64_t aligned_base = m_physical & ~std::uint64_t{k_chunk - 1};
    std::uint64_t address = m_physical + offset;
    std::size_t chunk = static_cast<std::size_t>((address - aligned_base) / k_chunk);
    if (m_mapped[chunk]) return true;
    // The chunk, cut to the region: memory next to ECAM may be RAM, which must stay cached.
    std::uint64_t begin = std::max(aligned_base + chunk * k_chunk, m_physical);
    std::uint64_t end = std::min(aligned_base + (chunk + 1) * k_chunk, m_physical + m_size);
    if (!kernel::memory::map_mmio(begin, end - begin)) return false;
    m_mapped[chunk] = true;
    return true;
}

std::uint32_t EcamWindow::read_raw(std::size_t offset, unsigned width) {
    if (!ensure_mapped(offset)) return ~0u;
    switch (width) {
        case 1: return m_window.read<std::uint8_t>(offset);
        case 2: return m_window.read<std::uint16_t>(offset);
        default: return m_window.read<std::uint32_t>(offset);
    }
}

void EcamWindow::write_raw(std::size_t offset, unsigned width, std::uint32_t value) {
    if (!ensure_mapped(offset)) return;
    switch (width) {
        case 1: m_window.write<std::uint8_t>(offset, static_cast<std::uint8_t>(value)); break;
        case 2: m_window.write<std::uint16_t>(offset, static_cast<std::uint16_t>(value)); break;
        default: m_window.write<std::uint32_t>(offset, value); break;
    }
}

}  // namespace pci
