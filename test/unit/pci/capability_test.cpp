#include <catch2/catch.hpp>

#include "pci/capability.hpp"
#include "test/unit/pci/fake_config_space.hpp"

using pci::CapabilityProblem;

namespace {

constexpr pci::Address k_address{0, 2, 0};

}  // namespace

TEST_CASE("capabilities: the list is walked in order and searched by ID") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.add_capability(0x11, std::vector<std::uint8_t>(10));  // MSI-X
    function.add_capability(0x09, std::vector<std::uint8_t>(14));  // vendor
    function.add_capability(0x09, std::vector<std::uint8_t>(14));
    function.add_capability(0x05, std::vector<std::uint8_t>(8));  // MSI

    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.problem() == CapabilityProblem::None);
    REQUIRE(list.size() == 4);
    CHECK(list.all()[0].id == 0x11);
    CHECK(list.all()[0].offset == 0x40);
    CHECK(list.find(0x11)->offset == 0x40);
    auto first_vendor = list.find(0x09);
    REQUIRE(first_vendor);
    CHECK(first_vendor->offset == 0x4C);
    CHECK(list.find(0x09, 2)->offset == 0x5C);
    CHECK_FALSE(list.find(0x10).has_value());
}

TEST_CASE("capabilities: none without the status bit, whatever the pointer says") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.bytes[0x34] = 0x40;
    function.bytes[0x40] = 0x11;
    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.size() == 0);
    CHECK(list.problem() == CapabilityProblem::None);
}

TEST_CASE("capabilities: a malicious list that loops ends the walk") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    std::uint8_t first = function.add_capability(0x09, {0, 0});
    std::uint8_t second = function.add_capability(0x11, {0, 0});
    function.bytes[second + 1] = first;  // back to the start

    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.problem() == CapabilityProblem::Loop);
    CHECK(list.size() == 2);
    CHECK(list.find(0x11).has_value());
}

TEST_CASE("capabilities: a capability that points at itself") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    std::uint8_t only = function.add_capability(0x09);
    function.bytes[only + 1] = only;
    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.problem() == CapabilityProblem::Loop);
    CHECK(list.size() == 1);
}

TEST_CASE("capabilities: a loop through unaligned pointers is caught after masking") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    std::uint8_t first = function.add_capability(0x09, {0, 0});
    function.bytes[first + 1] = static_cast<std::uint8_t>(first | 0x3);  // reserved bits set: still 0x40
    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.problem() == CapabilityProblem::Loop);
    CHECK(list.size() == 1);
}

TEST_CASE("capabilities: a pointer into the standard header is refused") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    std::uint8_t first = function.add_capability(0x09);
    function.bytes[first + 1] = 0x10;  // the BARs
    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.problem() == CapabilityProblem::OutOfRange);
    CHECK(list.size() == 1);
}

TEST_CASE("capabilities: a chain through every dword is bounded by the space") {
    test::FakeConfigSpace config;
    auto& function = config.add(k_address, 0x1AF4, 0x1041, 0x020000);
    function.put16(0x06, pci::status::k_capabilities_list);
    function.bytes[0x34] = 0x40;
    for (unsigned at = 0x40; at < 0x100; at += 4) {
        function.bytes[at] = 0x09;
        function.bytes[at + 1] = static_cast<std::uint8_t>(at + 4 < 0x100 ? at + 4 : 0x40);  // last one loops
    }
    auto list = pci::CapabilityList::read(config, k_address);
    CHECK(list.size() == pci::CapabilityList::k_max);
    CHECK(list.problem() == CapabilityProblem::Loop);
    CHECK(config.reads < 2 * static_cast<int>(pci::CapabilityList::k_max) + 4);
}
