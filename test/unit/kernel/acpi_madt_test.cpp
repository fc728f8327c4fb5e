#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "kernel/acpi_madt.hpp"

using namespace kernel::acpi;

namespace {

constexpr std::uint64_t k_base = 0x7FE0000;

// A MADT built byte by byte, so tests can write entries the structs could not express.
struct MadtBuilder {
    std::vector<std::byte> bytes;

    explicit MadtBuilder(std::uint32_t local_apic = 0xFEE00000, std::uint32_t flags = madt::k_flag_pcat_compat) {
        MadtHeader h{};
        std::memcpy(h.header.signature, "APIC", 4);
        h.local_apic_address = local_apic;
        h.flags = flags;
        raw(&h, sizeof h);
    }
    void raw(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::byte*>(data);
        bytes.insert(bytes.end(), p, p + size);
    }
    void raw(std::initializer_list<std::uint8_t> values) {
        for (auto v : values) bytes.push_back(std::byte{v});
    }
    template <typename T>
    void entry(madt::EntryType type, T value) {
        value.header = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(sizeof(T))};
        raw(&value, sizeof value);
    }
    void local_apic(std::uint8_t uid, std::uint8_t id, std::uint32_t flags = madt::k_processor_enabled) {
        entry(madt::EntryType::LocalApic, madt::LocalApicEntry{{}, uid, id, flags});
    }
    void io_apic(std::uint8_t id, std::uint32_t address, std::uint32_t gsi_base) {
        entry(madt::EntryType::IoApic, madt::IoApicEntry{{}, id, 0, address, gsi_base});
    }
    void source_override(std::uint8_t irq, std::uint32_t gsi, std::uint16_t flags) {
        entry(madt::EntryType::InterruptSourceOverride, madt::InterruptSourceOverrideEntry{{}, 0, irq, gsi, flags});
    }
    // Sets the header's length to the bytes written so far.
    TableRef finish() {
        auto length = static_cast<std::uint32_t>(bytes.size());
        std::memcpy(bytes.data() + offsetof(SdtHeader, length), &length, 4);
        return {{'A', 'P', 'I', 'C'}, k_base, length};
    }
    // Exactly the table's bytes: a read past its end fails.
    [[nodiscard]] kernel::SpanReader reader() const { return kernel::SpanReader(k_base, bytes); }
};

// What QEMU's pc machine gives one vCPU (hw/i386/acpi-common.c).
MadtBuilder qemu_pc() {
    MadtBuilder b;
    b.local_apic(0, 0);
    b.io_apic(0, 0xFEC00000, 0);
    b.source_override(0, 2, 0);
    for (std::uint8_t irq : {std::uint8_t{5}, std::uint8_t{9}, std::uint8_t{10}, std::uint8_t{11}})
        b.source_override(irq, irq, 0xD);  // level, active high
    b.entry(madt::EntryType::LocalApicNmi, madt::LocalApicNmiEntry{{}, 0xFF, 0, 1});
    return b;
}

}  // namespace

TEST_CASE("madt: QEMU's table for one vCPU") {
    auto b = qemu_pc();
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->local_apic_address == 0xFEE00000);
    CHECK(madt->pcat_compat);
    CHECK(madt->processor_count == 1);
    CHECK(madt->disabled_processor_count == 0);
    CHECK(madt->processors[0].apic_id == 0);
    CHECK_FALSE(madt->processors[0].x2apic_entry);
    REQUIRE(madt->io_apic_count == 1);
    CHECK(madt->io_apics[0].address == 0xFEC00000);
    CHECK(madt->io_apics[0].gsi_base == 0);
    CHECK(madt->override_count == 5);
    CHECK(madt->malformed == 0);
    CHECK(madt->dropped == 0);
    CHECK(madt->unknown == 0);
    CHECK_FALSE(madt->truncated);

    auto timer = madt->override_for_irq(0);
    REQUIRE(timer);
    CHECK(timer->gsi == 2);
    CHECK(timer->flags.polarity == madt::Polarity::Conforms);
    CHECK(timer->flags.trigger == madt::TriggerMode::Conforms);
    auto sci = madt->override_for_irq(9);
    REQUIRE(sci);
    CHECK(sci->gsi == 9);
    CHECK(sci->flags.polarity == madt::Polarity::ActiveHigh);
    CHECK(sci->flags.trigger == madt::TriggerMode::Level);
    CHECK_FALSE(madt->override_for_irq(1).has_value());

    REQUIRE(madt->local_apic_nmi_count == 1);
    CHECK(madt->local_apic_nmis[0].processor_uid == madt::k_all_processors);
    CHECK(madt->local_apic_nmis[0].lint == 1);
    CHECK(madt->processor_uid_of(0) == 0u);
    CHECK_FALSE(madt->processor_uid_of(7).has_value());
}

TEST_CASE("madt: found through the root table's list") {
    auto b = qemu_pc();
    Tables tables;
    tables.tables[0] = b.finish();
    tables.count = 1;
    CHECK(read_madt(b.reader(), tables)->io_apic_count == 1);
    Tables empty;
    CHECK(read_madt(b.reader(), empty).error() == MadtError::NoMadt);
}

TEST_CASE("madt: x2APIC processors, the 64-bit address override, NMI sources") {
    MadtBuilder b(0xFEE00000, 0);
    b.entry(madt::EntryType::LocalX2Apic, madt::LocalX2ApicEntry{{}, 0, 300, madt::k_processor_enabled, 7});
    b.entry(madt::EntryType::LocalX2Apic, madt::LocalX2ApicEntry{{}, 0, 301, madt::k_processor_online_capable, 8});
    b.local_apic(9, 12, 0);  // neither enabled nor online capable
    b.entry(madt::EntryType::LocalApicAddressOverride, madt::LocalApicAddressOverrideEntry{{}, 0, 0x1'0000'0000});
    b.entry(madt::EntryType::NmiSource, madt::NmiSourceEntry{{}, 0xF, 23});  // level, active low
    b.entry(madt::EntryType::LocalX2ApicNmi, madt::LocalX2ApicNmiEntry{{}, 0x5, 7, 0, {}});
    b.io_apic(1, 0xFEC00000, 0);
    b.io_apic(2, 0xFEC01000, 24);
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK_FALSE(madt->pcat_compat);
    CHECK(madt->local_apic_address == 0x1'0000'0000);
    CHECK(madt->processor_count == 2);
    CHECK(madt->disabled_processor_count == 1);
    CHECK(madt->processors[0].apic_id == 300);
    CHECK(madt->processors[0].x2apic_entry);
    CHECK(madt->processor_uid_of(301) == 8u);
    REQUIRE(madt->nmi_source_count == 1);
    CHECK(madt->nmi_sources[0].gsi == 23);
    CHECK(madt->nmi_sources[0].flags.polarity == madt::Polarity::ActiveLow);
    CHECK(madt->nmi_sources[0].flags.trigger == madt::TriggerMode::Level);
    REQUIRE(madt->local_apic_nmi_count == 1);
    CHECK(madt->local_apic_nmis[0].processor_uid == 7);
    CHECK(madt->local_apic_nmis[0].lint == 0);
    CHECK(madt->local_apic_nmis[0].flags.trigger == madt::TriggerMode::Edge);

    CHECK(madt->io_apic_below(0)->id == 1);
    CHECK(madt->io_apic_below(23)->id == 1);
    CHECK(madt->io_apic_below(24)->id == 2);
    CHECK(madt->io_apic_below(100)->id == 2);
}

TEST_CASE("madt: a zero entry length ends the walk instead of looping") {
    auto b = qemu_pc();
    b.raw({0, 0, 0, 0, 0, 0, 0, 0});
    b.local_apic(1, 1);  // after the bad entry: never reached
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->truncated);
    CHECK(madt->malformed == 1);
    CHECK(madt->processor_count == 1);
    CHECK(madt->override_count == 5);  // what came before is kept

    MadtBuilder one;
    one.raw({static_cast<std::uint8_t>(madt::EntryType::IoApic), 1, 0, 0});  // length 1: shorter than a header
    auto ref1 = one.finish();
    auto madt1 = parse_madt(one.reader(), ref1);
    REQUIRE(madt1);
    CHECK(madt1->truncated);
    CHECK(madt1->malformed == 1);
}

TEST_CASE("madt: an entry running past the table ends the walk without reading past it") {
    auto b = qemu_pc();
    b.raw({static_cast<std::uint8_t>(madt::EntryType::IoApic), 12, 5, 0, 0, 0});  // says 12 bytes, has 6
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->truncated);
    CHECK(madt->malformed == 1);
    CHECK(madt->io_apic_count == 1);

    // A stray byte after the last entry is malformed, not a reason to read further.
    auto c = qemu_pc();
    c.raw({0x01});
    auto ref_c = c.finish();
    auto madt_c = parse_madt(c.reader(), ref_c);
    REQUIRE(madt_c);
    CHECK(madt_c->malformed == 1);
    CHECK(madt_c->io_apic_count == 1);
}

TEST_CASE("madt: entries too short for their type are skipped; unknown types are passed over") {
    MadtBuilder b;
    b.raw({static_cast<std::uint8_t>(madt::EntryType::IoApic), 8, 3, 0, 0, 0, 0xC0, 0xFE});  // 8 of 12 bytes
    b.raw({static_cast<std::uint8_t>(madt::EntryType::InterruptSourceOverride), 2});
    b.raw({0x7F, 6, 1, 2, 3, 4});  // a type from the future
    b.raw({0x0B, 4, 0, 0});        // a GIC CPU interface: an ARM table on an x86 machine
    b.io_apic(4, 0xFEC00000, 0);   // longer entries than the struct are fine too: see below
    auto long_entry = madt::LocalApicEntry{{static_cast<std::uint8_t>(madt::EntryType::LocalApic), 10}, 2, 3, 1};
    b.raw(&long_entry, sizeof long_entry);
    b.raw({0xAA, 0xBB});  // the two extra bytes a later revision might add
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->malformed == 2);
    CHECK(madt->unknown == 2);
    CHECK_FALSE(madt->truncated);
    REQUIRE(madt->io_apic_count == 1);
    CHECK(madt->io_apics[0].id == 4);
    CHECK(madt->processor_count == 1);
    CHECK(madt->processors[0].apic_id == 3);
}

TEST_CASE("madt: lists have a fixed capacity and count what did not fit") {
    MadtBuilder b;
    for (unsigned i = 0; i < 100; ++i) b.local_apic(static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i));
    for (unsigned i = 0; i < Madt::k_max_overrides + 8; ++i) b.source_override(static_cast<std::uint8_t>(i), i, 0);
    for (unsigned i = 0; i < Madt::k_max_io_apics + 1; ++i) b.io_apic(static_cast<std::uint8_t>(i), 0xFEC00000, i * 24);
    auto ref = b.finish();
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->processor_count == 100);  // counted in full, listed up to capacity
    CHECK(madt->processors[Madt::k_max_processors - 1].apic_id == Madt::k_max_processors - 1);
    CHECK(madt->override_count == Madt::k_max_overrides);
    CHECK(madt->io_apic_count == Madt::k_max_io_apics);
    CHECK(madt->dropped == 8 + 1);
    CHECK(madt->malformed == 0);
}

TEST_CASE("madt: unusable tables are errors with a reason") {
    auto b = qemu_pc();
    auto ref = b.finish();

    TableRef short_ref = ref;
    short_ref.length = 40;
    CHECK(parse_madt(b.reader(), short_ref).error() == MadtError::TooShort);

    TableRef nowhere = ref;
    nowhere.address = 0x10;
    CHECK(parse_madt(b.reader(), nowhere).error() == MadtError::Unreadable);

    // The header says less than the root table did: the header wins, and the walk stops there.
    auto header_length = static_cast<std::uint32_t>(sizeof(MadtHeader) + sizeof(madt::LocalApicEntry));
    std::memcpy(b.bytes.data() + offsetof(SdtHeader, length), &header_length, 4);
    auto madt = parse_madt(b.reader(), ref);
    REQUIRE(madt);
    CHECK(madt->processor_count == 1);
    CHECK(madt->io_apic_count == 0);

    header_length = 20;
    std::memcpy(b.bytes.data() + offsetof(SdtHeader, length), &header_length, 4);
    CHECK(parse_madt(b.reader(), ref).error() == MadtError::TooShort);

    // A root table that claims more than there is: the last read fails, nothing is read past it.
    auto c = qemu_pc();
    auto ref_c = c.finish();
    ref_c.length += 64;
    std::memcpy(c.bytes.data() + offsetof(SdtHeader, length), &ref_c.length, 4);
    auto madt_c = parse_madt(c.reader(), ref_c);
    REQUIRE(madt_c);
    CHECK(madt_c->truncated);
    CHECK(madt_c->io_apic_count == 1);
}
