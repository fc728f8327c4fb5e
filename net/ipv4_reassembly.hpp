#pragma once
// IPv4 fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2) with bounded memory and time.
//
// Each datagram in progress holds one large buffer (from a pool the interface owns, big
// enough for a 65535-byte datagram) and a bitmap of the 8-byte blocks received so far; the
// bitmap replaces RFC 815's hole list and makes overlaps easy to see. Rules:
//
//   - At most max_datagrams in progress and max_bytes received-but-incomplete bytes in all;
//     a fragment beyond either limit is dropped and counted (nothing is evicted).
//   - A datagram not complete after the timeout (30 s, as Linux; RFC 1122 asks for at
//     most 60-120 s) is dropped; the interface then sends ICMP time exceeded, code 1, if the
//     first fragment had arrived.
//   - A fragment that would make the datagram longer than 65535 bytes drops the datagram.
//   - Overlaps: a fragment that repeats bytes already received with the same content is a
//     duplicate and harmless; one that disagrees with them, or with the length the last
//     fragment gave, drops the whole datagram (as RFC 5722 does for every overlap in IPv6:
//     overlapping fragments are an attack on whoever inspects them, never a network fault).
//   - A fragment with more-fragments set whose payload is empty or not a multiple of 8
//     bytes is malformed.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "net/address.hpp"
#include "net/wire/ipv4.hpp"
#include "netif/packet_buffer.hpp"
#include "runtime/time.hpp"

namespace net {

struct ReassemblyConfig {
    std::size_t max_datagrams = 4;                    // at most Ipv4Reassembler::k_slots
    std::size_t max_bytes = std::size_t{192} * 1024;  // received bytes of all incomplete datagrams
    runtime::Duration timeout = std::chrono::seconds(30);
};

struct ReassemblyStats {
    std::uint64_t fragments = 0;     // fragments offered
    std::uint64_t reassembled = 0;   // complete datagrams handed on
    std::uint64_t duplicates = 0;    // fragments whose bytes had all arrived before
    std::uint64_t overlaps = 0;      // datagrams dropped for overlaps that disagree
    std::uint64_t timeouts = 0;      // datagrams dropped incomplete
    std::uint64_t too_big = 0;       // datagrams dropped for passing 65535 bytes
    std::uint64_t malformed = 0;     // fragments with a bad length
    std::uint64_t table_full = 0;    // fragments dropped: max_datagrams in progress
    std::uint64_t memory_limit = 0;  // fragments dropped: max_bytes reached
    std::uint64_t no_buffer = 0;     // fragments dropped: no large buffer free
};

class Ipv4Reassembler {
public:
    static constexpr std::size_t k_slots = 8;
    static constexpr std::size_t k_max_datagram = 65535;  // RFC 791 total length
    // The largest payload: the total length less the shortest header.
    static constexpr std::size_t k_max_payload = k_max_datagram - Ipv4Packet::k_min_header;
    static constexpr std::size_t k_max_header = 60;
    // What a buffer from the pool must hold past its head-room.
    static constexpr std::size_t k_buffer_bytes = k_max_header + k_max_payload;

    explicit Ipv4Reassembler(const ReassemblyConfig& config = {});
    Ipv4Reassembler(const Ipv4Reassembler&) = delete;
    Ipv4Reassembler& operator=(const Ipv4Reassembler&) = delete;
    ~Ipv4Reassembler();

    // Where datagrams are put together; nullptr (the default) drops every fragment as
    // no_buffer. The pool must outlive this object and its buffers must hold k_buffer_bytes.
    void set_pool(netif::BufferPool* pool) { m_pool = pool; }

    // Adds one fragment (fragment.is_fragment()). Returns the reassembled datagram when this
    // fragment completed it: the buffer's bytes are a whole IPv4 packet (the first
    // fragment's header, options included, with the new total length, no fragment bits and
    // a fresh checksum). The caller owns it.
    netif::PacketBuffer* add(const Ipv4Packet& fragment, runtime::Instant now);

    // Drops datagrams whose time ran out. For each one whose first fragment arrived,
    // timed_out(header, payload_start) gets that fragment's header and the first
    // (up to 8) bytes of its payload, for an ICMP time exceeded message.
    template <typename TimedOut>
    void expire(runtime::Instant now, TimedOut&& timed_out);

    [[nodiscard]] std::optional<runtime::Instant> poll_at() const;
    [[nodiscard]] std::size_t in_progress() const;
    [[nodiscard]] std::size_t bytes_held() const { return m_bytes_held; }
    [[nodiscard]] const ReassemblyStats& stats() const { return m_stats; }

private:
    static constexpr std::size_t k_blocks = (k_max_payload + 7) / 8;
    struct Slot {
        bool used = false;
        Ipv4Address source;
        Ipv4Address destination;
        std::uint8_t protocol = 0;
        std::uint16_t identification = 0;
        runtime::Instant deadline{};
        netif::PacketBuffer* buffer = nullptr;                       // payload byte i at data()[k_max_header + i]
        std::array<std::uint64_t, (k_blocks + 63) / 64> received{};  // one bit per 8-byte block
        std::size_t blocks = 0;                                      // bits set
        std::size_t bytes = 0;             // payload bytes received (counted against max_bytes)
        std::size_t end_seen = 0;          // highest payload end of any fragment
        std::optional<std::size_t> total;  // payload length, once the last fragment arrived
        std::array<std::byte, k_max_header> header{};
        std::size_t header_length = 0;  // 0 until the first fragment arrived
    };
    Slot* find_or_start(const Ipv4Packet& fragment, runtime::Instant now);
    bool has_block(const Slot& slot, std::size_t block) const {
        return ((slot.received[block / 64] >> (block % 64)) & 1u) != 0;
    }
    netif::PacketBuffer* complete(Slot& slot);
    void drop(Slot& slot);

    ReassemblyConfig m_config;
    netif::BufferPool* m_pool = nullptr;
    std::array<Slot, k_slots> m_slots{};
    std::size_t m_bytes_held = 0;
    ReassemblyStats m_stats;
};

template <typename TimedOut>
void Ipv4Reassembler::expire(runtime::Instant now, TimedOut&& timed_out) {
    for (Slot& slot : m_slots) {
        if (!slot.used || now < slot.deadline) continue;
        ++m_stats.timeouts;
        if (slot.header_length != 0) {
            std::size_t quoted = slot.end_seen < 8 ? slot.end_seen : 8;
            timed_out(std::span<const std::byte>(slot.header.data(), slot.header_length),
                      std::span<const std::byte>(slot.buffer->data() + k_max_header, quoted));
        }
        drop(slot);
    }
}

}  // namespace net
