#include <catch2/catch.hpp>

#include "pci/enumerate.hpp"
#include "pci/msix.hpp"
#include "test/unit/pci/fake_config_space.hpp"
#include "test/unit/pci/fake_io_window.hpp"

using pci::BarKind;

namespace {

constexpr pci::Address k_address{0, 3, 0};

// A virtio-net-like function: MSI-X with `entries` entries, table at BAR 1 + 0x800, PBA at
// BAR 1 + 0x0.
struct Machine {
    explicit Machine(std::uint16_t entries, std::uint32_t table = 0x800 | 1) {
        auto& function = config.add(k_address, 0x1AF4, 0x1000, 0x020000);
        function.bar(1, BarKind::Memory32, 0x1000, false, 0xC000'1000);
        function.bar(4, BarKind::Memory64, 0x4000, true, 0xC000'4000);
        auto control = static_cast<std::uint16_t>(entries - 1);
        capability = function.add_capability(
            0x11, {static_cast<std::uint8_t>(control), static_cast<std::uint8_t>(control >> 8),
                   static_cast<std::uint8_t>(table), static_cast<std::uint8_t>(table >> 8), 0, 0, 1, 0, 0, 0});
        test::enumerate_with_details(config, devices);
    }
    const pci::Device& device() { return *devices.find(k_address); }
    std::uint16_t control() { return config.at(k_address).get16(capability + 2u); }

    test::FakeConfigSpace config;
    pci::DeviceTable devices;
    std::uint8_t capability = 0;
};

}  // namespace

TEST_CASE("msix: message address and data for a local APIC") {
    auto message = pci::msi_message(3, 0x41);
    CHECK(message.address == 0xFEE0'3000);
    CHECK(message.data == 0x41);
}

TEST_CASE("msix: the capability names its table's BAR, offset and size") {
    Machine machine(3);
    const auto reads = machine.config.reads;
    auto capability = pci::read_msix_capability(machine.config, machine.device());
    REQUIRE(capability);
    CHECK(machine.config.reads - reads == 3);  // control, table and PBA
    CHECK(capability->offset == machine.capability);
    CHECK(capability->table_size == 3);
    CHECK(capability->table_bar == 1);
    CHECK(capability->table_offset == 0x800);
    CHECK(capability->pba_bar == 1);
    CHECK(capability->pba_offset == 0);
    CHECK(capability->table_bytes() == 48);
}

TEST_CASE("msix: a table in a missing BAR or past its end is refused") {
    Machine no_bar(3, 0x0 | 2);  // BAR 2 is not implemented
    CHECK(pci::read_msix_capability(no_bar.config, no_bar.device()).error() == pci::MsixError::BadBar);
    Machine beyond(3, 0xFF8 | 1);  // 48 bytes from 0xFF8 run past the 4 KiB BAR
    CHECK(pci::read_msix_capability(beyond.config, beyond.device()).error() == pci::MsixError::TableOutsideBar);
    Machine bad_bir(3, 0x0 | 7);
    CHECK(pci::read_msix_capability(bad_bir.config, bad_bir.device()).error() == pci::MsixError::BadBar);

    test::FakeConfigSpace config;
    config.add(k_address, 0x1AF4, 0x1000, 0x020000);
    pci::DeviceTable devices;
    test::enumerate_with_details(config, devices);
    CHECK(pci::read_msix_capability(config, *devices.find(k_address)).error() == pci::MsixError::NoCapability);
}

TEST_CASE("msix: enabling masks every entry first, then turns MSI-X on with the function masked") {
    Machine machine(4);
    auto capability = pci::read_msix_capability(machine.config, machine.device());
    REQUIRE(capability);
    test::FakeIoWindow table(capability->table_bytes());
    int written_while_enabled = 0;
    table.on_write = [&](std::size_t, unsigned, std::uint32_t) {
        if ((machine.control() & pci::msix::k_enable) != 0) ++written_while_enabled;
        return false;
    };
    pci::MsixTable msix(machine.config, k_address, *capability, table);
    const auto reads = machine.config.reads;
    msix.enable_masked();
    CHECK(machine.config.reads - reads == 1);  // the control register, once
    CHECK(machine.control() == (pci::msix::k_enable | pci::msix::k_function_mask | 3));
    for (std::uint16_t entry = 0; entry < 4; ++entry) CHECK(msix.masked(entry));
    CHECK(table.writes.size() == 4);
    CHECK(written_while_enabled == 0);

    msix.set_function_mask(false);
    CHECK(machine.control() == (pci::msix::k_enable | 3));
    msix.disable();
    CHECK((machine.control() & pci::msix::k_enable) == 0);
}

TEST_CASE("msix: programming an entry masks it, writes the message, and leaves it masked") {
    Machine machine(3);
    auto capability = pci::read_msix_capability(machine.config, machine.device());
    REQUIRE(capability);
    test::FakeIoWindow table(capability->table_bytes());
    pci::MsixTable msix(machine.config, k_address, *capability, table);
    msix.enable_masked();
    table.writes.clear();
    table.put(16 + 12, 4, 0xFFFF'FFFE);  // reserved vector control bits survive

    REQUIRE(msix.program(1, pci::msi_message(0, 0x31)));
    REQUIRE(table.writes.size() == 4);
    CHECK(table.writes[0].offset == 16 + 12);  // the mask first
    CHECK(table.writes[0].value == 0xFFFF'FFFF);
    CHECK(table.get(16, 4) == 0xFEE0'0000);
    CHECK(table.get(16 + 4, 4) == 0);
    CHECK(table.get(16 + 8, 4) == 0x31);
    CHECK(msix.masked(1));
    CHECK(msix.message(1).address == 0xFEE0'0000);

    REQUIRE(msix.set_masked(1, false));
    CHECK(table.get(16 + 12, 4) == 0xFFFF'FFFE);
    CHECK_FALSE(msix.masked(1));
    CHECK(msix.masked(0));
    CHECK(msix.masked(2));
}

TEST_CASE("msix: entries past the table are refused without touching memory") {
    Machine machine(2);
    auto capability = pci::read_msix_capability(machine.config, machine.device());
    REQUIRE(capability);
    test::FakeIoWindow table(capability->table_bytes());
    pci::MsixTable msix(machine.config, k_address, *capability, table);
    CHECK_FALSE(msix.program(2, pci::msi_message(0, 0x40)));
    CHECK_FALSE(msix.set_masked(7, false));
    CHECK(msix.masked(7));
    CHECK(table.writes.empty());
    CHECK(table.stray_accesses() == 0);
}
