#pragma once
// TCP segments on the wire (RFC 9293 §3.1) and the options we speak: MSS (RFC 9293
// §3.7.1), window scale and timestamps (RFC 7323 §2, §3), SACK-permitted and SACK blocks
// (RFC 2018 §2, §3).

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] TcpHeader {
    Big16 source_port;
    Big16 destination_port;
    Big32 sequence;
    Big32 acknowledgment;
    std::uint8_t data_offset;  // high 4 bits: header length in 32-bit words
    std::uint8_t flags;
    Big16 window;
    Big16 checksum;
    Big16 urgent_pointer;
};
static_assert(sizeof(TcpHeader) == 20);

namespace tcp_flags {
constexpr std::uint8_t k_fin = 0x01;
constexpr std::uint8_t k_syn = 0x02;
constexpr std::uint8_t k_rst = 0x04;
constexpr std::uint8_t k_psh = 0x08;
constexpr std::uint8_t k_ack = 0x10;
constexpr std::uint8_t k_urg = 0x20;
constexpr std::uint8_t k_ece = 0x40;
constexpr std::uint8_t k_cwr = 0x80;
}  // namespace tcp_flags

struct SackBlock {
    std::uint32_t left;   // first sequence number of the block
    std::uint32_t right;  // one past the last
    constexpr bool operator==(const SackBlock&) const = default;
};

struct TcpTimestamps {
    std::uint32_t value;  // TSval
    std::uint32_t echo;   // TSecr
};

struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> window_scale;  // clamped to 14 (RFC 7323 §2.3)
    bool sack_permitted = false;
    std::optional<TcpTimestamps> timestamps;
    std::array<SackBlock, 4> sack{};
    std::uint8_t sack_count = 0;

    static constexpr std::size_t k_max_length = 40;
    // Writes the options (each aligned with NOPs) and returns the length. SACK blocks
    // beyond what fits in 40 bytes (three with timestamps, else four) are left out.
    std::size_t emit(std::span<std::byte> out) const;
    [[nodiscard]] std::size_t length() const;
};

class TcpSegment {
public:
    static constexpr std::size_t k_header_size = sizeof(TcpHeader);

    enum class ChecksumCheck { Verify, AlreadyVerified };
    // Checks the data offset against the buffer and the checksum with the pseudo-header;
    // malformed options are an error (RFC 9293 §3.1 lets us drop such segments).
    static kernel::Result<TcpSegment, ParseError> parse(std::span<const std::byte> bytes, Ipv4Address source,
                                                        Ipv4Address destination,
                                                        ChecksumCheck check = ChecksumCheck::Verify);

    [[nodiscard]] std::uint16_t source_port() const { return m_header.source_port; }
    [[nodiscard]] std::uint16_t destination_port() const { return m_header.destination_port; }
    [[nodiscard]] std::uint32_t sequence() const { return m_header.sequence; }
    [[nodiscard]] std::uint32_t acknowledgment() const { return m_header.acknowledgment; }
    [[nodiscard]] std::uint8_t flags() const { return m_header.flags; }
    [[nodiscard]] bool has(std::uint8_t flag) const { return (m_header.flags & flag) != 0; }
    [[nodiscard]] std::uint16_t window() const { return m_header.window; }
    [[nodiscard]] const TcpOptions& options() const { return m_options; }
    [[nodiscard]] std::span<const std::byte> payload() const { return m_payload; }
    // Sequence space the segment occupies: data, plus one each for SYN and FIN.
    [[nodiscard]] std::uint32_t sequence_length() const;

    struct Fields {
        std::uint16_t source_port;
        std::uint16_t destination_port;
        std::uint32_t sequence;
        std::uint32_t acknowledgment;
        std::uint8_t flags;
        std::uint16_t window;
        TcpOptions options;
    };
    // Writes header and options at the start of out; the payload (payload_length bytes)
    // must already follow them. With offload, only the pseudo-header sum is stored and the
    // device finishes the checksum (virtio-net NEEDS_CSUM). Returns the header length.
    static std::size_t emit(std::span<std::byte> out, const Fields& fields, Ipv4Address source, Ipv4Address destination,
                            std::size_t payload_length, bool checksum_offload = false);
    // Header length emit() would produce.
    static std::size_t header_length(const TcpOptions& options) { return k_header_size + options.length(); }

private:
    TcpSegment() = default;
    TcpHeader m_header{};
    TcpOptions m_options;
    std::span<const std::byte> m_payload;
};

// Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4).
constexpr bool seq_lt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
constexpr bool seq_le(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) <= 0; }
constexpr bool seq_gt(std::uint32_t a, std::uint32_t b) { return seq_lt(b, a); }
constexpr bool seq_ge(std::uint32_t a, std::uint32_t b) { return seq_le(b, a); }

}  // namespace net
