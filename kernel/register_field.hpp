#pragma once
// A field of a 32-bit hardware register: `width` bits from bit `shift`. Register maps
// (apic/local_apic_registers.hpp, pci/registers.hpp) name their fields with these, so a
// field is read and written by name, never by a mask written out at the call.

#include <cstdint>

namespace kernel {

struct RegisterField {
    std::uint8_t shift;
    std::uint8_t width;

    [[nodiscard]] constexpr std::uint32_t mask() const { return (width >= 32 ? ~0u : ((1u << width) - 1u)) << shift; }
    [[nodiscard]] constexpr std::uint32_t get(std::uint32_t value) const { return (value & mask()) >> shift; }
    [[nodiscard]] constexpr std::uint32_t with(std::uint32_t value, std::uint32_t field) const {
        return (value & ~mask()) | ((field << shift) & mask());
    }
};

}  // namespace kernel
