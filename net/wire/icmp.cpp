#include "net/wire/icmp.hpp"

#include <cstring>

#include "net/checksum.hpp"

namespace net {

kernel::Result<IcmpMessage, ParseError> IcmpMessage::parse(std::span<const std::byte> bytes) {
    if (bytes.size() < k_header_size) return kernel::err(ParseError::Truncated);
    if (internet_checksum(bytes) != 0) return kernel::err(ParseError::BadChecksum);
    IcmpMessage m;
    std::memcpy(&m.m_header, bytes.data(), sizeof m.m_header);
    m.m_data = bytes.subspan(k_header_size);
    return m;
}

void IcmpMessage::emit(std::span<std::byte> out, IcmpType type, std::uint8_t code, std::uint16_t identifier,
                       std::uint16_t sequence, std::span<const std::byte> data) {
    IcmpHeader h{static_cast<std::uint8_t>(type), code, 0, identifier, sequence};
    std::memcpy(out.data(), &h, sizeof h);
    if (!data.empty()) std::memmove(out.data() + sizeof h, data.data(), data.size());
    Big16 checksum = internet_checksum(out.first(sizeof h + data.size()));
    std::memcpy(out.data() + 2, &checksum, sizeof checksum);
}

}  // namespace net
