#pragma once
// The capability list (PCI Local Bus 3.0 §6.7): a linked list through configuration space
// that the device itself writes, so it is walked with care. Every pointer must land in the
// device-specific part of the header (0x40-0xFF) on a 4-byte boundary, and each position
// may be visited once: a list that loops or points outside ends the walk, with the
// capabilities found so far kept and the problem recorded.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pci/config_space.hpp"

namespace pci {

struct Capability {
    std::uint8_t id = 0;
    std::uint8_t offset = 0;  // of the ID byte; the next pointer follows it
    // The capability's bytes 2 and 3, read with its ID and pointer in one dword (a
    // vendor-specific capability's length and, for virtio, its structure type).
    std::uint16_t upper = 0;
};

enum class CapabilityProblem : std::uint8_t {
    None,
    Loop,        // a pointer led back to a capability already seen
    OutOfRange,  // a pointer below 0x40 (into the standard header)
    TooMany,     // more entries than the 0x40-0xFF space can hold
};
const char* to_string(CapabilityProblem problem);

class CapabilityList {
public:
    // At most one capability per dword of 0x40-0xFF.
    static constexpr std::size_t k_max = (256 - 0x40) / 4;

    [[nodiscard]] std::span<const Capability> all() const { return {m_entries.data(), m_count}; }
    [[nodiscard]] std::size_t size() const { return m_count; }
    [[nodiscard]] CapabilityProblem problem() const { return m_problem; }
    // The first capability with this ID at or after position `from` of all().
    [[nodiscard]] std::optional<Capability> find(std::uint8_t id, std::size_t from = 0) const;

    // Walks the list of the function at `address` (headers of type 0 and 1).
    static CapabilityList read(ConfigSpace& config, Address address);

private:
    std::array<Capability, k_max> m_entries{};
    std::size_t m_count = 0;
    CapabilityProblem m_problem = CapabilityProblem::None;
};

}  // namespace pci
