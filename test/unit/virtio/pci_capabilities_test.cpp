#include <catch2/catch.hpp>

#include "pci/enumerate.hpp"
#include "test/unit/pci/fake_config_space.hpp"
#include "virtio/pci_capabilities.hpp"
#include "virtio/registry.hpp"

using virtio::DeviceError;

namespace {

constexpr pci::Address k_address{0, 3, 0};

std::vector<std::uint8_t> capability_body(std::uint8_t type, std::uint8_t bar, std::uint32_t offset,
                                          std::uint32_t length, std::optional<std::uint32_t> multiplier = {}) {
    // Everything after cap_vndr and cap_next (virtio 1.2 §4.1.4).
    std::vector<std::uint8_t> body{static_cast<std::uint8_t>(multiplier ? 20 : 16), type, bar, 0, 0, 0};
    for (std::uint32_t value : {offset, length}) {
        for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    if (multiplier) {
        for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(*multiplier >> (8 * i)));
    }
    return body;
}

// QEMU's layout: everything in BAR 4, a page per structure.
test::FakeFunction& qemu_like(test::FakeConfigSpace& config, std::uint16_t device_id = 0x1041) {
    auto& function = config.add(k_address, 0x1AF4, device_id, 0x020000);
    function.bar(1, pci::BarKind::Memory32, 0x1000, false, 0xC000'0000);
    function.bar(4, pci::BarKind::Memory64, 0x4000, true, 0xC000'4000);
    function.add_capability(0x11, std::vector<std::uint8_t>(10));
    function.add_capability(0x09, capability_body(1, 4, 0x0000, 0x1000));
    function.add_capability(0x09, capability_body(3, 4, 0x1000, 0x1000));
    function.add_capability(0x09, capability_body(4, 4, 0x2000, 0x1000));
    function.add_capability(0x09, capability_body(2, 4, 0x3000, 0x1000, 4));
    function.add_capability(0x09, capability_body(5, 0, 0, 0));  // PCI configuration access
    return function;
}

pci::Device enumerate_one(test::FakeConfigSpace& config) {
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    return *table.find(k_address);
}

}  // namespace

TEST_CASE("virtio capabilities: the common, notify, ISR and device structures of a QEMU device") {
    test::FakeConfigSpace config;
    qemu_like(config);
    pci::Device device = enumerate_one(config);
    const int batches = config.batches;
    const int reads = config.reads;
    auto layout = virtio::find_modern_layout(config, device);
    CHECK(config.batches == batches);  // field by field (§4.1.4)
    // bar, offset and length of each structure (cap_len and cfg_type came with the
    // capability list), and the notify structure's multiplier; nothing of the PCI
    // configuration access capability (type 5).
    CHECK(config.reads - reads == 3 + 3 + 3 + 4);
    REQUIRE(layout);
    CHECK(layout->common.bar == 4);
    CHECK(layout->common.offset == 0);
    CHECK(layout->isr.offset == 0x1000);
    CHECK(layout->device.offset == 0x2000);
    CHECK(layout->device.present);
    CHECK(layout->notify.offset == 0x3000);
    CHECK(layout->notify.length == 0x1000);
    CHECK(layout->notify_off_multiplier == 4);
}

TEST_CASE("virtio capabilities: one at the very end of configuration space is still read") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(4, pci::BarKind::Memory64, 0x4000, true);
    function.add_capability(0x09, capability_body(1, 4, 0x0000, 0x1000));
    function.add_capability(0x09, capability_body(3, 4, 0x1000, 0x1000));
    function.add_capability(0x09, capability_body(2, 4, 0x3000, 0x1000, 4));
    // Move the ISR structure (16 bytes, at 0x50) to 0xF0: its fifth dword would be past 0xFF.
    auto& bytes = function.bytes;
    std::copy(bytes.begin() + 0x50, bytes.begin() + 0x60, bytes.begin() + 0xF0);
    bytes[0x40 + 1] = 0xF0;  // common -> ISR
    bytes[0xF0 + 1] = 0x60;  // ISR -> notify
    bytes[0x50] = 0;         // the old copy is no longer linked
    pci::Device device = enumerate_one(config);
    auto layout = virtio::find_modern_layout(config, device);
    REQUIRE(layout);
    CHECK(layout->isr.offset == 0x1000);
    CHECK(layout->notify.offset == 0x3000);
    CHECK(layout->notify_off_multiplier == 4);
}

TEST_CASE("virtio capabilities: the first usable one of each type wins; reserved BARs are ignored") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(4, pci::BarKind::Memory64, 0x4000, true);
    function.add_capability(0x09, capability_body(1, 6, 0x0000, 0x1000));  // BAR 6 is reserved
    function.add_capability(0x09, capability_body(1, 4, 0x0000, 0x1000));
    function.add_capability(0x09, capability_body(1, 4, 0x2000, 0x1000));  // a second common: not used
    function.add_capability(0x09, capability_body(3, 4, 0x1000, 0x1000));
    function.add_capability(0x09, capability_body(2, 4, 0x3000, 0x1000, 0));
    auto layout = virtio::find_modern_layout(config, enumerate_one(config));
    REQUIRE(layout);
    CHECK(layout->common.offset == 0);
    CHECK_FALSE(layout->device.present);
    CHECK(layout->notify_off_multiplier == 0);
}

TEST_CASE("virtio capabilities: a structure outside its BAR is refused") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(4, pci::BarKind::Memory64, 0x4000, true);
    function.add_capability(0x09, capability_body(1, 4, 0x3F00, 0x1000));  // runs past 16 KiB
    function.add_capability(0x09, capability_body(3, 4, 0x1000, 0x1000));
    function.add_capability(0x09, capability_body(2, 4, 0x3000, 0x1000, 4));
    CHECK(virtio::find_modern_layout(config, enumerate_one(config)).error() == DeviceError::BadCapability);
}

TEST_CASE("virtio capabilities: a common structure too short, or naming an absent BAR") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bar(4, pci::BarKind::Memory64, 0x4000, true);
    function.add_capability(0x09, capability_body(1, 4, 0x0000, 0x10));    // shorter than the structure
    function.add_capability(0x09, capability_body(1, 2, 0x0000, 0x1000));  // BAR 2 absent
    function.add_capability(0x09, capability_body(3, 4, 0x1000, 0x1000));
    function.add_capability(0x09, capability_body(2, 4, 0x3000, 0x1000, 4));
    CHECK(virtio::find_modern_layout(config, enumerate_one(config)).error() == DeviceError::BadCapability);
}

TEST_CASE("virtio capabilities: a legacy-only device has none") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1000, 0x020000);
    function.bar(0, pci::BarKind::Io, 0x20, false, 0xC000);
    function.add_capability(0x11, std::vector<std::uint8_t>(10));
    CHECK(virtio::find_modern_layout(config, enumerate_one(config)).error() == DeviceError::NoTransport);
}

namespace {

kernel::Result<void, DeviceError> probe_nothing(virtio::Device&) { return {}; }

}  // namespace

TEST_CASE("virtio registry: device IDs from PCI IDs, and the highest priority driver") {
    pci::Device device;
    device.vendor_id = 0x1AF4;
    device.device_id = 0x1041;
    CHECK(virtio::device_id_of(device) == 1);
    device.device_id = 0x1045;
    CHECK(virtio::device_id_of(device) == 5);
    device.device_id = 0x1000;  // transitional: the subsystem ID says
    device.subsystem_id = 1;
    CHECK(virtio::device_id_of(device) == 1);
    device.device_id = 0x1080;
    CHECK_FALSE(virtio::device_id_of(device).has_value());
    device.vendor_id = 0x8086;
    device.device_id = 0x1041;
    CHECK_FALSE(virtio::device_id_of(device).has_value());

    const virtio::Driver drivers[] = {
        {"net-probe", 1, 0, probe_nothing}, {"balloon-probe", 5, 0, probe_nothing},
        {"net", 1, 10, probe_nothing},      {"net-other", 1, 10, probe_nothing},
        {"no-probe", 2, 0, nullptr},
    };
    CHECK(std::string(virtio::find_driver(drivers, 1)->name) == "net");
    CHECK(std::string(virtio::find_driver(drivers, 5)->name) == "balloon-probe");
    CHECK(virtio::find_driver(drivers, 2) == nullptr);
    CHECK(virtio::find_driver(drivers, 9) == nullptr);
}
