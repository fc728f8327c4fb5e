#include "net/tcp_rack.hpp"

#include <algorithm>

namespace net {

bool TcpRack::sent_after(runtime::Instant t1, std::uint32_t seq1, runtime::Instant t2, std::uint32_t seq2) {
    return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

void TcpRack::on_delivered(const ScoreboardEntry& segment, bool ambiguous, runtime::Instant now) {
    // §6.2 step 2 (RACK_update): the round trip of the latest-sent segment delivered. For
    // a retransmission the ACK may be for the original; then the sample would be too short.
    if (!ambiguous) {
        m_rtt = now - segment.sent_at;
        if (!m_xmit_ts || sent_after(segment.sent_at, segment.end, *m_xmit_ts, m_end_seq)) {
            m_xmit_ts = segment.sent_at;
            m_end_seq = segment.end;
        }
    }
    // Step 3 (RACK_detect_reordering): delivered below the highest delivered, and not by a
    // retransmission, means the network reordered.
    if (!m_fack || seq_gt(segment.end, *m_fack)) {
        m_fack = segment.end;
    } else if (seq_lt(segment.end, *m_fack) && !segment.retransmitted()) {
        m_reordering_seen = true;
    }
}

void TcpRack::on_snd_una(std::uint32_t snd_una) {
    if (m_dsack_round && seq_ge(snd_una, *m_dsack_round)) m_dsack_round.reset();
}

void TcpRack::on_dsack(std::uint32_t snd_una, std::uint32_t snd_nxt) {
    // Step 4: each round trip that sees a D-SACK widens the window by min_RTT / 4, kept
    // for 16 recoveries.
    on_snd_una(snd_una);
    if (m_dsack_round) return;
    m_dsack_round = snd_nxt;
    ++m_reo_wnd_mult;
    m_reo_wnd_persist = k_reo_wnd_persist;
}

void TcpRack::on_recovery_exit() {
    if (--m_reo_wnd_persist <= 0) {
        m_reo_wnd_persist = 0;
        m_reo_wnd_mult = 1;
    }
}

runtime::Duration TcpRack::reo_wnd(bool in_recovery, std::size_t segments_sacked, runtime::Duration min_rtt,
                                   runtime::Duration srtt) const {
    // Without reordering seen, a recovery (or DupThresh SACKed segments) means loss: no
    // waiting, as RFC 6675's three duplicate ACKs would not wait.
    if (!m_reordering_seen && (in_recovery || segments_sacked >= k_dup_threshold)) return runtime::Duration{0};
    return std::min<runtime::Duration>(m_reo_wnd_mult * min_rtt / 4, srtt);
}

TcpRack::Detection TcpRack::detect_loss(TcpScoreboard& board, runtime::Duration reo_wnd, runtime::Instant now) const {
    Detection result;
    if (!m_xmit_ts) return result;
    for (std::size_t i = 0; i < board.size(); ++i) {
        const ScoreboardEntry& segment = board[i];
        if (segment.sacked) continue;
        if (!sent_after(*m_xmit_ts, m_end_seq, segment.sent_at, segment.end)) {
            // Entries are in sequence order and first transmissions in time order: after a
            // first transmission that is not older than RACK.xmit_ts, every later entry
            // (a first transmission or a retransmission) went out later still.
            if (!segment.retransmitted()) break;
            continue;
        }
        if (segment.lost) continue;  // until it is sent again
        runtime::Duration remaining = segment.sent_at + m_rtt + reo_wnd - now;
        if (remaining <= runtime::Duration{0}) {
            board.mark_lost(i);
            ++result.newly_lost;
            if (segment.retransmitted()) ++result.lost_retransmissions;
        } else if (!result.timeout || remaining > *result.timeout) {
            result.timeout = remaining;
        }
    }
    return result;
}

}  // namespace net
