#pragma once
// ARP for IPv4 over Ethernet (RFC 826).

#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] ArpHeader {
    Big16 hardware_type;  // 1: Ethernet
    Big16 protocol_type;  // 0x0800: IPv4
    std::uint8_t hardware_length;
    std::uint8_t protocol_length;
    Big16 operation;
    netif::MacAddress sender_mac;
    Big32 sender_ip;
    netif::MacAddress target_mac;
    Big32 target_ip;
};
static_assert(sizeof(ArpHeader) == 28);

enum class ArpOperation : std::uint16_t { Request = 1, Reply = 2 };

struct ArpPacket {
    static constexpr std::size_t k_size = sizeof(ArpHeader);

    ArpOperation operation;
    netif::MacAddress sender_mac;
    Ipv4Address sender_ip;
    netif::MacAddress target_mac;
    Ipv4Address target_ip;

    // Only Ethernet/IPv4 requests and replies parse; anything else is Unsupported or Malformed.
    static kernel::Result<ArpPacket, ParseError> parse(std::span<const std::byte> bytes);
    void emit(std::span<std::byte> out) const;
};

}  // namespace net
