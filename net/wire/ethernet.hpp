#pragma once
// Ethernet II frames (IEEE 802.3 with an EtherType). No VLAN tags: a tagged frame parses
// with type 0x8100 and the stack drops it as unsupported.

#include <cstddef>
#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

enum class EtherType : std::uint16_t { Ipv4 = 0x0800, Arp = 0x0806, Vlan = 0x8100, Ipv6 = 0x86DD };

struct [[gnu::packed]] EthernetHeader {
    netif::MacAddress destination;
    netif::MacAddress source;
    Big16 ether_type;
};
static_assert(sizeof(EthernetHeader) == 14);

class EthernetFrame {
public:
    static constexpr std::size_t k_header_size = sizeof(EthernetHeader);

    static kernel::Result<EthernetFrame, ParseError> parse(std::span<const std::byte> frame);

    [[nodiscard]] netif::MacAddress destination() const { return m_header.destination; }
    [[nodiscard]] netif::MacAddress source() const { return m_header.source; }
    [[nodiscard]] std::uint16_t ether_type() const { return m_header.ether_type; }
    // Everything after the header (including any padding to the 60-byte minimum).
    [[nodiscard]] std::span<const std::byte> payload() const { return m_payload; }

    // Writes a header at the start of out (which must hold k_header_size bytes).
    static void emit(std::span<std::byte> out, netif::MacAddress destination, netif::MacAddress source, EtherType type);

private:
    EthernetFrame(const EthernetHeader& header, std::span<const std::byte> payload)
        : m_header(header), m_payload(payload) {}
    EthernetHeader m_header;
    std::span<const std::byte> m_payload;
};

}  // namespace net
