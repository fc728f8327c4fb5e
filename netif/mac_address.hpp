#pragma once
// An Ethernet (IEEE 802) MAC address: what a network device has and the link layer
// addresses frames to.

#include <array>
#include <cstdint>

#include "kernel/format.hpp"

namespace netif {

struct MacAddress {
    std::array<std::uint8_t, 6> bytes{};

    static constexpr MacAddress broadcast() { return {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}; }
    [[nodiscard]] constexpr bool is_broadcast() const { return *this == broadcast(); }
    [[nodiscard]] constexpr bool is_multicast() const { return (bytes[0] & 1) != 0; }
    [[nodiscard]] constexpr bool is_zero() const { return *this == MacAddress{}; }
    constexpr bool operator==(const MacAddress&) const = default;
};

}  // namespace netif

template <>
struct kernel::fmt::Formatter<netif::MacAddress> {
    static void format(Sink& sink, const Spec& spec, const netif::MacAddress& mac);
};
