// Loss recovery for the sending side: the SACK scoreboard fed from incoming blocks
// (RFC 2018, RFC 2883), RACK-TLP loss detection (RFC 8985), Proportional Rate Reduction
// (RFC 6937), NewReno for connections without SACK (RFC 6582) and the Eifel response to
// a spurious timeout (RFC 4015). The state machine that calls these is tcp_connection.cpp.
#include "net/tcp.hpp"
#include "net/tcp_connection.hpp"
#include "net/tcp_internal.hpp"

namespace net {

using namespace tcp_flags;
using namespace tcp_detail;

std::uint32_t TcpConnection::process_sack(const TcpSegment& seg, runtime::Instant now, bool& dsack) {
    const TcpOptions& options = seg.options();
    if (!use_scoreboard() || options.sack_count == 0) return 0;
    std::uint32_t newly = 0;
    for (std::size_t i = 0; i < options.sack_count; ++i) {
        SackBlock block = options.sack[i];
        if (!seq_lt(block.left, block.right) || seq_gt(block.right, m_snd_max)) continue;  // RFC 2018 §3
        // RFC 2883 §4: a first block below the cumulative ACK, or inside the second one,
        // reports a duplicate (a D-SACK), not new data held.
        bool duplicate = i == 0 && (seq_le(block.right, seg.acknowledgment()) ||
                                    (options.sack_count > 1 && seq_ge(block.left, options.sack[1].left) &&
                                     seq_le(block.right, options.sack[1].right)));
        if (duplicate) {
            dsack = true;
            continue;
        }
        if (!seq_gt(block.right, m_snd_una)) continue;
        newly += m_board.sack(block, [&](const ScoreboardEntry& s) { on_delivered(s, &seg, now); });
    }
    if (dsack) {
        ++m_stats.dsacks_received;
        m_rack.on_dsack(m_snd_una, m_snd_max);
    }
    return newly;
}

void TcpConnection::on_delivered(const ScoreboardEntry& segment, const TcpSegment* ack, runtime::Instant now) {
    // RFC 8985 §6.2 step 2: for a retransmitted segment, an ACK echoing a timestamp from
    // before the retransmission (or coming back quicker than any round trip) may be for
    // the original, and would give RACK too short a round trip.
    bool ambiguous = false;
    if (segment.retransmitted()) {
        const auto& ts = ack != nullptr ? ack->options().timestamps : std::nullopt;
        if (m_ts_ok && ts && ts->echo != 0 && seq_lt(ts->echo, timestamp_now(segment.sent_at))) ambiguous = true;
        if (now - segment.sent_at < m_rtt.min_rtt()) ambiguous = true;
    }
    m_rack.on_delivered(segment, ambiguous, now);
}

void TcpConnection::detect_loss(std::uint32_t delivered, runtime::Instant now) {
    m_reo_at.reset();
    if (!m_rack.has_delivery() || m_board.empty()) return;
    runtime::Duration srtt = m_rtt.srtt().value_or(m_rtt.min_rtt());
    runtime::Duration reo_wnd =
        m_rack.reo_wnd(m_in_recovery || m_rto_recovery, m_board.sacked_segments(), m_rtt.min_rtt(), srtt);
    TcpRack::Detection found = m_rack.detect_loss(m_board, reo_wnd, now);
    if (found.newly_lost > 0) {
        m_stats.rack_lost_segments += found.newly_lost;
        m_stats.lost_retransmissions += found.lost_retransmissions;
        if (!m_in_recovery && !m_rto_recovery) enter_sack_recovery(now);
    }
    if (found.timeout) m_reo_at = now + *found.timeout;  // RFC 8985 §6.3
    if (m_in_recovery) {
        // RFC 6937: cwnd = pipe + sndcnt on every ACK of the recovery.
        std::uint32_t pipe = m_board.in_flight();
        m_cc.set_recovery_window(pipe + m_prr.on_ack(delivered, pipe, m_mss));
    }
}

void TcpConnection::begin_fast_recovery(runtime::Instant now) {
    ++m_stats.fast_retransmits;
    ++m_layer.mutable_stats().fast_retransmits;
    m_in_recovery = true;
    m_tlp_at.reset();
    m_recover = m_snd_max;
    m_cc.on_congestion_event(flight_size(), now);
    m_rtt_valid = false;
}

void TcpConnection::enter_sack_recovery(runtime::Instant now) {
    begin_fast_recovery(now);
    m_prr.start(m_cc.ssthresh(), flight_size());
}

void TcpConnection::process_tlp_ack(const TcpSegment& seg, bool advanced, bool dsack, std::uint32_t newly_sacked,
                                    runtime::Instant now) {
    // RFC 8985 §7.4 (as Linux's tcp_process_tlp_ack): a probe that resent the tail either
    // repaired a loss (the ACK moves past it: reduce the window once, as for any loss) or
    // was not needed (a D-SACK, or a plain duplicate ACK, shows the original arrived).
    if (!m_tlp_high_seq) return;
    std::uint32_t ack = seg.acknowledgment();
    bool not_needed = !m_tlp_retransmitted || dsack ||
                      (!advanced && newly_sacked == 0 && seg.payload().empty() && seq_ge(ack, *m_tlp_high_seq));
    if (not_needed) {
        m_tlp_high_seq.reset();
    } else if (seq_gt(ack, *m_tlp_high_seq)) {
        m_tlp_high_seq.reset();
        ++m_stats.tlp_repairs;
        if (!m_in_recovery && !m_rto_recovery) {
            m_cc.on_congestion_event(flight_size(), now);
            m_cc.on_recovery_exit(now);
        }
    }
}

void TcpConnection::undo_spurious_timeout() {
    // RFC 4015 §2 (the Eifel response): the window before the timeout comes back, and
    // what the timeout deemed lost is in flight after all.
    ++m_stats.spurious_timeouts;
    if (m_undo_cc) m_cc = *m_undo_cc;
    if (use_scoreboard())
        m_board.clear_lost();
    else
        m_snd_nxt = m_snd_max;  // on with new data, not the rest of the window again
    m_rto_recovery = false;
    m_rto_tsval.reset();
    m_undo_cc.reset();
}

void TcpConnection::on_duplicate_ack(runtime::Instant now) {
    if (m_in_recovery) {
        m_cwnd_extra += m_mss;  // RFC 6582 §3.2 step 3
        return;
    }
    ++m_dupacks;
    // RFC 6582 §3.2 step 2: no second fast retransmit for losses of the same window.
    if (m_dupacks >= k_dup_threshold && seq_ge(m_snd_una, m_recover)) enter_recovery(now);
}

void TcpConnection::enter_recovery(runtime::Instant now) {
    // NewReno (RFC 6582 §3.2 step 2), for connections without SACK.
    begin_fast_recovery(now);
    std::uint32_t end = seq_lt(data_end(), m_snd_max) ? data_end() : m_snd_max;
    std::uint32_t length = seq_lt(m_snd_una, end) ? min32(m_mss, end - m_snd_una) : 0;
    bool fin = m_fin_sent && m_snd_una + length == data_end();
    if (length > 0 || fin)
        send_segment(m_snd_una, length, static_cast<std::uint8_t>(k_ack | (fin ? k_fin : 0)), now, true);
    m_cwnd_extra = k_dup_threshold * m_mss;
}

}  // namespace net
