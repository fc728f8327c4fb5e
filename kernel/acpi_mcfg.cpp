#include "kernel/acpi_mcfg.hpp"

#include <algorithm>

namespace kernel::acpi {

const char* to_string(McfgError error) {
    switch (error) {
        case McfgError::NoMcfg: return "no MCFG table";
        case McfgError::TooShort: return "MCFG shorter than its fixed part";
        case McfgError::Unreadable: return "MCFG unreadable";
    }
    return "unknown MCFG error";
}

std::optional<EcamRegion> Mcfg::find(std::uint16_t segment, std::uint8_t bus) const {
    for (std::size_t i = 0; i < count; ++i) {
        if (regions[i].contains(segment, bus)) return regions[i];
    }
    return std::nullopt;
}

Result<Mcfg, McfgError> read_mcfg(const PhysicalReader& memory, const Tables& tables) {
    auto ref = tables.find("MCFG");
    if (!ref) return err(McfgError::NoMcfg);
    return parse_mcfg(memory, *ref);
}

Result<Mcfg, McfgError> parse_mcfg(const PhysicalReader& memory, const TableRef& table) {
    if (table.length < sizeof(McfgHeader)) return err(McfgError::TooShort);
    auto header = memory.read_object<McfgHeader>(table.address);
    if (!header) return err(McfgError::Unreadable);
    std::uint32_t length = std::min(table.length, header->header.length);
    if (length < sizeof(McfgHeader)) return err(McfgError::TooShort);

    Mcfg mcfg;
    std::uint32_t entries = (length - static_cast<std::uint32_t>(sizeof(McfgHeader))) / sizeof(McfgAllocation);
    if ((length - sizeof(McfgHeader)) % sizeof(McfgAllocation) != 0) ++mcfg.malformed;
    for (std::uint32_t i = 0; i < entries; ++i) {
        auto entry =
            memory.read_object<McfgAllocation>(table.address + sizeof(McfgHeader) + i * sizeof(McfgAllocation));
        if (!entry) {
            ++mcfg.malformed;
            break;
        }
        // Each bus takes 1 MiB, so a region's base is 1 MiB aligned (PCIe 6.0 §7.2.2).
        constexpr std::uint64_t k_bus_size = 1u << 20;
        if (entry->end_bus < entry->start_bus || entry->base == 0 || entry->base % k_bus_size != 0) {
            ++mcfg.malformed;
            continue;
        }
        if (mcfg.count == mcfg.regions.size()) {
            ++mcfg.dropped;
            continue;
        }
        mcfg.regions[mcfg.count++] = {entry->base, entry->segment, entry->start_bus, entry->end_bus};
    }
    return mcfg;
}

}  // namespace kernel::acpi
