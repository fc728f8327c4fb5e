#include <catch2/catch.hpp>

#include "pci/bar.hpp"
#include "test/unit/pci/fake_config_space.hpp"

using pci::BarKind;

namespace {

constexpr pci::Address k_address{0, 4, 0};

}  // namespace

TEST_CASE("bar: I/O, 32-bit, prefetchable 64-bit and absent BARs are decoded and sized") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1000, 0x020000);
    function.bar(0, BarKind::Io, 0x40, false, 0xC040);
    function.bar(1, BarKind::Memory32, 0x1000, false, 0xFEB0'1000);
    function.bar(4, BarKind::Memory64, 0x4000, true, 0x8'0000'4000);

    std::size_t malformed = 0;
    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false, &malformed);
    CHECK(malformed == 0);
    CHECK(bars[0].kind == BarKind::Io);
    CHECK(bars[0].address == 0xC040);
    CHECK(bars[0].size == 0x40);
    CHECK(bars[1].kind == BarKind::Memory32);
    CHECK_FALSE(bars[1].prefetchable);
    CHECK(bars[1].address == 0xFEB0'1000);
    CHECK(bars[1].size == 0x1000);
    CHECK(bars[2].kind == BarKind::None);
    CHECK(bars[3].kind == BarKind::None);
    CHECK(bars[4].kind == BarKind::Memory64);
    CHECK(bars[4].prefetchable);
    CHECK(bars[4].address == 0x8'0000'4000);
    CHECK(bars[4].size == 0x4000);
    CHECK(bars[5].kind == BarKind::None);  // the upper half of BAR 4
}

TEST_CASE("bar: sizing restores every BAR and runs with decoding off") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1000, 0x020000);
    function.bar(0, BarKind::Io, 0x20, false, 0xC000);
    function.bar(2, BarKind::Memory64, 1ull << 33, false, 0x40'0000'0000);
    function.put16(0x04, pci::command::k_io_space | pci::command::k_memory_space | pci::command::k_bus_master);

    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false);
    CHECK(function.sized_while_decoding == 0);
    CHECK(function.bars[0].address == 0xC000);
    CHECK(function.bars[2].address == 0x40'0000'0000);
    CHECK(function.command() == (pci::command::k_io_space | pci::command::k_memory_space | pci::command::k_bus_master));
    CHECK(bars[2].size == 1ull << 33);  // a size past 4 GiB needs the upper half
    // Register by register (PCI 3.0 §6.2.5.1): the six as they are, then all ones, the
    // answer and the original back into each.
    CHECK(config.batches == 0);
    CHECK(config.reads == 6 + 6);
}

TEST_CASE("bar: a host bridge keeps decoding while its BARs are sized") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x8086, 0x29C0, 0x060000);
    function.bar(0, BarKind::Memory32, 0x1000, false, 0xE000'0000);
    function.put16(0x04, pci::command::k_memory_space);
    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), true);
    CHECK(bars[0].size == 0x1000);
    CHECK(function.sized_while_decoding == 6);  // on purpose: the machine may depend on it
    // All ones, then the original back, for the one BAR; all ones only for the five
    // unimplemented ones, which read 0 before and after; the command register never.
    CHECK(function.writes == 2 + 5);
}

TEST_CASE("bar: unassigned BARs read as address 0 and still size") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(1, BarKind::Memory32, 0x1000);
    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false);
    CHECK(bars[1].present());
    CHECK_FALSE(bars[1].assigned());
    CHECK(bars[1].size == 0x1000);
}

TEST_CASE("bar: a 64-bit BAR in the last slot is malformed") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(5, BarKind::Memory64, 0x1000);
    // The fake decodes slot 5 as a 64-bit BAR whose upper half does not exist.
    std::size_t malformed = 0;
    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false, &malformed);
    CHECK(malformed == 1);
    CHECK_FALSE(bars[5].present());
}

TEST_CASE("bar: a bridge has two BARs") {
    test::FakeConfigSpace config;
    auto& bridge = config.add_bridge(k_address, 1, 1);
    bridge.bar(0, BarKind::Memory32, 0x100);
    auto bars = pci::probe_bars(config, k_address, pci::k_bridge_bar_count, config.at(k_address).command(), false);
    CHECK(bars[0].size == 0x100);
    CHECK_FALSE(bars[2].present());
}

TEST_CASE("bar: program_bar writes both halves of a 64-bit BAR") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(4, BarKind::Memory64, 0x4000, true);
    function.put16(0x04, pci::command::k_memory_space);
    auto bars = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false);
    const auto reads = config.reads;
    pci::program_bar(config, k_address, 4, bars[4], 0x1'C000'8000);
    CHECK(config.reads - reads == 1);  // the command register; the BAR's type bits are known
    CHECK(function.bars[4].address == 0x1'C000'8000);
    CHECK(function.command() == pci::command::k_memory_space);
    auto again = pci::probe_bars(config, k_address, pci::k_max_bars, config.at(k_address).command(), false);
    CHECK(again[4].address == 0x1'C000'8000);
    CHECK(again[4].prefetchable);
}

TEST_CASE("bar: covers() checks offsets without overflow") {
    pci::Bar bar{BarKind::Memory32, false, 0xC000'0000, 0x1000};
    CHECK(bar.covers(0, 0x1000));
    CHECK(bar.covers(0xFF0, 0x10));
    CHECK_FALSE(bar.covers(0xFF0, 0x11));
    CHECK_FALSE(bar.covers(0x1001, 0));
    CHECK_FALSE(bar.covers(0x10, ~std::uint64_t{0}));
}
