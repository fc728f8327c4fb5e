#include <catch2/catch.hpp>

#include "pci/enumerate.hpp"
#include "pci/intx_routing.hpp"
#include "test/unit/pci/fake_config_space.hpp"

namespace {

// QEMU's pc machine as qboot leaves it: PIRQA-D routed to IRQs 10, 10, 11, 11.
void i440fx(test::FakeConfigSpace& config) {
    config.add({0, 0, 0}, 0x8086, 0x1237, 0x060000);
    auto& piix = config.add({0, 1, 0}, 0x8086, 0x7000, 0x060100, pci::header_type::k_multifunction);
    piix.bytes[0x60] = 10;
    piix.bytes[0x61] = 10;
    piix.bytes[0x62] = 11;
    piix.bytes[0x63] = 11;
}

// QEMU's q35 machine: PIRQA-D to 10, 10, 11, 11 and PIRQE-H to 10, 10, 11, 11.
void q35(test::FakeConfigSpace& config) {
    config.add({0, 0, 0}, 0x8086, 0x29C0, 0x060000);
    auto& lpc = config.add({0, 0x1F, 0}, 0x8086, 0x2918, 0x060100, pci::header_type::k_multifunction);
    for (std::uint8_t i = 0; i < 4; ++i) {
        lpc.bytes[0x60 + i] = i < 2 ? 10 : 11;
        lpc.bytes[0x68 + i] = i < 2 ? 10 : 11;
    }
}

std::optional<std::uint8_t> route(test::FakeConfigSpace& config, pci::Address address) {
    pci::DeviceTable table;
    test::enumerate_with_details(config, table);
    return pci::chipset_intx_irq(config, table.all(), *table.find(address));
}

}  // namespace

TEST_CASE("intx routing: i440fx slots rotate over PIRQA-D") {
    test::FakeConfigSpace config;
    i440fx(config);
    config.add({0, 2, 0}, 0x1AF4, 0x1000, 0x020000).interrupt(11, 1);  // qboot's line: wrong
    config.add({0, 3, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(11, 1);
    config.add({0, 4, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(0, 2);  // INTB
    CHECK(route(config, {0, 2, 0}) == 10);                            // PIRQB
    CHECK(route(config, {0, 3, 0}) == 11);                            // PIRQC
    CHECK(route(config, {0, 4, 0}) == 10);                            // (1 + 4 - 1) mod 4: PIRQA
}

TEST_CASE("intx routing: behind a bridge the pin rotates by the device number first") {
    test::FakeConfigSpace config;
    i440fx(config);
    config.add_bridge({0, 2, 0}, 1, 1);
    config.add({1, 2, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(10, 1);
    // INTA of 01:02.0 is INTC at the bridge, slot 2: PIRQ (2 + 2 - 1) mod 4 = D.
    CHECK(route(config, {1, 2, 0}) == 11);
}

TEST_CASE("intx routing: q35 slots go to PIRQE-H, the chipset's own to PIRQA-D") {
    test::FakeConfigSpace config;
    q35(config);
    config.add({0, 1, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(11, 1);
    config.add({0, 2, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(11, 1);
    config.add({0, 0x1F, 2}, 0x8086, 0x2922, 0x010601).interrupt(10, 1);
    CHECK(route(config, {0, 1, 0}) == 10);     // PIRQF
    CHECK(route(config, {0, 2, 0}) == 11);     // PIRQG
    CHECK(route(config, {0, 0x1F, 2}) == 10);  // PIRQA
}

TEST_CASE("intx routing: a q35 root port's device") {
    test::FakeConfigSpace config;
    q35(config);
    config.add_bridge({0, 5, 0}, 1, 1);
    config.add({1, 0, 0}, 0x1AF4, 0x1045, 0x00FF00).interrupt(11, 1);
    CHECK(route(config, {1, 0, 0}) == 10);  // INTA at slot 5: PIRQ E + (5 mod 4) = F
}

TEST_CASE("intx routing: no pin, an unrouted PIRQ, another chipset") {
    test::FakeConfigSpace config;
    i440fx(config);
    config.at({0, 1, 0}).bytes[0x62] = 0x80 | 11;  // PIRQC disabled
    config.add({0, 3, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(11, 1);
    config.add({0, 4, 0}, 0x1AF4, 0x1002, 0x00FF00);
    CHECK_FALSE(route(config, {0, 3, 0}).has_value());
    CHECK_FALSE(route(config, {0, 4, 0}).has_value());

    test::FakeConfigSpace other;
    other.add({0, 0, 0}, 0x1022, 0x1450, 0x060000);
    other.add({0, 3, 0}, 0x1AF4, 0x1002, 0x00FF00).interrupt(11, 1);
    CHECK_FALSE(route(other, {0, 3, 0}).has_value());
}
