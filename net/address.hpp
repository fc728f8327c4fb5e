#pragma once
// IPv4 addresses and prefixes, with parsing from text and formatting. MAC addresses are
// the link layer's (netif/mac_address.hpp).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kernel/format.hpp"
#include "netif/mac_address.hpp"

namespace net {

// Host order inside: 10.0.0.1 is 0x0A000001.
struct Ipv4Address {
    std::uint32_t value = 0;

    static constexpr Ipv4Address from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        return {(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d};
    }
    static constexpr Ipv4Address any() { return {0}; }
    static constexpr Ipv4Address broadcast() { return {0xFFFFFFFF}; }
    // Dotted quad; nullopt for anything else (leading/trailing junk, octets over 255).
    static std::optional<Ipv4Address> parse(std::string_view text);

    [[nodiscard]] constexpr bool is_any() const { return value == 0; }
    [[nodiscard]] constexpr bool is_broadcast() const { return value == 0xFFFFFFFF; }
    [[nodiscard]] constexpr bool is_multicast() const { return (value >> 28) == 0xE; }
    [[nodiscard]] constexpr bool is_loopback() const { return (value >> 24) == 127; }
    [[nodiscard]] constexpr std::uint8_t octet(int i) const { return static_cast<std::uint8_t>(value >> (24 - 8 * i)); }
    constexpr auto operator<=>(const Ipv4Address&) const = default;
};

// An address with its prefix length: 10.0.0.2/24.
struct Ipv4Cidr {
    Ipv4Address address;
    std::uint8_t prefix_length = 0;

    static std::optional<Ipv4Cidr> parse(std::string_view text);
    [[nodiscard]] constexpr std::uint32_t mask() const {
        return prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
    }
    [[nodiscard]] constexpr bool contains(Ipv4Address a) const {
        return (a.value & mask()) == (address.value & mask());
    }
    [[nodiscard]] constexpr Ipv4Address network() const { return {address.value & mask()}; }
    [[nodiscard]] constexpr Ipv4Address directed_broadcast() const { return {address.value | ~mask()}; }
    constexpr bool operator==(const Ipv4Cidr&) const = default;
};

}  // namespace net

template <>
struct kernel::fmt::Formatter<net::Ipv4Address> {
    static void format(Sink& sink, const Spec& spec, const net::Ipv4Address& address);
};
template <>
struct kernel::fmt::Formatter<net::Ipv4Cidr> {
    static void format(Sink& sink, const Spec& spec, const net::Ipv4Cidr& cidr);
};
