#pragma once
// The MADT (ACPI 6.5 §5.2.12, signature "APIC"): where the local APIC and the I/O APICs
// are, how ISA IRQs map onto global system interrupts, and which pins carry NMIs.
// Portable: read through a PhysicalReader, so host tests parse hand-built tables.
//
// Every entry's length is checked against its type and against the table before any
// field is read. Entries that do not fit the fixed-capacity lists are counted, not lost
// silently; a zero or overlong entry length ends the walk with a counted error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/acpi.hpp"
#include "kernel/physical_reader.hpp"
#include "kernel/result.hpp"

namespace kernel::acpi {

// ACPI 6.5 table 5.19: the MADT's fixed part, after the common header.
struct [[gnu::packed]] MadtHeader {
    SdtHeader header;
    std::uint32_t local_apic_address;
    std::uint32_t flags;
};
static_assert(sizeof(MadtHeader) == 44);

// ACPI 6.5 table 5.20: the two bytes that start every interrupt controller structure.
struct [[gnu::packed]] MadtEntryHeader {
    std::uint8_t type;
    std::uint8_t length;
};
static_assert(sizeof(MadtEntryHeader) == 2);

namespace madt {

// ACPI 6.5 table 5.20.
enum class EntryType : std::uint8_t {
    LocalApic = 0,
    IoApic = 1,
    InterruptSourceOverride = 2,
    NmiSource = 3,
    LocalApicNmi = 4,
    LocalApicAddressOverride = 5,
    LocalX2Apic = 9,
    LocalX2ApicNmi = 10,
};

// ACPI 6.5 §5.2.12.2, table 5.22.
struct [[gnu::packed]] LocalApicEntry {
    MadtEntryHeader header;
    std::uint8_t processor_uid;
    std::uint8_t apic_id;
    std::uint32_t flags;
};
static_assert(sizeof(LocalApicEntry) == 8);

// ACPI 6.5 §5.2.12.3, table 5.24.
struct [[gnu::packed]] IoApicEntry {
    MadtEntryHeader header;
    std::uint8_t io_apic_id;
    std::uint8_t reserved;
    std::uint32_t address;
    std::uint32_t gsi_base;
};
static_assert(sizeof(IoApicEntry) == 12);

// ACPI 6.5 §5.2.12.5, table 5.25.
struct [[gnu::packed]] InterruptSourceOverrideEntry {
    MadtEntryHeader header;
    std::uint8_t bus;
    std::uint8_t source;
    std::uint32_t gsi;
    std::uint16_t flags;
};
static_assert(sizeof(InterruptSourceOverrideEntry) == 10);

// ACPI 6.5 §5.2.12.6, table 5.27.
struct [[gnu::packed]] NmiSourceEntry {
    MadtEntryHeader header;
    std::uint16_t flags;
    std::uint32_t gsi;
};
static_assert(sizeof(NmiSourceEntry) == 8);

// ACPI 6.5 §5.2.12.7, table 5.28.
struct [[gnu::packed]] LocalApicNmiEntry {
    MadtEntryHeader header;
    std::uint8_t processor_uid;
    std::uint16_t flags;
    std::uint8_t lint;
};
static_assert(sizeof(LocalApicNmiEntry) == 6);

// ACPI 6.5 §5.2.12.8, table 5.29.
struct [[gnu::packed]] LocalApicAddressOverrideEntry {
    MadtEntryHeader header;
    std::uint16_t reserved;
    std::uint64_t address;
};
static_assert(sizeof(LocalApicAddressOverrideEntry) == 12);

// ACPI 6.5 §5.2.12.12, table 5.37.
struct [[gnu::packed]] LocalX2ApicEntry {
    MadtEntryHeader header;
    std::uint16_t reserved;
    std::uint32_t x2apic_id;
    std::uint32_t flags;
    std::uint32_t processor_uid;
};
static_assert(sizeof(LocalX2ApicEntry) == 16);

// ACPI 6.5 §5.2.12.13, table 5.38.
struct [[gnu::packed]] LocalX2ApicNmiEntry {
    MadtEntryHeader header;
    std::uint16_t flags;
    std::uint32_t processor_uid;
    std::uint8_t lint;
    std::uint8_t reserved[3];
};
static_assert(sizeof(LocalX2ApicNmiEntry) == 12);

constexpr std::uint32_t k_flag_pcat_compat = 1u << 0;   // table 5.21: 8259 PICs present
constexpr std::uint32_t k_processor_enabled = 1u << 0;  // table 5.23
constexpr std::uint32_t k_processor_online_capable = 1u << 1;
// A processor UID that means "every processor" in the NMI structures (tables 5.28, 5.38).
constexpr std::uint32_t k_all_processors = 0xFFFF'FFFF;

// MPS INTI flags, ACPI 6.5 table 5.26: bits 1:0 polarity, bits 3:2 trigger mode. "Conforms"
// means the bus's own default (ISA: active high, edge).
enum class Polarity : std::uint8_t { Conforms = 0, ActiveHigh = 1, Reserved = 2, ActiveLow = 3 };
enum class TriggerMode : std::uint8_t { Conforms = 0, Edge = 1, Reserved = 2, Level = 3 };

struct InterruptFlags {
    Polarity polarity = Polarity::Conforms;
    TriggerMode trigger = TriggerMode::Conforms;
};
constexpr InterruptFlags decode_flags(std::uint16_t flags) {
    return {static_cast<Polarity>(flags & 0x3), static_cast<TriggerMode>((flags >> 2) & 0x3)};
}

struct Processor {
    std::uint32_t processor_uid;
    std::uint32_t apic_id;
    bool x2apic_entry;
};

struct IoApic {
    std::uint8_t id;
    std::uint64_t address;
    std::uint32_t gsi_base;
};

// ISA IRQ `source` arrives on global system interrupt `gsi` with these flags.
struct InterruptOverride {
    std::uint8_t bus;  // 0: ISA, the only value ACPI 6.5 allows
    std::uint8_t source;
    std::uint32_t gsi;
    InterruptFlags flags;
};

struct NmiSource {
    std::uint32_t gsi;
    InterruptFlags flags;
};

// Which local APIC LINT pin carries an NMI, for one processor or all of them.
struct LocalApicNmi {
    std::uint32_t processor_uid;  // k_all_processors for every processor
    std::uint8_t lint;
    InterruptFlags flags;
};

}  // namespace madt

struct Madt {
    static constexpr std::size_t k_max_processors = 64;
    static constexpr std::size_t k_max_io_apics = 8;
    static constexpr std::size_t k_max_overrides = 32;
    static constexpr std::size_t k_max_nmi_sources = 8;
    static constexpr std::size_t k_max_local_apic_nmis = 8;

    std::uint64_t local_apic_address = 0;  // the 64-bit override when there is one
    bool pcat_compat = false;

    // Usable processors (enabled or online capable) are counted in full; the first
    // k_max_processors of them are listed.
    std::size_t processor_count = 0;
    std::size_t disabled_processor_count = 0;
    std::array<madt::Processor, k_max_processors> processors{};

    std::array<madt::IoApic, k_max_io_apics> io_apics{};
    std::size_t io_apic_count = 0;
    std::array<madt::InterruptOverride, k_max_overrides> overrides{};
    std::size_t override_count = 0;
    std::array<madt::NmiSource, k_max_nmi_sources> nmi_sources{};
    std::size_t nmi_source_count = 0;
    std::array<madt::LocalApicNmi, k_max_local_apic_nmis> local_apic_nmis{};
    std::size_t local_apic_nmi_count = 0;

    std::size_t dropped = 0;    // well-formed entries that did not fit a list above
    std::size_t malformed = 0;  // entries too short for their type, and a bad length that ended the walk
    std::size_t unknown = 0;    // entry types this kernel does not use (skipped by their length)
    bool truncated = false;     // the walk stopped before the end of the table

    // The override for an ISA IRQ, if the firmware gave one.
    [[nodiscard]] std::optional<madt::InterruptOverride> override_for_irq(std::uint8_t irq) const;
    // The I/O APIC whose inputs start at or below gsi, nearest to it: the one that owns gsi
    // if gsi is within its pin count (which only the I/O APIC itself knows).
    [[nodiscard]] std::optional<madt::IoApic> io_apic_below(std::uint32_t gsi) const;
    // The processor UID of the processor with this APIC ID, if listed.
    [[nodiscard]] std::optional<std::uint32_t> processor_uid_of(std::uint32_t apic_id) const;
};

enum class MadtError { NoMadt, TooShort, Unreadable };
const char* to_string(MadtError error);

// Parses the MADT listed in tables (whose checksum discover() has already checked).
Result<Madt, MadtError> read_madt(const PhysicalReader& memory, const Tables& tables);
// Parses a MADT at a known place.
Result<Madt, MadtError> parse_madt(const PhysicalReader& memory, const TableRef& table);

}  // namespace kernel::acpi
