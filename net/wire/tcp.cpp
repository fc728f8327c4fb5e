#include "net/wire/tcp.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/wire/ipv4.hpp"

namespace net {
namespace {

// Option kinds (IANA "TCP Option Kind Numbers").
constexpr std::uint8_t k_end = 0;
constexpr std::uint8_t k_nop = 1;
constexpr std::uint8_t k_mss = 2;
constexpr std::uint8_t k_window_scale = 3;
constexpr std::uint8_t k_sack_permitted = 4;
constexpr std::uint8_t k_sack = 5;
constexpr std::uint8_t k_timestamps = 8;

std::uint32_t read32(const std::byte* p) {
    Big32 v;
    std::memcpy(&v, p, 4);
    return v;
}

bool parse_options(std::span<const std::byte> bytes, TcpOptions& options) {
    for (std::size_t i = 0; i < bytes.size();) {
        auto kind = std::to_integer<std::uint8_t>(bytes[i]);
        if (kind == k_end) break;
        if (kind == k_nop) {
            ++i;
            continue;
        }
        if (i + 1 >= bytes.size()) return false;
        std::size_t length = std::to_integer<std::uint8_t>(bytes[i + 1]);
        if (length < 2 || i + length > bytes.size()) return false;
        const std::byte* value = bytes.data() + i + 2;
        switch (kind) {
            case k_mss:
                if (length != 4) return false;
                options.mss = static_cast<std::uint16_t>((std::to_integer<unsigned>(value[0]) << 8) |
                                                         std::to_integer<unsigned>(value[1]));
                break;
            case k_window_scale:
                if (length != 3) return false;
                options.window_scale = std::min<std::uint8_t>(std::to_integer<std::uint8_t>(value[0]), 14);
                break;
            case k_sack_permitted:
                if (length != 2) return false;
                options.sack_permitted = true;
                break;
            case k_sack: {
                if ((length - 2) % 8 != 0 || length == 2) return false;
                std::size_t blocks = (length - 2) / 8;
                for (std::size_t b = 0; b < blocks && options.sack_count < options.sack.size(); ++b) {
                    options.sack[options.sack_count++] = {read32(value + 8 * b), read32(value + 8 * b + 4)};
                }
                break;
            }
            case k_timestamps:
                if (length != 10) return false;
                options.timestamps = TcpTimestamps{read32(value), read32(value + 4)};
                break;
            default: break;  // unknown options are skipped by their length (RFC 9293 §3.1)
        }
        i += length;
    }
    return true;
}

}  // namespace

namespace {
// Everything but the SACK blocks.
std::size_t base_length(const TcpOptions& o) {
    std::size_t n = 0;
    if (o.mss) n += 4;
    if (o.window_scale) n += 4;                     // NOP + 3
    if (o.timestamps) n += 12;                      // NOP NOP (or SACK-permitted) + 10
    if (o.sack_permitted && !o.timestamps) n += 4;  // NOP NOP + 2
    return n;
}
// SACK blocks that fit in the 40 bytes beside the other options (RFC 2018 §3: three with
// timestamps); the rest are left for later segments.
std::size_t sack_blocks_that_fit(const TcpOptions& o) {
    std::size_t room = TcpOptions::k_max_length - base_length(o);
    std::size_t fit = room >= 12 ? (room - 4) / 8 : 0;
    return std::min<std::size_t>(o.sack_count, fit);
}
}  // namespace

std::size_t TcpOptions::length() const {
    std::size_t blocks = sack_blocks_that_fit(*this);
    return base_length(*this) + (blocks != 0 ? 4 + 8 * blocks : 0);
}

std::size_t TcpOptions::emit(std::span<std::byte> out) const {
    if (out.size() < length()) return 0;
    std::size_t n = 0;
    auto put = [&](unsigned v) { out[n++] = std::byte{static_cast<std::uint8_t>(v)}; };
    auto put32 = [&](std::uint32_t v) {
        Big32 b = v;
        std::memcpy(out.data() + n, &b, 4);
        n += 4;
    };
    if (mss) {
        put(k_mss), put(4), put(*mss >> 8), put(*mss & 0xFF);
    }
    if (window_scale) {
        put(k_nop), put(k_window_scale), put(3), put(*window_scale);
    }
    if (timestamps) {
        // SACK-permitted shares the timestamps' alignment padding, as Linux sends it.
        if (sack_permitted)
            put(k_sack_permitted), put(2);
        else
            put(k_nop), put(k_nop);
        put(k_timestamps), put(10), put32(timestamps->value), put32(timestamps->echo);
    } else if (sack_permitted) {
        put(k_nop), put(k_nop), put(k_sack_permitted), put(2);
    }
    if (std::size_t blocks = sack_blocks_that_fit(*this); blocks != 0) {
        put(k_nop), put(k_nop), put(k_sack), put(static_cast<unsigned>(2 + 8 * blocks));
        for (std::size_t b = 0; b < blocks; ++b) put32(sack[b].left), put32(sack[b].right);
    }
    return n;
}

kernel::Result<TcpSegment, ParseError> TcpSegment::parse(std::span<const std::byte> bytes, Ipv4Address source,
                                                         Ipv4Address destination, ChecksumCheck check) {
    if (bytes.size() < k_header_size) return kernel::err(ParseError::Truncated);
    TcpSegment s;
    std::memcpy(&s.m_header, bytes.data(), sizeof s.m_header);
    std::size_t header_length = std::size_t{static_cast<unsigned>(s.m_header.data_offset >> 4)} * 4;
    if (header_length < k_header_size || header_length > bytes.size()) return kernel::err(ParseError::BadHeaderLength);
    if (check == ChecksumCheck::Verify) {
        Checksum sum;
        add_pseudo_header(sum, source, destination, IpProtocol::Tcp, static_cast<std::uint16_t>(bytes.size()));
        sum.add(bytes);
        if (!sum.verifies()) return kernel::err(ParseError::BadChecksum);
    }
    if (!parse_options(bytes.subspan(k_header_size, header_length - k_header_size), s.m_options)) {
        return kernel::err(ParseError::Malformed);
    }
    s.m_payload = bytes.subspan(header_length);
    return s;
}

std::uint32_t TcpSegment::sequence_length() const {
    return static_cast<std::uint32_t>(m_payload.size()) + (has(tcp_flags::k_syn) ? 1u : 0u) +
           (has(tcp_flags::k_fin) ? 1u : 0u);
}

std::size_t TcpSegment::emit(std::span<std::byte> out, const Fields& f, Ipv4Address source, Ipv4Address destination,
                             std::size_t payload_length, bool checksum_offload) {
    std::size_t options_length = f.options.length();
    std::size_t header_length = k_header_size + options_length;
    TcpHeader h{f.source_port,
                f.destination_port,
                f.sequence,
                f.acknowledgment,
                static_cast<std::uint8_t>((header_length / 4) << 4),
                f.flags,
                f.window,
                0,
                0};
    std::memcpy(out.data(), &h, sizeof h);
    f.options.emit(out.subspan(k_header_size, options_length));
    auto segment_length = static_cast<std::uint16_t>(header_length + payload_length);
    Checksum sum;
    add_pseudo_header(sum, source, destination, IpProtocol::Tcp, segment_length);
    std::uint16_t value;
    if (checksum_offload) {
        // The device adds the segment's sum to this and complements (virtio 1.2 §5.1.6.2).
        sum.add16(0);
        value = static_cast<std::uint16_t>(~sum.finish());
    } else {
        sum.add(out.first(segment_length));
        value = sum.finish();
    }
    Big16 checksum = value;
    std::memcpy(out.data() + 16, &checksum, sizeof checksum);
    return header_length;
}

}  // namespace net
