#include <catch2/catch.hpp>

#include "pci/ecam_config_space.hpp"
#include "test/unit/pci/fake_io_window.hpp"

TEST_CASE("ecam: bus, device, function and register become an offset from the region's first bus") {
    kernel::acpi::EcamRegion region{0xE000'0000, 0, 2, 3};  // buses 2-3 only
    test::FakeIoWindow window(region.size());
    pci::EcamConfigSpace ecam(region, window);
    CHECK(ecam.extent() == 4096);
    CHECK(ecam.reaches(2));
    CHECK(ecam.reaches(3));
    CHECK_FALSE(ecam.reaches(0));
    CHECK_FALSE(ecam.reaches(4));

    // Bus 3, device 1, function 2, register 0x104 (extended space).
    std::size_t offset = (1u << 20) | (1u << 15) | (2u << 12) | 0x104;
    window.put(offset, 4, 0x1234'5678);
    CHECK(ecam.read<std::uint32_t>({3, 1, 2}, 0x104) == 0x1234'5678);
    CHECK(ecam.read<std::uint16_t>({3, 1, 2}, 0x106) == 0x1234);
    ecam.write<std::uint8_t>({2, 0, 0}, 0x3C, 0x0B);
    CHECK(window.get(0x3C, 1) == 0x0B);
}

TEST_CASE("ecam: buses outside the region and bad offsets read as nothing") {
    kernel::acpi::EcamRegion region{0xE000'0000, 0, 0, 0};
    test::FakeIoWindow window(region.size());
    pci::EcamConfigSpace ecam(region, window);
    CHECK(ecam.read<std::uint32_t>({1, 0, 0}, 0) == 0xFFFF'FFFF);
    CHECK(ecam.read<std::uint16_t>({0, 0, 0}, 0xFFF) == 0xFFFF);        // misaligned
    CHECK(ecam.read<std::uint32_t>({0, 0, 0}, 0x1000) == 0xFFFF'FFFF);  // past the 4 KiB
    CHECK(ecam.read<std::uint32_t>({0, 32, 0}, 0) == 0xFFFF'FFFF);      // no device 32
    CHECK(window.reads == 0);
}
