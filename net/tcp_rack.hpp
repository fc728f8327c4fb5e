#pragma once
// RACK (RFC 8985 §6): a segment is lost when a segment sent after it was delivered more
// than a reordering window later than a round trip after it was sent. Time-based, so it
// also finds lost retransmissions, and needs no count of duplicate ACKs. The connection
// feeds it the segments each ACK delivers and asks it which are lost; the tail loss probe
// (§7) is the connection's (tcp_output.cpp).

#include <cstdint>
#include <optional>

#include "net/tcp_scoreboard.hpp"
#include "runtime/time.hpp"

namespace net {

class TcpRack {
public:
    // The number of a DupThresh's worth of SACKed segments (RFC 8985 §6.2 step 4).
    static constexpr std::size_t k_dup_threshold = 3;
    // §6.2 step 4: the window's multiplier is kept for this many recoveries after a D-SACK.
    static constexpr int k_reo_wnd_persist = 16;

    // §6.2 step 2, for each segment the ACK acknowledged or SACKed for the first time.
    // `ambiguous`: a retransmitted segment this ACK may be for the original of (the
    // timestamp echoed predates the retransmission, or it came back too soon).
    void on_delivered(const ScoreboardEntry& segment, bool ambiguous, runtime::Instant now);
    // §6.2 step 4, the D-SACK part: a D-SACK arrived on an ACK (snd_nxt: SND.NXT then).
    void on_dsack(std::uint32_t snd_una, std::uint32_t snd_nxt);
    // SND.UNA moved: a D-SACK round ends once it passes the round's SND.NXT.
    void on_snd_una(std::uint32_t snd_una);
    // Fast or RTO recovery ended (the window's multiplier decays).
    void on_recovery_exit();
    // §6.2 step 4.
    [[nodiscard]] runtime::Duration reo_wnd(bool in_recovery, std::size_t segments_sacked, runtime::Duration min_rtt,
                                            runtime::Duration srtt) const;

    struct Detection {
        std::size_t newly_lost = 0;
        std::size_t lost_retransmissions = 0;      // of those, segments lost again when resent
        std::optional<runtime::Duration> timeout;  // when to look again (§6.3's reordering timer)
    };
    // §6.2 step 5: marks in `board` the segments now deemed lost.
    Detection detect_loss(TcpScoreboard& board, runtime::Duration reo_wnd, runtime::Instant now) const;

    [[nodiscard]] bool has_delivery() const { return m_xmit_ts.has_value(); }
    [[nodiscard]] bool reordering_seen() const { return m_reordering_seen; }
    [[nodiscard]] runtime::Duration rtt() const { return m_rtt; }
    [[nodiscard]] unsigned reo_wnd_mult() const { return m_reo_wnd_mult; }

private:
    // Whether (t1, seq1) was sent after (t2, seq2) (RFC 8985 §6.2 step 2's RACK_sent_after).
    static bool sent_after(runtime::Instant t1, std::uint32_t seq1, runtime::Instant t2, std::uint32_t seq2);

    std::optional<runtime::Instant> m_xmit_ts;  // RACK.xmit_ts: the latest-sent segment delivered
    std::uint32_t m_end_seq = 0;                // RACK.end_seq
    runtime::Duration m_rtt{0};                 // RACK.rtt: its round trip
    std::optional<std::uint32_t> m_fack;        // RACK.fack: the highest sequence delivered
    bool m_reordering_seen = false;
    std::optional<std::uint32_t> m_dsack_round;
    unsigned m_reo_wnd_mult = 1;
    int m_reo_wnd_persist = 0;
};

}  // namespace net
