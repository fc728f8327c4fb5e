#include "net/wire/ipv4.hpp"

#include <cstring>

#include "net/checksum.hpp"

namespace net {

kernel::Result<Ipv4Packet, ParseError> Ipv4Packet::parse(std::span<const std::byte> bytes) {
    if (bytes.size() < k_min_header) return kernel::err(ParseError::Truncated);
    Ipv4Packet p;
    std::memcpy(&p.m_header, bytes.data(), sizeof p.m_header);
    if ((p.m_header.version_ihl >> 4) != 4) return kernel::err(ParseError::BadVersion);
    std::size_t header_length = std::size_t{p.m_header.version_ihl & 0x0Fu} * 4;
    if (header_length < k_min_header || header_length > bytes.size()) return kernel::err(ParseError::BadHeaderLength);
    std::size_t total = p.m_header.total_length;
    if (total < header_length || total > bytes.size()) return kernel::err(ParseError::BadTotalLength);
    if (internet_checksum(bytes.first(header_length)) != 0) return kernel::err(ParseError::BadChecksum);
    p.m_header_length = header_length;
    p.m_header_bytes = bytes.first(header_length);
    p.m_payload = bytes.subspan(header_length, total - header_length);
    return p;
}

void Ipv4Packet::emit(std::span<std::byte> out, const Fields& f) {
    std::uint16_t flags = static_cast<std::uint16_t>(
        (f.dont_fragment ? k_dont_fragment : 0) | (f.more_fragments ? k_more_fragments : 0) | (f.fragment_offset / 8));
    Ipv4Header h{0x45,
                 0,
                 static_cast<std::uint16_t>(k_min_header + f.payload_length),
                 f.identification,
                 flags,
                 f.ttl,
                 static_cast<std::uint8_t>(f.protocol),
                 0,
                 f.source.value,
                 f.destination.value};
    h.checksum = internet_checksum(std::as_bytes(std::span(&h, 1)));
    std::memcpy(out.data(), &h, sizeof h);
}

void add_pseudo_header(Checksum& checksum, Ipv4Address source, Ipv4Address destination, IpProtocol protocol,
                       std::uint16_t length) {
    checksum.add32(source.value);
    checksum.add32(destination.value);
    checksum.add16(static_cast<std::uint8_t>(protocol));
    checksum.add16(length);
}

}  // namespace net
