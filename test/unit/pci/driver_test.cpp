#include <catch2/catch.hpp>

#include <vector>

#include "pci/driver.hpp"
#include "pci/enumerate.hpp"
#include "test/unit/pci/fake_config_space.hpp"

namespace {

std::vector<std::string> g_calls;

kernel::Result<void, pci::ProbeError> take(pci::Function& function) {
    g_calls.push_back("take");
    function.enable(true, false, true);
    return {};
}
kernel::Result<void, pci::ProbeError> decline(pci::Function&) {
    g_calls.push_back("decline");
    return kernel::err(pci::ProbeError::NotMine);
}
kernel::Result<void, pci::ProbeError> break_down(pci::Function&) {
    g_calls.push_back("fail");
    return kernel::err(pci::ProbeError::Failed);
}

}  // namespace

TEST_CASE("driver match: vendor and device range, class under a mask") {
    pci::Device device;
    device.vendor_id = 0x1AF4;
    device.device_id = 0x1041;
    device.class_code = 0x02;
    device.subclass = 0x00;
    CHECK(pci::Match{0x1AF4, 0x1000, 0x107F, 0, 0}.matches(device));
    CHECK_FALSE(pci::Match{0x1AF4, 0x1000, 0x103F, 0, 0}.matches(device));
    CHECK_FALSE(pci::Match{0x8086, 0x0000, 0xFFFF, 0, 0}.matches(device));
    CHECK(pci::Match{pci::Match::k_any_vendor, 0, 0xFFFF, 0x020000, 0xFFFF00}.matches(device));
    CHECK_FALSE(pci::Match{pci::Match::k_any_vendor, 0, 0xFFFF, 0x010600, 0xFFFF00}.matches(device));
    CHECK(pci::Match{0x1AF4, 0x1041, 0x1041, 0x020000, 0xFF0000}.matches(device));
}

TEST_CASE("bind: each device goes to the first matching driver that takes it") {
    test::FakeConfigSpace config;
    config.add({0, 2, 0}, 0x1AF4, 0x1041, 0x020000);
    config.add({0, 3, 0}, 0x1AF4, 0x1045, 0x00FF00);
    config.add({0, 4, 0}, 0x8086, 0x100E, 0x020000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);

    const pci::Driver drivers[] = {
        {"picky", {0x1AF4, 0x1041, 0x1041, 0, 0}, decline},
        {"virtio", {0x1AF4, 0x1000, 0x107F, 0, 0}, take},
        {"broken", {0x8086, 0x0000, 0xFFFF, 0, 0}, break_down},
        {"never", {0x1AF4, 0x1000, 0x107F, 0, 0}, take},
    };
    g_calls.clear();
    auto report = pci::bind_drivers(config, table.all(), drivers);
    CHECK(report.bound == 2);
    CHECK(report.failed == 1);
    CHECK(report.unclaimed == 0);
    CHECK(g_calls == std::vector<std::string>{"decline", "take", "take", "fail"});
    const pci::Device* net = table.find({0, 2, 0});
    CHECK(net->driver == &drivers[1]);
    CHECK(std::string(net->driver_name) == "virtio");
    CHECK(net->driver_state == pci::DriverState::Bound);
    CHECK(table.find({0, 4, 0})->driver_state == pci::DriverState::Failed);
    // The probe asked for memory decoding and bus mastering.
    CHECK(config.at({0, 2, 0}).command() == (pci::command::k_memory_space | pci::command::k_bus_master));
}

TEST_CASE("bind: a device nobody matches stays unclaimed") {
    test::FakeConfigSpace config;
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    auto report = pci::bind_drivers(config, table.all(), {});
    CHECK(report.unclaimed == 1);
    CHECK(table.all()[0].driver == nullptr);
    CHECK(table.all()[0].driver_name == nullptr);
}

TEST_CASE("function: INTx can be switched off and on") {
    test::FakeConfigSpace config;
    config.add({0, 2, 0}, 0x1AF4, 0x1041, 0x020000);
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    pci::Function function(config, table.all()[0]);
    function.disable_intx(true);
    CHECK(config.at({0, 2, 0}).command() == pci::command::k_interrupt_disable);
    function.disable_intx(false);
    CHECK(config.at({0, 2, 0}).command() == 0);
}
