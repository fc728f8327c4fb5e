#include <catch2/catch.hpp>
#include <map>
#include <memory>

#include "kernel/page_table.hpp"

using namespace kernel::paging;

namespace {

// Tables live in host memory; "physical addresses" are handed out from 0x1000 upwards.
class FakeTableMemory final : public TableMemory {
public:
    explicit FakeTableMemory(std::size_t limit = 1000) : m_limit(limit) {}
    kernel::Result<std::uint64_t, Error> allocate_table() override {
        if (m_tables.size() == m_limit) return kernel::err(Error::OutOfTableMemory);
        std::uint64_t physical = 0x1000 * (m_tables.size() + 1);
        m_tables[physical] = std::make_unique<std::uint64_t[]>(512);
        return physical;
    }
    std::uint64_t* table(std::uint64_t physical) override { return m_tables.at(physical).get(); }
    std::size_t count() const { return m_tables.size(); }

private:
    std::size_t m_limit;
    std::map<std::uint64_t, std::unique_ptr<std::uint64_t[]>> m_tables;
};

constexpr Permissions k_rw{.writable = true, .executable = false, .uncached = false};
constexpr Permissions k_rx{.writable = false, .executable = true, .uncached = false};

}  // namespace

TEST_CASE("page tables: identity map with the largest pages that fit") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    space.allow_1g_pages(true);
    REQUIRE(space.map(0x1000, 0x1000, (3ull << 30) - 0x1000, k_rw).has_value());
    auto low = space.translate(0x5123);
    REQUIRE(low);
    CHECK(low->physical == 0x5123);
    CHECK(low->page_size == k_page_4k);
    CHECK(space.translate(0x200000)->page_size == k_page_2m);
    CHECK(space.translate(0x40000000)->page_size == k_page_1g);
    CHECK(space.translate(0xBFFFFFFF)->physical == 0xBFFFFFFF);
    CHECK_FALSE(space.translate(0).has_value());  // page 0 was left out
    CHECK_FALSE(space.translate(3ull << 30).has_value());
    CHECK(space.translate(0x7000)->permissions.writable);
    CHECK_FALSE(space.translate(0x7000)->permissions.executable);
}

TEST_CASE("page tables: 1 GiB pages only when allowed") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    REQUIRE(space.map(0, 0, 2ull << 30, k_rw).has_value());
    CHECK(space.translate(0x40000000)->page_size == k_page_2m);
}

TEST_CASE("page tables: remapping part of a large page splits it and keeps the rest") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    REQUIRE(space.map(0, 0, 4 * k_page_2m, k_rw).has_value());
    REQUIRE(space.map(0x201000, 0x201000, 0x2000, k_rx).has_value());
    auto changed = space.translate(0x201234);
    REQUIRE(changed);
    CHECK(changed->page_size == k_page_4k);
    CHECK(changed->permissions.executable);
    CHECK_FALSE(changed->permissions.writable);
    auto kept = space.translate(0x3FF000);
    REQUIRE(kept);
    CHECK(kept->physical == 0x3FF000);
    CHECK(kept->permissions.writable);
    CHECK(space.translate(0x600000)->page_size == k_page_2m);
}

TEST_CASE("page tables: unmap a guard page inside a large page") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    REQUIRE(space.map(0, 0, k_page_2m, k_rw).has_value());
    REQUIRE(space.unmap(0x5000, k_page_4k).has_value());
    CHECK_FALSE(space.translate(0x5000).has_value());
    CHECK(space.translate(0x4FFF).has_value());
    CHECK(space.translate(0x6000).has_value());
    // Unmapping what was never mapped is fine and allocates nothing.
    std::size_t tables = memory.count();
    REQUIRE(space.unmap(0x7000'0000'0000, 1ull << 30).has_value());
    CHECK(memory.count() == tables);
}

TEST_CASE("page tables: non-identity mappings, uncached, and no NX without support") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, false).value();
    REQUIRE(space.map(0x4000'0000'0000, 0xFEE00000, 0x1000, {.writable = true, .executable = false, .uncached = true})
                .has_value());
    auto t = space.translate(0x4000'0000'0abc);
    REQUIRE(t);
    CHECK(t->physical == 0xFEE00abc);
    CHECK(t->permissions.uncached);
    CHECK(t->permissions.executable);  // without NX, data is executable
}

TEST_CASE("page tables: errors for bad requests and exhausted table memory") {
    FakeTableMemory memory(4);
    auto space = AddressSpace::create(memory, true).value();
    CHECK(space.map(0x1001, 0x1000, 0x1000, k_rw).error() == Error::Misaligned);
    CHECK(space.map(1ull << 47, 0, 0x1000, k_rw).error() == Error::NotCanonical);
    CHECK(space.map(0, 0, 0x1000, k_rw).has_value());  // PML4, PDPT, PD and PT: all four used
    CHECK(space.map(0x200000, 0x200000, 0x1000, k_rw).error() == Error::OutOfTableMemory);
}

TEST_CASE("page tables: a run of 4 KiB pages across page-table boundaries maps and unmaps each page") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    // Physical is off 2 MiB alignment against virtual, so every page is a 4 KiB one: the
    // run crosses from one page table into the next twice.
    const std::uint64_t virt = 0x1FF000;
    const std::uint64_t phys = 0x10001000;
    const std::uint64_t size = 0x402000;
    REQUIRE(space.map(virt, phys, size, k_rw).has_value());
    for (std::uint64_t offset = 0; offset < size; offset += 0x1000) {
        auto t = space.translate(virt + offset + 0x10);
        REQUIRE(t);
        CHECK(t->physical == phys + offset + 0x10);
        CHECK(t->page_size == k_page_4k);
    }
    CHECK_FALSE(space.translate(virt - 0x1000));
    CHECK_FALSE(space.translate(virt + size));
    // Unmapping a run that also crosses a boundary leaves exactly its neighbours.
    REQUIRE(space.unmap(0x3FE000, 0x3000).has_value());
    CHECK(space.translate(0x3FD000));
    CHECK_FALSE(space.translate(0x3FE000));
    CHECK_FALSE(space.translate(0x3FF000));
    CHECK_FALSE(space.translate(0x400000));
    CHECK(space.translate(0x401000));
}

TEST_CASE("page tables: every level lets ring 3 in, for a kernel that runs there") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    REQUIRE(space.map(0x200000, 0x200000, 0x3000, k_rx).has_value());
    // Walk 0x201000 by hand: PML4 -> PDPT -> PD -> PT, each entry with U/S (bit 2).
    std::uint64_t table = space.root();
    for (unsigned shift : {39u, 30u, 21u, 12u}) {
        std::uint64_t entry = memory.table(table)[(0x201000ull >> shift) & 511];
        INFO("level shift " << shift);
        CHECK((entry & bits::k_present) != 0);
        CHECK((entry & bits::k_user) != 0);
        table = entry & bits::k_address_mask;
    }
}

TEST_CASE("page tables: entries start accessed, leaves dirty, so a shadowing hypervisor need not set them") {
    FakeTableMemory memory;
    auto space = AddressSpace::create(memory, true).value();
    REQUIRE(space.map(0x200000, 0x200000, 0x1000, k_rx).has_value());    // a 4 KiB leaf
    REQUIRE(space.map(0x400000, 0x400000, 0x200000, k_rw).has_value());  // a 2 MiB leaf
    std::uint64_t table = space.root();
    for (unsigned shift : {39u, 30u, 21u, 12u}) {
        std::uint64_t entry = memory.table(table)[(0x200000ull >> shift) & 511];
        INFO("level shift " << shift);
        CHECK((entry & bits::k_accessed) != 0);
        CHECK((entry & bits::k_dirty) == (shift == 12 ? bits::k_dirty : 0));
        table = entry & bits::k_address_mask;
    }
    std::uint64_t pd = memory.table(memory.table(space.root())[0] & bits::k_address_mask)[0] & bits::k_address_mask;
    std::uint64_t large = memory.table(pd)[2];
    CHECK((large & bits::k_huge) != 0);
    CHECK((large & (bits::k_accessed | bits::k_dirty)) == (bits::k_accessed | bits::k_dirty));
}
