#pragma once
// DHCP messages (RFC 2131 §2, options from RFC 2132): the fixed BOOTP part and the
// options we use, parsed with every length checked.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] DhcpHeader {
    std::uint8_t op;  // 1 request, 2 reply
    std::uint8_t htype;
    std::uint8_t hlen;
    std::uint8_t hops;
    Big32 xid;
    Big16 secs;
    Big16 flags;  // bit 15: broadcast
    Big32 ciaddr;
    Big32 yiaddr;
    Big32 siaddr;
    Big32 giaddr;
    std::uint8_t chaddr[16];
    std::uint8_t sname[64];
    std::uint8_t file[128];
    Big32 magic_cookie;
};
static_assert(sizeof(DhcpHeader) == 240);

enum class DhcpMessageType : std::uint8_t {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8
};

struct DhcpMessage {
    static constexpr std::uint32_t k_magic_cookie = 0x63825363;
    static constexpr std::uint16_t k_server_port = 67;
    static constexpr std::uint16_t k_client_port = 68;

    DhcpMessageType type{};
    std::uint32_t xid = 0;
    netif::MacAddress client_mac;
    Ipv4Address client_ip;  // ciaddr
    Ipv4Address your_ip;    // yiaddr
    std::optional<Ipv4Address> server_id;
    std::optional<Ipv4Address> requested_ip;
    std::optional<Ipv4Address> subnet_mask;
    std::optional<Ipv4Address> router;
    std::optional<Ipv4Address> dns;
    std::optional<std::uint32_t> lease_seconds;
    std::optional<std::uint32_t> renewal_seconds;    // T1
    std::optional<std::uint32_t> rebinding_seconds;  // T2

    // A reply from a server (op 2) for Ethernet; anything else is an error.
    static kernel::Result<DhcpMessage, ParseError> parse(std::span<const std::byte> bytes);
    // A client request (op 1) with the options that are set; returns the length used,
    // or 0 if out is too small (k_max_size always fits).
    std::size_t emit(std::span<std::byte> out, bool broadcast) const;
    static constexpr std::size_t k_max_size = sizeof(DhcpHeader) + 64;
};

}  // namespace net
