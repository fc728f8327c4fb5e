#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "pci/enumerate.hpp"
#include "pci/registers.hpp"
#include "pci/resources.hpp"
#include "test/unit/pci/fake_config_space.hpp"

using pci::AddressRange;
using pci::BarKind;

namespace {

constexpr AddressRange k_memory{0xC000'0000, 0xFEC0'0000};
constexpr AddressRange k_io{0xC000, 0x1'0000};

struct Assigned {
    pci::Address address;
    std::size_t index;
    pci::Bar bar;
};

std::vector<Assigned> memory_bars(const pci::DeviceTable& table) {
    std::vector<Assigned> out;
    for (const auto& device : table.all()) {
        for (std::size_t i = 0; i < pci::k_max_bars; ++i) {
            if (device.bars[i].is_memory()) out.push_back({device.address, i, device.bars[i]});
        }
    }
    return out;
}

void check_no_overlap(const std::vector<Assigned>& bars) {
    for (std::size_t i = 0; i < bars.size(); ++i) {
        for (std::size_t j = i + 1; j < bars.size(); ++j) {
            AddressRange a{bars[i].bar.address, bars[i].bar.address + bars[i].bar.size};
            AddressRange b{bars[j].bar.address, bars[j].bar.address + bars[j].bar.size};
            CHECK_FALSE(a.overlaps(b));
        }
    }
}

}  // namespace

TEST_CASE("range allocator: aligned blocks, reserved ranges stepped over, the end respected") {
    std::vector<AddressRange> reserved{{0x1000, 0x3000}, {0x8000, 0x9000}};
    pci::RangeAllocator allocator({0x0, 0x10000}, reserved);
    CHECK(allocator.allocate(0x1000, 0x1000) == 0x0);
    CHECK(allocator.allocate(0x1000, 0x1000) == 0x3000);  // steps over the first reservation
    CHECK(allocator.allocate(0x4000, 0x4000) == 0x4000);
    CHECK(allocator.allocate(0x1000, 0x1000) == 0x9000);  // and over the second
    CHECK(allocator.allocate(0x8000, 0x8000) == std::nullopt);
    CHECK(allocator.allocate(0x1000, 0x1000) == 0xA000);
    CHECK(allocator.allocate(0, 0x1000) == std::nullopt);
    CHECK(allocator.allocate(0x1000, 3) == std::nullopt);  // not a power of two
}

TEST_CASE("range allocator: a reservation covering the window is the window's own") {
    std::vector<AddressRange> reserved{{0x10'0000, 0x20'0000}};
    pci::RangeAllocator inside({0x10'0000, 0x20'0000}, reserved);
    CHECK(inside.allocate(0x1000, 0x1000) == 0x10'0000);
    pci::RangeAllocator overlapping({0x0F'0000, 0x20'0000}, reserved);
    CHECK(overlapping.allocate(0x1'0000, 0x1'0000) == 0x0F'0000);
    CHECK(overlapping.allocate(0x1'0000, 0x1'0000) == std::nullopt);
}

TEST_CASE("range allocator: sizes near the top of the address space do not wrap") {
    pci::RangeAllocator allocator({0xFFFF'FFFF'FFFF'0000, 0xFFFF'FFFF'FFFF'FFFF}, {});
    CHECK(allocator.allocate(1ull << 63, 1ull << 63) == std::nullopt);
    CHECK(allocator.allocate(0x1000, 0x1000) == 0xFFFF'FFFF'FFFF'0000);
}

TEST_CASE("resources: unassigned BARs on bus 0 get aligned, disjoint blocks outside RAM") {
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x29C0, 0x060000);
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000)
        .bar(0, BarKind::Io, 0x20)
        .bar(1, BarKind::Memory32, 0x1000)
        .bar(4, BarKind::Memory64, 0x4000, true);
    config.add({0, 3, 0}, 0x1AF4, 0x1002, 0x00FF00).bar(0, BarKind::Io, 0x40).bar(4, BarKind::Memory64, 0x10'0000);
    config.add({0, 4, 0}, 0x1234, 0x1111, 0x030000).bar(0, BarKind::Memory32, 0x10);  // smaller than a page
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    std::vector<AddressRange> reserved{{0, 0xC010'0000}};  // pretend RAM reaches into the window
    auto report = pci::assign_resources(config, table, {k_memory, k_io, reserved});
    CHECK(report.assigned == 6);
    CHECK(report.failed == 0);
    CHECK(report.kept == 0);

    auto bars = memory_bars(table);
    REQUIRE(bars.size() == 4);
    check_no_overlap(bars);
    for (const auto& assigned : bars) {
        CHECK(assigned.bar.address >= 0xC010'0000);
        CHECK(assigned.bar.address + assigned.bar.size <= k_memory.end);
        CHECK(assigned.bar.address % std::max<std::uint64_t>(assigned.bar.size, 4096) == 0);
        // The device holds what the table says.
        CHECK(config.at(assigned.address).bars[assigned.index].address == assigned.bar.address);
    }
    const pci::Device* balloon = table.find({0, 3, 0});
    CHECK(balloon->bars[0].address >= 0xC000);
    CHECK(balloon->bars[0].address % 0x40 == 0);
    CHECK(table.find({0, 2, 0})->bars[0].address != balloon->bars[0].address);
}

TEST_CASE("resources: what the firmware assigned is kept and stepped over") {
    test::FakeConfigSpace config;
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000, false, 0xC000'0000);
    config.add({0, 3, 0}, 0x1AF4, 0x1002, 0x00FF00).bar(1, BarKind::Memory32, 0x1000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    auto report = pci::assign_resources(config, table, {k_memory, k_io, {}});
    CHECK(report.kept == 1);
    CHECK(report.assigned == 1);
    CHECK(table.find({0, 2, 0})->bars[1].address == 0xC000'0000);
    CHECK(table.find({0, 3, 0})->bars[1].address == 0xC000'1000);
}

TEST_CASE("resources: with everything assigned (SeaBIOS), nothing is written") {
    test::FakeConfigSpace config;
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000)
        .bar(0, BarKind::Io, 0x20, false, 0xC000)
        .bar(1, BarKind::Memory32, 0x1000, false, 0xFEBD'1000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    int writes = config.writes;
    auto report = pci::assign_resources(config, table, {k_memory, k_io, {}});
    CHECK(report.kept == 2);
    CHECK(report.assigned == 0);
    CHECK(config.writes == writes);
}

TEST_CASE("resources: a closed bridge gets windows around everything behind it") {
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000);
    config.add({0, 1, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000);
    config.add_bridge({0, 3, 0}, 1, 2);
    config.add({1, 1, 0}, 0x1AF4, 0x1000, 0x020000).bar(0, BarKind::Io, 0x20).bar(4, BarKind::Memory64, 0x4000, true);
    config.add_bridge({1, 2, 0}, 2, 2);
    config.add({2, 0, 0}, 0x1AF4, 0x1002, 0x00FF00).bar(4, BarKind::Memory64, 0x20'0000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    auto report = pci::assign_resources(config, table, {k_memory, k_io, {}});
    CHECK(report.failed == 0);
    CHECK(report.assigned == 4);
    CHECK(report.bridges_opened == 2);
    check_no_overlap(memory_bars(table));

    auto window = [&](pci::Address bridge) {
        auto& fake = config.at(bridge);
        std::uint64_t base = std::uint64_t{fake.get16(0x20) & 0xFFF0u} << 16;
        std::uint64_t limit = (std::uint64_t{fake.get16(0x22) & 0xFFF0u} << 16) | 0xFFFFF;
        return AddressRange{base, limit + 1};
    };
    AddressRange outer = window({0, 3, 0});
    AddressRange inner = window({1, 2, 0});
    CHECK(outer.begin % (1u << 20) == 0);
    CHECK(outer.contains(inner));
    auto inside = [](AddressRange range, const pci::Bar& bar) {
        return range.contains({bar.address, bar.address + bar.size});
    };
    CHECK(inside(outer, table.find({1, 1, 0})->bars[4]));
    CHECK(inside(inner, table.find({2, 0, 0})->bars[4]));
    CHECK_FALSE(inside(outer, table.find({0, 1, 0})->bars[1]));

    // I/O window on the outer bridge only, in 4 KiB units, holding the I/O BAR.
    auto& outer_fake = config.at({0, 3, 0});
    std::uint64_t io_base = std::uint64_t{outer_fake.bytes[0x1C] & 0xF0u} << 8;
    std::uint64_t io_limit = (std::uint64_t{outer_fake.bytes[0x1D] & 0xF0u} << 8) | 0xFFF;
    std::uint64_t io_bar = table.find({1, 1, 0})->bars[0].address;
    CHECK(io_bar >= io_base);
    CHECK(io_bar + 0x20 <= io_limit + 1);
    auto& inner_fake = config.at({1, 2, 0});
    CHECK((inner_fake.bytes[0x1C] & 0xF0u) > (inner_fake.bytes[0x1D] & 0xF0u));  // closed
    // Prefetchable windows closed; forwarding and bus mastering on.
    CHECK(outer_fake.get16(0x24) > outer_fake.get16(0x26));
    CHECK((outer_fake.command() &
           (pci::command::k_memory_space | pci::command::k_io_space | pci::command::k_bus_master)) ==
          (pci::command::k_memory_space | pci::command::k_io_space | pci::command::k_bus_master));
    CHECK((inner_fake.command() & pci::command::k_io_space) == 0);
}

TEST_CASE("resources: a bridge the firmware opened takes new BARs inside its window") {
    test::FakeConfigSpace config;
    auto& bridge = config.add_bridge({0, 3, 0}, 1, 1);
    bridge.put16(0x20, 0xFE00);  // memory window 0xFE000000-0xFE1FFFFF
    bridge.put16(0x22, 0xFE10);
    config.add({1, 0, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000, false, 0xFE00'0000);
    config.add({1, 1, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000);
    config.add({0, 4, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    auto report = pci::assign_resources(config, table, {{0xFD00'0000, 0xFEC0'0000}, k_io, {}});
    CHECK(report.failed == 0);
    CHECK(report.bridges_opened == 0);
    CHECK(table.find({1, 1, 0})->bars[1].address == 0xFE00'1000);
    std::uint64_t outside = table.find({0, 4, 0})->bars[1].address;
    CHECK((outside < 0xFE00'0000 || outside >= 0xFE20'0000));
}

TEST_CASE("resources: BARs that do not fit are reported, not placed") {
    test::FakeConfigSpace config;
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000).bar(4, BarKind::Memory64, 1ull << 40);
    config.add({0, 3, 0}, 0x1AF4, 0x1000, 0x020000).bar(1, BarKind::Memory32, 0x1000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    auto report = pci::assign_resources(config, table, {k_memory, k_io, {}});
    CHECK(report.failed == 1);
    CHECK(report.assigned == 1);
    CHECK_FALSE(table.find({0, 2, 0})->bars[4].assigned());
}
