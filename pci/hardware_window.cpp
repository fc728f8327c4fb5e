#include "pci/hardware_window.hpp"

#include "kernel/cpu.hpp"
#include "kernel/memory.hpp"

namespace pci {
namespace {

constexpr std::uint64_t k_port_space = 0x10000;

}  // namespace

const char* to_string(MapError error) {
    switch (error) {
        case MapError::Unassigned: return "the BAR has no address";
        case MapError::OutsideBar: return "the registers do not fit in the BAR";
        case MapError::NoMapping: return "the page tables cannot map the BAR";
        case MapError::BadPorts: return "the I/O range runs past port 0xFFFF";
    }
    return "unknown mapping error";
}

kernel::Result<HardwareWindow, MapError> HardwareWindow::map(const Bar& bar, std::uint64_t offset,
                                                             std::uint64_t length) {
    if (!bar.assigned()) return kernel::err(MapError::Unassigned);
    if (!bar.covers(offset, length)) return kernel::err(MapError::OutsideBar);
    if (bar.is_memory()) return map_memory(bar.address + offset, length);
    std::uint64_t port = bar.address + offset;
    if (port >= k_port_space || length > k_port_space - port) return kernel::err(MapError::BadPorts);
    HardwareWindow window;
    window.m_io = true;
    window.m_port = static_cast<std::uint16_t>(port);
    window.m_size = static_cast<std::size_t>(length);
    return window;
}

kernel::Result<HardwareWindow, MapError> HardwareWindow::map_memory(std::uint64_t physical, std::uint64_t length) {
    auto mapped = kernel::memory::map_mmio(physical, length);
    if (!mapped) return kernel::err(MapError::NoMapping);
    HardwareWindow window;
    window.m_memory = kernel::MmioWindow(*mapped, static_cast<std::size_t>(length));
    window.m_size = static_cast<std::size_t>(length);
    return window;
}

std::uint32_t HardwareWindow::read_raw(std::size_t offset, unsigned width) {
    if (m_io) {
        return kernel::cpu::read_port(static_cast<std::uint16_t>(m_port + offset), width);
    }
    switch (width) {
        case 1: return m_memory.read<std::uint8_t>(offset);
        case 2: return m_memory.read<std::uint16_t>(offset);
        default: return m_memory.read<std::uint32_t>(offset);
    }
}

void HardwareWindow::write_raw(std::size_t offset, unsigned width, std::uint32_t value) {
    if (m_io) {
        kernel::cpu::write_port(static_cast<std::uint16_t>(m_port + offset), width, value);
        return;
    }
    switch (width) {
        case 1: m_memory.write<std::uint8_t>(offset, static_cast<std::uint8_t>(value)); break;
        case 2: m_memory.write<std::uint16_t>(offset, static_cast<std::uint16_t>(value)); break;
        default: m_memory.write<std::uint32_t>(offset, value); break;
    }
}

void HardwareWindow::notify_raw(std::size_t offset, unsigned width, std::uint32_t value) {
    if (m_io) {
        // A port write is never deferred; its gate runs what waits first.
        kernel::cpu::out(static_cast<std::uint16_t>(m_port + offset), width, value);
        return;
    }
    switch (width) {
        case 1: m_memory.write_now<std::uint8_t>(offset, static_cast<std::uint8_t>(value)); break;
        case 2: m_memory.write_now<std::uint16_t>(offset, static_cast<std::uint16_t>(value)); break;
        default: m_memory.write_now<std::uint32_t>(offset, value); break;
    }
}

}  // namespace pci
