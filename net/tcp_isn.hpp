#pragma once
// Initial sequence numbers (RFC 6528) and SYN cookies, both keyed with SipHash-2-4.
// The seed must be secret and unpredictable (from the platform's random source): whoever
// knows it can predict ISNs and forge cookies.

#include <cstdint>
#include <optional>

#include "net/siphash.hpp"
#include "net/tcp_tuple.hpp"
#include "runtime/time.hpp"

namespace net {

class TcpIsnGenerator {
public:
    explicit TcpIsnGenerator(std::uint64_t seed);  // the 128-bit key derived from the seed

    // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
    // timer ticking every 4 microseconds, F the low 32 bits of SipHash over the tuple.
    [[nodiscard]] std::uint32_t isn(const TcpFourTuple& tuple, runtime::Instant now) const;

private:
    SipHashKey m_key;
};

struct SynCookieOptions {
    std::uint16_t mss = 536;
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    constexpr bool operator==(const SynCookieOptions&) const = default;
};

// The cookie, our ISN for a SYN answered without keeping state:
//
//   31                                   9   8   7   5   4       1   0
//  +--------------------------------------+---+-------+-----------+---+
//  |  MAC: 23 bits of SipHash             | T |  MSS  |  wscale   | S |
//  +--------------------------------------+---+-------+-----------+---+
//
//  T       the parity of the 64-second time slot the cookie was made in
//  MSS     index into k_syn_cookie_mss (the peer's MSS rounded down)
//  wscale  the peer's window scale, 0..14 (RFC 7323 §2.3), 15 = no option
//  S       SACK-permitted (RFC 2018 §2)
//  MAC     SipHash(key; 4-tuple, peer ISN, full slot number, bits 8..0), top 23 bits
//
// The MAC covers the option bits, so none can be changed, and the full slot number, so
// the parity bit is enough to tell "this slot" from "the one before": a cookie is valid
// for 64 to 128 seconds. A forgery is accepted with probability 2^-23 per attempt.
class TcpSynCookies {
public:
    // The MSS values a cookie can carry: common Ethernet, tunnel and jumbo sizes.
    static constexpr std::uint16_t k_mss_table[8] = {88, 536, 1200, 1360, 1400, 1440, 1460, 8960};
    static constexpr runtime::Duration k_slot = std::chrono::seconds{64};

    explicit TcpSynCookies(std::uint64_t seed);

    // The MSS is rounded down to the table (below 88, Linux's floor too, it becomes 88);
    // a window scale over 14 is taken as 14.
    [[nodiscard]] std::uint32_t encode(const TcpFourTuple& tuple, std::uint32_t peer_isn,
                                       const SynCookieOptions& options, runtime::Instant now) const;
    // For the ACK completing the handshake: cookie = ack - 1, peer_isn = seq - 1. The
    // options if the cookie is genuine and from this time slot or the previous one.
    [[nodiscard]] std::optional<SynCookieOptions> decode(const TcpFourTuple& tuple, std::uint32_t peer_isn,
                                                         std::uint32_t cookie, runtime::Instant now) const;

private:
    [[nodiscard]] std::uint32_t mac(const TcpFourTuple& tuple, std::uint32_t peer_isn, std::uint64_t slot,
                                    std::uint32_t low_bits) const;

    SipHashKey m_key;
};

}  // namespace net
