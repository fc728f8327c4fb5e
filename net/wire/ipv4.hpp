#pragma once
// IPv4 headers (RFC 791): validation on the way in, construction on the way out.

#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] Ipv4Header {
    std::uint8_t version_ihl;
    std::uint8_t dscp_ecn;
    Big16 total_length;
    Big16 identification;
    Big16 flags_fragment;  // bit 14: don't fragment, bit 13: more fragments, 12..0: offset / 8
    std::uint8_t ttl;
    std::uint8_t protocol;
    Big16 checksum;
    Big32 source;
    Big32 destination;
};
static_assert(sizeof(Ipv4Header) == 20);

enum class IpProtocol : std::uint8_t { Icmp = 1, Tcp = 6, Udp = 17 };

class Ipv4Packet {
public:
    static constexpr std::size_t k_min_header = sizeof(Ipv4Header);
    static constexpr std::uint16_t k_dont_fragment = 1 << 14;
    static constexpr std::uint16_t k_more_fragments = 1 << 13;

    // Checks version, header length, total length against the buffer (a longer buffer,
    // e.g. Ethernet padding, is trimmed) and the header checksum.
    static kernel::Result<Ipv4Packet, ParseError> parse(std::span<const std::byte> bytes);

    [[nodiscard]] Ipv4Address source() const { return Ipv4Address{m_header.source}; }
    [[nodiscard]] Ipv4Address destination() const { return Ipv4Address{m_header.destination}; }
    [[nodiscard]] std::uint8_t protocol() const { return m_header.protocol; }
    [[nodiscard]] std::uint8_t ttl() const { return m_header.ttl; }
    [[nodiscard]] std::uint16_t identification() const { return m_header.identification; }
    [[nodiscard]] bool more_fragments() const { return (m_header.flags_fragment & k_more_fragments) != 0; }
    [[nodiscard]] bool dont_fragment() const { return (m_header.flags_fragment & k_dont_fragment) != 0; }
    // In bytes.
    [[nodiscard]] std::uint32_t fragment_offset() const { return (m_header.flags_fragment & 0x1FFFu) * 8u; }
    [[nodiscard]] bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
    [[nodiscard]] std::size_t header_length() const { return m_header_length; }
    // The header, options included (for ICMP errors that quote it).
    [[nodiscard]] std::span<const std::byte> header_bytes() const { return m_header_bytes; }
    [[nodiscard]] std::span<const std::byte> payload() const { return m_payload; }

    struct Fields {
        Ipv4Address source;
        Ipv4Address destination;
        IpProtocol protocol;
        std::uint16_t payload_length;
        std::uint16_t identification = 0;
        std::uint8_t ttl = 64;
        bool dont_fragment = true;
        std::uint16_t fragment_offset = 0;  // bytes, a multiple of 8
        bool more_fragments = false;
    };
    // Writes a 20-byte header with its checksum at the start of out.
    static void emit(std::span<std::byte> out, const Fields& fields);

private:
    Ipv4Packet() = default;
    Ipv4Header m_header{};
    std::size_t m_header_length = 0;
    std::span<const std::byte> m_header_bytes;
    std::span<const std::byte> m_payload;
};

// The TCP/UDP pseudo-header's contribution to a checksum (RFC 768, RFC 9293 §3.1).
class Checksum;
void add_pseudo_header(Checksum& checksum, Ipv4Address source, Ipv4Address destination, IpProtocol protocol,
                       std::uint16_t length);

}  // namespace net
