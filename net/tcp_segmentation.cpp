#include "net/tcp_segmentation.hpp"

#include <cstring>

#include "net/checksum.hpp"
#include "net/endian.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"

namespace net {
namespace segmentation_detail {
namespace {

constexpr std::size_t k_ethernet_header = 14;
constexpr std::uint16_t k_ether_type_ipv4 = 0x0800;

std::uint16_t load16(const std::byte* p) {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
std::uint32_t load32(const std::byte* p) { return (std::uint32_t{load16(p)} << 16) | load16(p + 2); }
void store16(std::byte* p, std::uint16_t v) {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}
void store32(std::byte* p, std::uint32_t v) {
    store16(p, static_cast<std::uint16_t>(v >> 16));
    store16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace

kernel::Result<Layout, SegmentationError> parse(std::span<const std::byte> frame) {
    Layout l;
    if (frame.size() < k_ethernet_header + 20 || load16(frame.data() + 12) != k_ether_type_ipv4)
        return kernel::err(SegmentationError::Malformed);
    const std::byte* ip = frame.data() + k_ethernet_header;
    auto version_ihl = std::to_integer<unsigned>(ip[0]);
    l.ip_header = std::size_t{version_ihl & 0xF} * 4;
    std::size_t total = load16(ip + 2);
    if ((version_ihl >> 4) != 4 || l.ip_header < 20 || total > frame.size() - k_ethernet_header ||
        total < l.ip_header + TcpSegment::k_header_size || std::to_integer<unsigned>(ip[9]) != 6)
        return kernel::err(SegmentationError::Malformed);
    l.tcp_header = std::size_t{std::to_integer<unsigned>(ip[l.ip_header + 12]) >> 4} * 4;
    if (l.tcp_header < TcpSegment::k_header_size || l.ip_header + l.tcp_header > total)
        return kernel::err(SegmentationError::Malformed);
    l.payload = total - l.ip_header - l.tcp_header;
    return l;
}

std::size_t build_piece(std::span<const std::byte> frame, const Layout& l, std::size_t segment_size, std::size_t index,
                        std::size_t length, bool last, std::span<std::byte> out) {
    std::size_t headers = l.headers();
    std::memcpy(out.data(), frame.data(), headers);
    std::memcpy(out.data() + headers, frame.data() + headers + index * segment_size, length);
    std::byte* ip = out.data() + l.ip_offset;
    std::byte* tcp = ip + l.ip_header;
    auto ip_length = static_cast<std::uint16_t>(l.ip_header + l.tcp_header + length);
    store16(ip + 2, ip_length);
    store16(ip + 4, static_cast<std::uint16_t>(load16(ip + 4) + index));
    store16(ip + 10, 0);
    store16(ip + 10, internet_checksum({ip, l.ip_header}));
    store32(tcp + 4, static_cast<std::uint32_t>(load32(tcp + 4) + index * segment_size));
    auto flags = std::to_integer<std::uint8_t>(tcp[13]);
    if (!last) flags = static_cast<std::uint8_t>(flags & ~(tcp_flags::k_fin | tcp_flags::k_psh));
    if (index > 0) flags = static_cast<std::uint8_t>(flags & ~tcp_flags::k_cwr);
    tcp[13] = static_cast<std::byte>(flags);
    store16(tcp + 16, 0);
    Checksum sum;
    add_pseudo_header(sum, Ipv4Address{load32(ip + 12)}, Ipv4Address{load32(ip + 16)}, IpProtocol::Tcp,
                      static_cast<std::uint16_t>(l.tcp_header + length));
    sum.add({tcp, l.tcp_header + length});
    store16(tcp + 16, sum.finish());
    return headers + length;
}

}  // namespace segmentation_detail

bool complete_checksum(std::span<std::byte> frame, std::size_t start, std::size_t offset) {
    if (start > frame.size() || offset + 2 > frame.size() - start) return false;
    Checksum sum;
    sum.add(frame.subspan(start));
    std::uint16_t value = sum.finish();
    frame[start + offset] = static_cast<std::byte>(value >> 8);
    frame[start + offset + 1] = static_cast<std::byte>(value);
    return true;
}

}  // namespace net
