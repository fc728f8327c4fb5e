#include "pci/ecam_config_space.hpp"

namespace pci {

std::uint32_t EcamConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    std::size_t at = offset_of(address, offset);
    switch (width) {
        case 1: return m_window->read<std::uint8_t>(at);
        case 2: return m_window->read<std::uint16_t>(at);
        default: return m_window->read<std::uint32_t>(at);
    }
}

void EcamConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    std::size_t at = offset_of(address, offset);
    switch (width) {
        case 1: m_window->write<std::uint8_t>(at, static_cast<std::uint8_t>(value)); break;
        case 2: m_window->write<std::uint16_t>(at, static_cast<std::uint16_t>(value)); break;
        default: m_window->write<std::uint32_t>(at, value); break;
    }
}

}  // namespace pci
