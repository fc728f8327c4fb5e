#include "net/wire/ethernet.hpp"

#include <cstring>

namespace net {

const char* to_string(ParseError error) {
    switch (error) {
        case ParseError::Truncated: return "truncated";
        case ParseError::BadVersion: return "bad version";
        case ParseError::BadHeaderLength: return "bad header length";
        case ParseError::BadTotalLength: return "bad total length";
        case ParseError::BadChecksum: return "bad checksum";
        case ParseError::Unsupported: return "unsupported";
        case ParseError::Malformed: return "malformed";
    }
    return "unknown parse error";
}

kernel::Result<EthernetFrame, ParseError> EthernetFrame::parse(std::span<const std::byte> frame) {
    if (frame.size() < k_header_size) return kernel::err(ParseError::Truncated);
    EthernetHeader header;
    std::memcpy(&header, frame.data(), sizeof header);
    return EthernetFrame(header, frame.subspan(k_header_size));
}

void EthernetFrame::emit(std::span<std::byte> out, netif::MacAddress destination, netif::MacAddress source,
                         EtherType type) {
    EthernetHeader header{destination, source, static_cast<std::uint16_t>(type)};
    std::memcpy(out.data(), &header, sizeof header);
}

}  // namespace net
