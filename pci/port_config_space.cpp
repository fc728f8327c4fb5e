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

}  // namespace

// One vCPU and no configuration access from interrupt handlers: the address/data pair
// needs no lock. The data port is CFC plus the offset's low two bits.
std::uint32_t PortConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    return kernel::cpu::select_and_read(k_config_address, config_address(address, offset),
                                        static_cast<std::uint16_t>(k_config_data + (offset & 3u)), width);
}

void PortConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    kernel::cpu::select_and_write(k_config_address, config_address(address, offset),
                                  static_cast<std::uint16_t>(k_config_data + (offset & 3u)), width, value);
}

}  // namespace pci
