#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "kernel/acpi_mcfg.hpp"

using namespace kernel::acpi;

namespace {

constexpr std::uint64_t k_base = 0x7FE1000;

struct McfgBuilder {
    std::vector<std::byte> bytes;

    McfgBuilder() {
        McfgHeader h{};
        std::memcpy(h.header.signature, "MCFG", 4);
        raw(&h, sizeof h);
    }
    void raw(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::byte*>(data);
        bytes.insert(bytes.end(), p, p + size);
    }
    void region(std::uint64_t base, std::uint16_t segment, std::uint8_t start, std::uint8_t end) {
        McfgAllocation a{base, segment, start, end, 0};
        raw(&a, sizeof a);
    }
    TableRef finish() {
        auto length = static_cast<std::uint32_t>(bytes.size());
        std::memcpy(bytes.data() + offsetof(SdtHeader, length), &length, 4);
        return {{'M', 'C', 'F', 'G'}, k_base, length};
    }
    [[nodiscard]] kernel::SpanReader reader() const { return kernel::SpanReader(k_base, bytes); }
};

}  // namespace

TEST_CASE("mcfg: QEMU q35's one region") {
    McfgBuilder b;
    b.region(0xB0000000, 0, 0, 255);
    auto ref = b.finish();
    auto mcfg = parse_mcfg(b.reader(), ref);
    REQUIRE(mcfg);
    REQUIRE(mcfg->count == 1);
    CHECK(mcfg->malformed == 0);
    const auto& r = mcfg->regions[0];
    CHECK(r.base == 0xB0000000);
    CHECK(r.first_address() == 0xB0000000);
    CHECK(r.size() == 256ull << 20);
    CHECK(mcfg->find(0, 0)->base == 0xB0000000);
    CHECK(mcfg->find(0, 255).has_value());
    CHECK_FALSE(mcfg->find(1, 0).has_value());

    Tables tables;
    tables.tables[0] = ref;
    tables.count = 1;
    CHECK(read_mcfg(b.reader(), tables)->count == 1);
    CHECK(read_mcfg(b.reader(), Tables{}).error() == McfgError::NoMcfg);
}

TEST_CASE("mcfg: several segments and partial bus ranges") {
    McfgBuilder b;
    b.region(0xE0000000, 0, 0, 63);
    b.region(0x4'0000'0000, 1, 16, 31);
    auto ref = b.finish();
    auto mcfg = parse_mcfg(b.reader(), ref);
    REQUIRE(mcfg);
    REQUIRE(mcfg->count == 2);
    auto second = mcfg->find(1, 20);
    REQUIRE(second);
    CHECK(second->first_address() == 0x4'0000'0000 + (16ull << 20));
    CHECK(second->size() == 16ull << 20);
    CHECK_FALSE(mcfg->find(1, 15).has_value());
    CHECK_FALSE(mcfg->find(0, 64).has_value());
}

TEST_CASE("mcfg: malformed regions and a partial entry are counted and dropped") {
    McfgBuilder b;
    b.region(0xB0000000, 0, 10, 9);   // end before start
    b.region(0xB0000800, 0, 0, 255);  // not 1 MiB aligned
    b.region(0, 0, 0, 255);           // no address at all
    b.region(0xC0000000, 2, 0, 0);    // fine: one bus
    std::uint8_t partial[7] = {};
    b.raw(partial, sizeof partial);
    auto ref = b.finish();
    auto mcfg = parse_mcfg(b.reader(), ref);
    REQUIRE(mcfg);
    CHECK(mcfg->count == 1);
    CHECK(mcfg->malformed == 4);
    CHECK(mcfg->find(2, 0)->size() == 1u << 20);
}

TEST_CASE("mcfg: capacity, short and unreadable tables") {
    McfgBuilder b;
    for (unsigned i = 0; i < Mcfg::k_max_regions + 3; ++i)
        b.region(0xB0000000 + (std::uint64_t{i} << 28), static_cast<std::uint16_t>(i), 0, 255);
    auto ref = b.finish();
    auto mcfg = parse_mcfg(b.reader(), ref);
    REQUIRE(mcfg);
    CHECK(mcfg->count == Mcfg::k_max_regions);
    CHECK(mcfg->dropped == 3);

    TableRef short_ref = ref;
    short_ref.length = 40;
    CHECK(parse_mcfg(b.reader(), short_ref).error() == McfgError::TooShort);
    TableRef nowhere = ref;
    nowhere.address = 0x100;
    CHECK(parse_mcfg(b.reader(), nowhere).error() == McfgError::Unreadable);

    // The root table claims more than there is: the read past the end fails and stops the walk.
    TableRef longer = ref;
    longer.length += 32;
    std::memcpy(b.bytes.data() + offsetof(SdtHeader, length), &longer.length, 4);
    auto truncated = parse_mcfg(b.reader(), longer);
    REQUIRE(truncated);
    CHECK(truncated->count == Mcfg::k_max_regions);
    CHECK(truncated->malformed == 1);
}
