#pragma once
// ACPI tables (ACPI 6.5): finding the RSDP, walking the RSDT/XSDT with checksums checked,
// and reading the FADT. Portable: everything goes through a PhysicalReader.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kernel/physical_reader.hpp"
#include "kernel/result.hpp"

namespace kernel::acpi {

// ACPI 6.5 §5.2.5.3.
struct [[gnu::packed]] Rsdp {
    char signature[8];
    std::uint8_t checksum;
    char oem_id[6];
    std::uint8_t revision;
    std::uint32_t rsdt_address;
    // Revision 2 and later:
    std::uint32_t length;
    std::uint64_t xsdt_address;
    std::uint8_t extended_checksum;
    std::uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

// ACPI 6.5 §5.2.6.
struct [[gnu::packed]] SdtHeader {
    char signature[4];
    std::uint32_t length;
    std::uint8_t revision;
    std::uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    std::uint32_t oem_revision;
    std::uint32_t creator_id;
    std::uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

enum class Error { NoRsdp, RootTableUnreadable, RootTableChecksum, NoFadt, FadtTooShort, NoSleepState };
const char* to_string(Error error);

struct TableRef {
    std::array<char, 4> signature;
    std::uint64_t address;
    std::uint32_t length;
};

struct Tables {
    static constexpr std::size_t k_max_tables = 64;
    std::uint64_t rsdp_address = 0;
    std::uint8_t revision = 0;
    bool uses_xsdt = false;
    std::array<TableRef, k_max_tables> tables{};
    std::size_t count = 0;
    std::size_t rejected = 0;  // listed, but unreadable or with a bad checksum

    [[nodiscard]] std::optional<TableRef> find(std::string_view signature) const;
};

// Searches the EBDA's first KiB and 0xE0000-0xFFFFF (ACPI 6.5 §5.2.5.1), or starts from
// rsdp_hint when the loader told us where the RSDP is.
Result<Tables, Error> discover(const PhysicalReader& memory, std::optional<std::uint64_t> rsdp_hint = std::nullopt);

// The parts of the FADT (ACPI 6.5 §5.2.9) that this kernel uses.
struct Fadt {
    std::uint64_t dsdt = 0;
    std::uint16_t sci_interrupt = 0;
    std::uint16_t pm1a_control = 0;
    std::uint16_t pm1b_control = 0;
    std::uint16_t pm_timer = 0;
    bool pm_timer_32bit = false;
    std::uint8_t century_register = 0;
};
Result<Fadt, Error> read_fadt(const PhysicalReader& memory, const Tables& tables);

// SLP_TYP values for soft-off, from the DSDT's \_S5 package (ACPI 6.5 §7.4.2).
struct SleepType {
    std::uint16_t a;
    std::uint16_t b;
};
Result<SleepType, Error> find_s5(const PhysicalReader& memory, std::uint64_t dsdt_address);

bool checksum_ok(const PhysicalReader& memory, std::uint64_t address, std::uint32_t length);

}  // namespace kernel::acpi
