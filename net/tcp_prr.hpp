#pragma once
// Proportional Rate Reduction (RFC 6937): how much a connection in fast recovery may send
// on each ACK, so that by the end of recovery cwnd has come down to ssthresh smoothly,
// sending in proportion to what the peer delivers, instead of halving at once and then
// sending nothing for half a round trip (or bursting when many losses shrink the pipe).

#include <cstdint>

namespace net {

class TcpPrr {
public:
    // Entering recovery (RFC 6937 §3 "on entering recovery"): recover_fs is the flight
    // size then.
    void start(std::uint32_t ssthresh, std::uint32_t recover_fs);
    // On each ACK in recovery: `delivered` bytes newly acknowledged or SACKed, `pipe` the
    // bytes in flight now. Returns sndcnt, what may be sent on this ACK (cwnd = pipe + sndcnt).
    std::uint32_t on_ack(std::uint32_t delivered, std::uint32_t pipe, std::uint32_t mss);
    // Data (new or retransmitted) sent during recovery.
    void on_sent(std::uint32_t bytes) { m_out += bytes; }

    [[nodiscard]] std::uint64_t delivered() const { return m_delivered; }
    [[nodiscard]] std::uint64_t out() const { return m_out; }

private:
    std::uint32_t m_ssthresh = 0;
    std::uint32_t m_recover_fs = 1;
    std::uint64_t m_delivered = 0;  // prr_delivered
    std::uint64_t m_out = 0;        // prr_out
};

}  // namespace net
