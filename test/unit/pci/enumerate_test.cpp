#include <catch2/catch.hpp>

#include <array>

#include "pci/enumerate.hpp"
#include "pci/registers.hpp"
#include "test/unit/pci/fake_config_space.hpp"

using pci::BarKind;

namespace {

// Bus 0: a host bridge; a multi-function chipset device at 01 with functions 0, 1 and 3;
// a network device with a 64-bit BAR at 02; a single-function device at 04 that (wrongly)
// answers on function 1 too; a bridge at 03 to bus 1, numbered by the firmware.
// Bus 1: a device at 00, and a bridge at 01 the firmware left unnumbered, with a device
// behind it.
void build_machine(test::FakeConfigSpace& config) {
    config.add({0, 0, 0}, 0x8086, 0x29C0, 0x060000);
    config.add({0, 1, 0}, 0x8086, 0x7000, 0x060100, pci::header_type::k_multifunction);
    config.add({0, 1, 1}, 0x8086, 0x7010, 0x010180);
    config.add({0, 1, 3}, 0x8086, 0x7113, 0x068000);
    config.add({0, 2, 0}, 0x1AF4, 0x1041, 0x020000)
        .bar(1, BarKind::Memory32, 0x1000)
        .bar(4, BarKind::Memory64, 0x4000, true);
    config.add_bridge({0, 3, 0}, 1, 1);
    config.add({0, 4, 0}, 0x1AF4, 0x1045, 0x00FF00);
    config.add({0, 4, 1}, 0xDEAD, 0xBEEF, 0x000000);  // must not be seen: function 0 is single
    config.add({1, 0, 0}, 0x1AF4, 0x1042, 0x010000).bar(0, BarKind::Io, 0x40);
    config.add_bridge({1, 1, 0}, 0, 0);
    config.add({2, 5, 0}, 0x1AF4, 0x1041, 0x020000);
}

}  // namespace

TEST_CASE("enumerate: every bus behind bridges, multi-function devices") {
    test::FakeConfigSpace config;
    build_machine(config);
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);

    CHECK(report.functions == 10);
    CHECK(report.buses == 3);
    CHECK(report.buses_numbered == 1);
    CHECK(report.bridges_skipped == 0);
    CHECK(report.dropped == 0);
    REQUIRE(table.size() == 10);

    CHECK(table.find({0, 1, 1}) != nullptr);
    CHECK(table.find({0, 1, 2}) == nullptr);
    CHECK(table.find({0, 1, 3}) != nullptr);
    CHECK(table.find({0, 4, 1}) == nullptr);

    const pci::Device* nic = table.find({0, 2, 0});
    REQUIRE(nic != nullptr);
    CHECK(nic->vendor_id == 0x1AF4);
    CHECK(nic->device_id == 0x1041);
    CHECK(nic->class_triplet() == 0x020000);

    const pci::Device* chipset = table.find({0, 1, 0});
    REQUIRE(chipset != nullptr);
    CHECK(chipset->multifunction);

    const pci::Device* bridge = table.find({0, 3, 0});
    REQUIRE(bridge != nullptr);
    CHECK(bridge->is_bridge());
    CHECK(bridge->secondary_bus == 1);

    // The unnumbered bridge got bus 2, routed from bus 1, closed at what it found.
    const pci::Device* inner = table.find({1, 1, 0});
    REQUIRE(inner != nullptr);
    CHECK(inner->secondary_bus == 2);
    CHECK(inner->subordinate_bus == 2);
    auto& inner_fake = config.at({1, 1, 0});
    CHECK(inner_fake.bytes[0x18] == 1);
    CHECK(inner_fake.bytes[0x19] == 2);
    CHECK(inner_fake.bytes[0x1A] == 2);
    CHECK(table.find({2, 5, 0}) != nullptr);
}

TEST_CASE("enumerate: BARs and capabilities are read for bridges, for others on request") {
    test::FakeConfigSpace config;
    build_machine(config);
    config.at({0, 2, 0}).add_capability(pci::capability_id::k_msix, {0, 0, 1, 0, 0, 0, 1, 0, 0, 0});
    config.at({0, 3, 0}).bar(0, BarKind::Memory32, 0x1000);
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);
    CHECK(report.problems.malformed_bars == 0);

    pci::Device* nic = table.find({0, 2, 0});
    REQUIRE(nic != nullptr);
    CHECK_FALSE(nic->details_read);
    CHECK_FALSE(nic->bars[1].present());
    CHECK(nic->capabilities.size() == 0);
    CHECK(config.at({0, 2, 0}).writes == 0);  // not even sized
    CHECK(config.at({1, 0, 0}).writes == 0);

    const pci::Device* bridge = table.find({0, 3, 0});
    REQUIRE(bridge != nullptr);
    CHECK(bridge->details_read);
    CHECK(bridge->bars[0].kind == BarKind::Memory32);
    CHECK(bridge->bars[0].size == 0x1000);

    pci::DetailProblems problems;
    pci::read_details(config, *nic, problems);
    CHECK(nic->details_read);
    CHECK(nic->bars[1].kind == BarKind::Memory32);
    CHECK(nic->bars[4].kind == BarKind::Memory64);
    CHECK(nic->bars[4].size == 0x4000);
    CHECK(nic->bars[4].prefetchable);
    CHECK(nic->capabilities.find(pci::capability_id::k_msix).has_value());
    CHECK(problems.malformed_bars == 0);
    CHECK(problems.capability_problems == 0);

    // Once is enough: a second call touches nothing.
    const auto reads = config.reads;
    pci::read_details(config, *nic, problems);
    CHECK(config.reads == reads);

    pci::Device* io_device = table.find({1, 0, 0});
    REQUIRE(io_device != nullptr);
    pci::read_details(config, *io_device, problems);
    CHECK(io_device->bars[0].kind == BarKind::Io);
}

TEST_CASE("enumerate: the command register says whether a function decodes") {
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000).put16(0x04, pci::command::k_memory_space);
    config.add({0, 1, 0}, 0x8086, 0x7010, 0x010180).put16(0x04, pci::command::k_io_space);
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000).put16(0x04, pci::command::k_bus_master);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    CHECK(table.find({0, 0, 0})->decodes());
    CHECK(table.find({0, 1, 0})->decodes());
    CHECK_FALSE(table.find({0, 2, 0})->decodes());
    CHECK(table.find({0, 2, 0})->command == pci::command::k_bus_master);
}

TEST_CASE("enumerate: identities are read in batches") {
    // QEMU's pc machine: a host bridge, and the PIIX3 with functions 0, 1 and 3.
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000);
    config.add({0, 1, 0}, 0x8086, 0x7000, 0x060100, pci::header_type::k_multifunction);
    config.add({0, 1, 1}, 0x8086, 0x7010, 0x010180);
    config.add({0, 1, 3}, 0x8086, 0x7113, 0x068000);
    pci::DeviceTable table;
    pci::enumerate(config, table);
    REQUIRE(table.size() == 4);
    CHECK(table.find({0, 1, 3})->class_triplet() == 0x068000);
    // The 32 slots; each device's header and class; the PIIX3's functions 1-7, then the
    // header and class of the two present.
    CHECK(config.batches == 1 + 2 + 2);
    CHECK(config.reads == 32 + 2 * 2 + 7 + 2 * 2);
    CHECK(config.writes == 0);
}

TEST_CASE("config space: a vectored read refuses what a single read refuses") {
    test::FakeConfigSpace config(256, 0);  // bus 0 only
    config.add({0, 3, 0}, 0x1AF4, 0x1000, 0x020000);
    std::array<pci::ConfigRead, 4> reads{{{{0, 3, 0}, 0}, {{1, 0, 0}, 0}, {{0, 3, 0}, 0x100}, {{0, 3, 0}, 0x11, 2}}};
    config.read_each(reads);
    CHECK(reads[0].value == 0x1000'1AF4);
    CHECK(reads[1].value == 0xFFFF'FFFF);  // a bus out of reach
    CHECK(reads[2].value == 0xFFFF'FFFF);  // past the 256 bytes
    CHECK(reads[3].value == 0xFFFF);       // misaligned
    CHECK(config.batches == 0);            // one at a time, each checked

    std::array<pci::ConfigRead, 3> good{{{{0, 3, 0}, 0}, {{0, 3, 0}, 8}, {{0, 3, 0}, 0x0B, 1}}};
    config.read_each(good);
    CHECK(config.batches == 1);
    CHECK(good[1].value == (0x020000u << 8 | 0x01));
    CHECK(good[2].value == 0x02);  // the class byte
}

TEST_CASE("enumerate: a bridge whose secondary bus loops back is skipped") {
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000);
    config.add_bridge({0, 1, 0}, 1, 1);
    config.add_bridge({1, 0, 0}, 1, 1);        // points at its own bus
    config.add_bridge({1, 1, 0}, 0xFF, 0xFF);  // out of the fake's reach below
    config.add_bridge({0, 2, 0}, 1, 1);        // a second path to bus 1
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);
    CHECK(report.buses == 3);  // 0, 1, and 255
    CHECK(report.bridges_skipped == 2);
    CHECK(table.size() == 5);
}

TEST_CASE("enumerate: buses the configuration access cannot reach are left alone") {
    test::FakeConfigSpace config(4096, 0);  // an ECAM region of bus 0 only
    config.add({0, 0, 0}, 0x8086, 0x29C0, 0x060000);
    config.add_bridge({0, 1, 0}, 1, 1);
    config.add_bridge({0, 2, 0}, 0, 0);
    config.add({1, 0, 0}, 0x1AF4, 0x1041, 0x020000);
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);
    CHECK(report.buses == 1);
    CHECK(report.bridges_skipped == 2);
    CHECK(config.at({0, 2, 0}).bytes[0x19] == 0);  // not numbered: it could not be scanned
}

TEST_CASE("enumerate: functions past the table's capacity are counted, bridges still followed") {
    test::FakeConfigSpace config;
    for (std::uint8_t device = 0; device < 32; ++device) {
        config.add({0, device, 0}, 0x1AF4, 0x1041, 0x020000, pci::header_type::k_multifunction);
        config.add({0, device, 1}, 0x1AF4, 0x1041, 0x020000);
        config.add({0, device, 2}, 0x1AF4, 0x1041, 0x020000);
    }
    config.add({0, 31, 3}, 0x1B36, 0x0001, 0x060400, pci::header_type::k_bridge);
    config.at({0, 31, 3}).bytes[0x19] = 1;
    config.at({0, 31, 3}).bytes[0x1A] = 1;
    config.add({1, 0, 0}, 0x1AF4, 0x1042, 0x010000);
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);
    CHECK(report.functions == 98);
    CHECK(table.size() == pci::DeviceTable::k_capacity);
    CHECK(report.dropped == 98 - pci::DeviceTable::k_capacity);
    CHECK(report.buses == 2);
}

TEST_CASE("enumerate: no host bridge, no devices") {
    test::FakeConfigSpace config;
    pci::DeviceTable table;
    auto report = pci::enumerate(config, table);
    CHECK(report.functions == 0);
    CHECK(report.buses == 1);
    CHECK(table.size() == 0);
    CHECK(config.reads == 32);  // one vendor read per device slot
}

TEST_CASE("enumerate: identity and details are read a dword at a time") {
    test::FakeConfigSpace config;
    config.add({0, 3, 0}, 0x1AF4, 0x1000, 0x020000).subsystem(0x1AF4, 1).interrupt(11, 1);
    pci::DeviceTable table;
    pci::enumerate(config, table);
    CHECK(config.reads == 32 + 2);  // the slots, then the header and class dwords
    pci::Device* device = table.find({0, 3, 0});
    REQUIRE(device != nullptr);
    CHECK(device->interrupt_pin == 0);  // a detail: not read yet
    const auto before = config.reads;
    pci::DetailProblems problems;
    pci::read_details(config, *device, problems);
    // Command, interrupt and subsystem dwords; six BARs, each read, written and read back
    // (none implemented, so none restored); the status register, which says there is no
    // capabilities list, so its pointer is not read.
    CHECK(config.reads - before == 3 + 6 * 2 + 1);
    CHECK(device->subsystem_vendor_id == 0x1AF4);
    CHECK(device->subsystem_id == 1);
    CHECK(device->interrupt_line == 11);
    CHECK(device->interrupt_pin == 1);
    CHECK(device->revision == 1);
}
