#include "net/wire/arp.hpp"

#include <cstring>

namespace net {

kernel::Result<ArpPacket, ParseError> ArpPacket::parse(std::span<const std::byte> bytes) {
    if (bytes.size() < k_size) return kernel::err(ParseError::Truncated);
    ArpHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    if (h.hardware_type != 1 || h.protocol_type != 0x0800) return kernel::err(ParseError::Unsupported);
    if (h.hardware_length != 6 || h.protocol_length != 4) return kernel::err(ParseError::Malformed);
    if (h.operation != 1 && h.operation != 2) return kernel::err(ParseError::Unsupported);
    return ArpPacket{static_cast<ArpOperation>(h.operation.value()), h.sender_mac, Ipv4Address{h.sender_ip},
                     h.target_mac, Ipv4Address{h.target_ip}};
}

void ArpPacket::emit(std::span<std::byte> out) const {
    ArpHeader h{1,          0x0800,         6, 4, static_cast<std::uint16_t>(operation), sender_mac, sender_ip.value,
                target_mac, target_ip.value};
    std::memcpy(out.data(), &h, sizeof h);
}

}  // namespace net
