#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "pci/address.hpp"
#include "pci/device.hpp"

namespace {

template <typename... Args>
std::string format(kernel::fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    std::array<char, 64> buffer{};
    kernel::fmt::BufferSink sink(buffer);
    kernel::fmt::format_to<Args...>(sink, format, args...);
    return std::string(sink.view());
}

}  // namespace

TEST_CASE("address: printed as lspci does") {
    CHECK(format("{}", pci::Address{0, 3, 0}) == "00:03.0");
    CHECK(format("{}", pci::Address{0xAB, 0x1F, 7}) == "ab:1f.7");
    CHECK(format("[{:>9}]", pci::Address{1, 2, 3}) == "[  01:02.3]");
}

TEST_CASE("class names") {
    CHECK(std::string(pci::class_name(0x06, 0x00)) == "host bridge");
    CHECK(std::string(pci::class_name(0x02, 0x00)) == "ethernet");
    CHECK(std::string(pci::class_name(0x01, 0x06)) == "SATA");
    CHECK(std::string(pci::class_name(0x42, 0x00)) == "other");
}
