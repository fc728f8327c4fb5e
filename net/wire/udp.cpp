#include "net/wire/udp.hpp"

#include <cstring>

#include "net/checksum.hpp"
#include "net/wire/ipv4.hpp"

namespace net {

kernel::Result<UdpDatagram, ParseError> UdpDatagram::parse(std::span<const std::byte> bytes, Ipv4Address source,
                                                           Ipv4Address destination, ChecksumCheck check) {
    if (bytes.size() < k_header_size) return kernel::err(ParseError::Truncated);
    UdpDatagram d;
    std::memcpy(&d.m_header, bytes.data(), sizeof d.m_header);
    std::size_t length = d.m_header.length;
    if (length < k_header_size || length > bytes.size()) return kernel::err(ParseError::BadTotalLength);
    if (check == ChecksumCheck::Verify && d.m_header.checksum != 0) {
        Checksum sum;
        add_pseudo_header(sum, source, destination, IpProtocol::Udp, static_cast<std::uint16_t>(length));
        sum.add(bytes.first(length));
        if (!sum.verifies()) return kernel::err(ParseError::BadChecksum);
    }
    d.m_payload = bytes.subspan(k_header_size, length - k_header_size);
    return d;
}

void UdpDatagram::emit(std::span<std::byte> out, Ipv4Address source, Ipv4Address destination, std::uint16_t source_port,
                       std::uint16_t destination_port, std::size_t payload_length) {
    auto length = static_cast<std::uint16_t>(k_header_size + payload_length);
    UdpHeader h{source_port, destination_port, length, 0};
    std::memcpy(out.data(), &h, sizeof h);
    Checksum sum;
    add_pseudo_header(sum, source, destination, IpProtocol::Udp, length);
    sum.add(out.first(length));
    std::uint16_t value = sum.finish();
    Big16 checksum = value == 0 ? std::uint16_t{0xFFFF} : value;  // 0 would mean "no checksum"
    std::memcpy(out.data() + 6, &checksum, sizeof checksum);
}

}  // namespace net
