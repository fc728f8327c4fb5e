#include "pci/capability.hpp"

#include <array>

#include "pci/registers.hpp"

namespace pci {
namespace {

constexpr std::uint8_t k_first_position = 0x40;  // §6.7: capabilities live after the header
constexpr std::uint8_t k_pointer_mask = 0xFC;    // §6.7: the bottom two bits are reserved

}  // namespace

const char* to_string(CapabilityProblem problem) {
    switch (problem) {
        case CapabilityProblem::None: return "none";
        case CapabilityProblem::Loop: return "the capability list loops";
        case CapabilityProblem::OutOfRange: return "a capability pointer points into the header";
        case CapabilityProblem::TooMany: return "more capabilities than fit";
    }
    return "?";
}

std::optional<Capability> CapabilityList::find(std::uint8_t id, std::size_t from) const {
    for (std::size_t i = from; i < m_count; ++i) {
        if (m_entries[i].id == id) return m_entries[i];
    }
    return std::nullopt;
}

CapabilityList CapabilityList::read(ConfigSpace& config, Address address) {
    CapabilityList list;
    // PCI 3.0 §6.7: the list exists when the status register says so, and starts at the
    // capabilities pointer.
    if ((config.read(address, regs::k_status) & status::k_capabilities_list) == 0) return list;
    std::array<bool, k_max> seen{};
    auto pointer = static_cast<std::uint8_t>(config.read(address, regs::k_capabilities_pointer) & k_pointer_mask);
    while (pointer != 0) {
        if (pointer < k_first_position) {
            list.m_problem = CapabilityProblem::OutOfRange;
            break;
        }
        std::size_t slot = (pointer - k_first_position) / 4u;
        if (seen[slot]) {
            list.m_problem = CapabilityProblem::Loop;
            break;
        }
        if (list.m_count == k_max) {  // cannot happen with the seen set; kept as a bound
            list.m_problem = CapabilityProblem::TooMany;
            break;
        }
        seen[slot] = true;
        std::uint32_t header = config.read<std::uint32_t>(address, pointer);
        list.m_entries[list.m_count++] = {static_cast<std::uint8_t>(header & 0xFF), pointer,
                                          static_cast<std::uint16_t>(header >> 16)};
        pointer = static_cast<std::uint8_t>((header >> 8) & k_pointer_mask);
    }
    return list;
}

}  // namespace pci
