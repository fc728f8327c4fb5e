#pragma once
// UDP (RFC 768).

#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] UdpHeader {
    Big16 source_port;
    Big16 destination_port;
    Big16 length;
    Big16 checksum;
};
static_assert(sizeof(UdpHeader) == 8);

class UdpDatagram {
public:
    static constexpr std::size_t k_header_size = sizeof(UdpHeader);

    enum class ChecksumCheck { Verify, AlreadyVerified };
    // Checks the length field against the buffer (a longer buffer is trimmed) and, unless
    // the device already did, the checksum with the pseudo-header. A zero checksum means
    // "none" (RFC 768).
    static kernel::Result<UdpDatagram, ParseError> parse(std::span<const std::byte> bytes, Ipv4Address source,
                                                         Ipv4Address destination,
                                                         ChecksumCheck check = ChecksumCheck::Verify);

    [[nodiscard]] std::uint16_t source_port() const { return m_header.source_port; }
    [[nodiscard]] std::uint16_t destination_port() const { return m_header.destination_port; }
    [[nodiscard]] std::span<const std::byte> payload() const { return m_payload; }

    // Writes the header (payload must already follow it in out) and the checksum.
    static void emit(std::span<std::byte> out, Ipv4Address source, Ipv4Address destination, std::uint16_t source_port,
                     std::uint16_t destination_port, std::size_t payload_length);

private:
    UdpDatagram() = default;
    UdpHeader m_header{};
    std::span<const std::byte> m_payload;
};

}  // namespace net
