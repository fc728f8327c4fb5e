#include "pci/port_config_space.hpp"

#include "kernel/cpu.hpp"

namespace pci {
namespace {

constexpr std::uint16_t k_config_address = 0xCF8;
constexpr std::uint16_t k_config_data = 0xCFC;

// §3.2.2.3.2, figure 3-2: enable bit, bus, device, function, dword-aligned register.
constexpr std::uint32_t k_enable = 1u << 31;

std::uint32_t config_address(Address address, std::uint16_t offset) {
    return k_enable | std::uint32_t{address.bus} << 16 | std::uint32_t{address.device} << 11 |
           std::uint32_t{address.function} << 8 | (offset & 0xFCu);
}

std::uint16_t data_port(std::uint16_t offset) { return static_cast<std::uint16_t>(k_config_data + (offset & 3u)); }

}  // namespace

// The data port is CFC plus the offset's low two bits.
std::uint32_t PortConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) return kernel::cpu::in(port, width);
    m_selected = selector;
    return kernel::cpu::select_and_read(k_config_address, selector, port, width);
}

void PortConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) {
        kernel::cpu::out(port, width, value);
        return;
    }
    m_selected = selector;
    kernel::cpu::select_and_write(k_config_address, selector, port, width, value);
}

// The whole list through one gate: CF8, then CFC, for each entry.
void PortConfigSpace::read_dwords_raw(std::span<const ConfigDword> which, std::span<std::uint32_t> values) {
    if (which.empty()) return;
    for (std::size_t i = 0; i < which.size(); ++i) values[i] = config_address(which[i].address, which[i].offset);
    m_selected = values[which.size() - 1];
    kernel::cpu::select_and_read32_list(k_config_address, k_config_data, values.first(which.size()));
}

}  // namespace pci
