#include <array>
#include <catch2/catch.hpp>

#include "test/unit/pci/fake_io_window.hpp"

TEST_CASE("io window: a run of bytes reads byte by byte inside the window, all ones past it") {
    test::FakeIoWindow window(8);
    for (std::size_t i = 0; i < 8; ++i) window.bytes[i] = static_cast<std::uint8_t>(0x10 + i);

    std::array<std::uint8_t, 6> mac{};
    window.read_bytes(2, mac);
    CHECK(mac == std::array<std::uint8_t, 6>{0x12, 0x13, 0x14, 0x15, 0x16, 0x17});
    CHECK(window.reads == 6);  // byte accesses, as virtio 1.2 §4.1.3.1 asks for byte fields
    CHECK(window.stray_accesses() == 0);

    std::array<std::uint8_t, 4> past{};
    window.read_bytes(6, past);  // two bytes in, two past the end: none is read
    CHECK(past == std::array<std::uint8_t, 4>{0xFF, 0xFF, 0xFF, 0xFF});
    CHECK(window.reads == 6);
    CHECK(window.stray_accesses() == 1);
    window.read_bytes(9, std::span(past).first(0));  // starts past the end
    CHECK(window.stray_accesses() == 2);
}
