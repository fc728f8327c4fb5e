#pragma once
// The MCFG table (PCI Firmware Specification 3.3 §4.1.2, signature "MCFG"): where each PCI
// segment's memory-mapped configuration space (ECAM) lives. Portable: read through a
// PhysicalReader. The PCI layer uses it; without an MCFG it falls back to ports CF8/CFC.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/acpi.hpp"
#include "kernel/physical_reader.hpp"
#include "kernel/result.hpp"

namespace kernel::acpi {

// PCI Firmware 3.3 table 4-2: the common header, then 8 reserved bytes.
struct [[gnu::packed]] McfgHeader {
    SdtHeader header;
    std::uint8_t reserved[8];
};
static_assert(sizeof(McfgHeader) == 44);

// PCI Firmware 3.3 table 4-3: one configuration space base address allocation.
struct [[gnu::packed]] McfgAllocation {
    std::uint64_t base;
    std::uint16_t segment;
    std::uint8_t start_bus;
    std::uint8_t end_bus;
    std::uint32_t reserved;
};
static_assert(sizeof(McfgAllocation) == 16);

struct EcamRegion {
    // Where bus 0 of the segment would be (PCIe 6.0 §7.2.2): the function at bus b,
    // device d, function f has its 4 KiB at base + (b << 20 | d << 15 | f << 12), even
    // when the region starts at a later bus.
    std::uint64_t base = 0;
    std::uint16_t segment = 0;
    std::uint8_t start_bus = 0;
    std::uint8_t end_bus = 0;

    [[nodiscard]] constexpr bool contains(std::uint16_t seg, std::uint8_t bus) const {
        return seg == segment && bus >= start_bus && bus <= end_bus;
    }
    // The physical range that actually holds this region's buses.
    [[nodiscard]] constexpr std::uint64_t first_address() const { return base + (std::uint64_t{start_bus} << 20); }
    [[nodiscard]] constexpr std::uint64_t size() const { return (std::uint64_t{end_bus} - start_bus + 1) << 20; }
};

struct Mcfg {
    static constexpr std::size_t k_max_regions = 16;
    std::array<EcamRegion, k_max_regions> regions{};
    std::size_t count = 0;
    std::size_t dropped = 0;    // valid regions past k_max_regions
    std::size_t malformed = 0;  // end bus before start bus, a base not 1 MiB aligned, a partial entry

    [[nodiscard]] std::optional<EcamRegion> find(std::uint16_t segment, std::uint8_t bus) const;
};

enum class McfgError { NoMcfg, TooShort, Unreadable };
const char* to_string(McfgError error);

// Parses the MCFG listed in tables (whose checksum discover() has already checked).
Result<Mcfg, McfgError> read_mcfg(const PhysicalReader& memory, const Tables& tables);
Result<Mcfg, McfgError> parse_mcfg(const PhysicalReader& memory, const TableRef& table);

}  // namespace kernel::acpi
