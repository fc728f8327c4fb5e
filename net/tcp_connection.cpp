// The connection's state machine: opening, segment arrival (RFC 9293 §3.10.7), closing,
// and the application side. What it sends and its timers are in tcp_output.cpp, loss
// recovery in tcp_recovery.cpp.
#include "net/tcp_connection.hpp"

#include <algorithm>

#include "net/tcp.hpp"
#include "net/tcp_internal.hpp"

namespace net {

using namespace tcp_flags;
using std::chrono::milliseconds;

const char* to_string(TcpState state) {
    switch (state) {
        case TcpState::Closed: return "CLOSED";
        case TcpState::SynSent: return "SYN-SENT";
        case TcpState::SynReceived: return "SYN-RECEIVED";
        case TcpState::Established: return "ESTABLISHED";
        case TcpState::FinWait1: return "FIN-WAIT-1";
        case TcpState::FinWait2: return "FIN-WAIT-2";
        case TcpState::CloseWait: return "CLOSE-WAIT";
        case TcpState::Closing: return "CLOSING";
        case TcpState::LastAck: return "LAST-ACK";
        case TcpState::TimeWait: return "TIME-WAIT";
    }
    return "?";
}

const char* to_string(TcpError error) {
    switch (error) {
        case TcpError::Reset: return "connection reset by peer";
        case TcpError::Refused: return "connection refused";
        case TcpError::TimedOut: return "connection timed out";
        case TcpError::Closed: return "connection closed";
        case TcpError::NoMemory: return "out of memory for connection buffers";
        case TcpError::NoRoute: return "no route to host";
        case TcpError::AddressInUse: return "port in use";
        case TcpError::NoPorts: return "no free ephemeral port";
        case TcpError::TooManyConnections: return "too many connections";
        case TcpError::NotConnected: return "not connected";
    }
    return "?";
}

using namespace tcp_detail;

TcpConnection::TcpConnection(TcpLayer& layer, const TcpFourTuple& tuple, const TcpConfig& config, runtime::Instant now)
    : m_layer(layer),
      m_tuple(tuple),
      m_config(config),
      m_epoch(now),
      m_cc(config.congestion, k_default_mss, now),
      m_rtt(config.rtt) {}

TcpConnection::~TcpConnection() { m_layer.uncharge(memory); }

bool TcpConnection::synchronized() const {
    return m_state != TcpState::Closed && m_state != TcpState::SynSent && m_state != TcpState::SynReceived;
}

bool TcpConnection::allocate_buffers() {
    if (m_send.allocated()) return true;
    // Smaller buffers rather than none while the layer's memory is short (never below
    // min_buffer, or below what was configured when that is smaller).
    std::size_t send = m_config.send_buffer;
    std::size_t receive = m_config.receive_buffer;
    std::size_t send_floor = std::min(m_config.send_buffer, m_config.min_buffer);
    std::size_t receive_floor = std::min(m_config.receive_buffer, m_config.min_buffer);
    // With the scoreboard (used with SACK): one entry per segment in flight.
    auto cost = [&] { return send + receive + TcpScoreboard::bytes_for(TcpScoreboard::capacity_for(send)); };
    while (cost() > m_layer.memory_available() && (send > send_floor || receive > receive_floor)) {
        send = std::max(send / 2, send_floor);
        receive = std::max(receive / 2, receive_floor);
    }
    std::size_t entries = TcpScoreboard::capacity_for(send);
    std::size_t total = cost();
    if (!m_layer.charge(total)) return false;
    m_config.send_buffer = send;
    m_config.receive_buffer = receive;
    if (!m_send.allocate(m_config.send_buffer) || !m_recv.allocate(m_config.receive_buffer) ||
        !m_board.allocate(entries)) {
        m_send.free();
        m_recv.free();
        m_board.free();
        m_layer.uncharge(total);
        ++m_layer.mutable_stats().no_memory;
        return false;
    }
    memory = total;
    return true;
}

void TcpConnection::set_state(TcpState state, runtime::Instant now) {
    m_state = state;
    if (state == TcpState::TimeWait) {
        m_rto_at.reset();
        m_persist_at.reset();
        m_keepalive_at.reset();
        m_state_timer_at = now + 2 * m_config.msl;
    }
}

// --- opening ---

kernel::Result<void, TcpError> TcpConnection::open_active(std::uint32_t iss, runtime::Instant now) {
    if (!allocate_buffers()) return kernel::err(TcpError::NoMemory);
    m_iss = iss;
    m_snd_una = m_snd_nxt = m_snd_max = iss;
    m_snd_una_data = iss + 1;
    m_recover = iss;
    m_rcv_wscale = m_config.window_scaling ? window_shift_for(m_config.receive_buffer) : 0;
    m_ws_ok = m_config.window_scaling;
    m_ts_ok = m_config.timestamps;
    m_sack_ok = m_config.sack;
    set_state(TcpState::SynSent, now);
    send_syn(now);
    return {};
}

void TcpConnection::open_passive(const TcpSegment& syn, std::uint32_t iss, TcpListener& owner, runtime::Instant now) {
    m_passive = true;
    listener = &owner;
    ++owner.m_half_open;
    m_iss = iss;
    m_snd_una = m_snd_nxt = m_snd_max = iss;
    m_snd_una_data = iss + 1;
    m_recover = iss;
    m_irs = syn.sequence();
    m_rcv_nxt = m_irs + 1;
    m_rcv_adv = m_rcv_nxt;
    m_snd_wl1 = m_irs;
    m_snd_wl2 = iss;
    apply_syn_options(syn.options());
    m_snd_wnd = syn.window();  // never scaled in a SYN (RFC 7323 §2.2)
    m_max_snd_wnd = m_snd_wnd;
    set_state(TcpState::SynReceived, now);
    send_syn(now);
}

kernel::Result<void, TcpError> TcpConnection::open_from_cookie(const TcpSegment& ack, std::uint32_t iss,
                                                               const SynCookieOptions& options, TcpListener& owner,
                                                               runtime::Instant now) {
    m_passive = true;
    if (!allocate_buffers()) return kernel::err(TcpError::NoMemory);
    m_iss = iss;
    m_snd_una = m_snd_nxt = m_snd_max = m_snd_una_data = iss + 1;
    m_recover = iss;
    m_irs = ack.sequence() - 1;
    m_rcv_nxt = ack.sequence();
    m_ws_ok = options.window_scale.has_value() && m_config.window_scaling;
    m_snd_wscale = m_ws_ok ? *options.window_scale : 0;
    m_rcv_wscale = m_ws_ok ? window_shift_for(m_config.receive_buffer) : 0;
    m_sack_ok = options.sack_permitted && m_config.sack;
    m_board.reset(m_snd_una_data);
    m_ts_ok = false;  // the cookie's SYN-ACK offered no timestamps
    m_peer_mss = options.mss;
    m_mss = std::max(k_min_mss, min32(m_peer_mss, static_cast<std::uint32_t>(m_layer.mtu() - 40)));
    m_cc.set_mss(m_mss);
    // What the cookie's SYN-ACK advertised, unscaled.
    m_rcv_adv = m_rcv_nxt + static_cast<std::uint32_t>(std::min<std::size_t>(m_config.receive_buffer, 0xFFFF));
    m_snd_wnd = static_cast<std::uint32_t>(ack.window()) << m_snd_wscale;
    m_max_snd_wnd = m_snd_wnd;
    m_snd_wl1 = ack.sequence();
    m_snd_wl2 = ack.acknowledgment();
    listener = &owner;
    set_state(TcpState::Established, now);
    reset_keepalive(now);
    owner.enqueue(*this);
    return {};
}

void TcpConnection::apply_syn_options(const TcpOptions& options) {
    m_peer_mss = options.mss.value_or(k_default_mss);
    m_ws_ok = options.window_scale.has_value() && m_config.window_scaling;
    m_snd_wscale = m_ws_ok ? *options.window_scale : 0;
    m_rcv_wscale = m_ws_ok ? window_shift_for(m_config.receive_buffer) : 0;
    // An active opener offered everything configured; the peer's SYN-ACK says what stays.
    m_ts_ok = options.timestamps.has_value() && m_config.timestamps;
    if (m_ts_ok) m_ts_recent = options.timestamps->value;
    m_sack_ok = options.sack_permitted && m_config.sack;
    auto mtu_mss = static_cast<std::uint32_t>(m_layer.mtu() - 40);
    m_mss = min32(m_peer_mss, mtu_mss) - (m_ts_ok ? k_timestamp_option : 0);
    m_mss = std::max(m_mss, k_min_mss);
    m_cc.set_mss(m_mss);
}

void TcpConnection::established(runtime::Instant now) {
    if (m_passive && !allocate_buffers()) {
        send_reset(now);
        enter_closed(TcpError::NoMemory, now);
        return;
    }
    set_state(TcpState::Established, now);
    reset_keepalive(now);
    m_retransmissions = 0;
    m_board.reset(m_snd_una_data);
    if (m_passive && listener != nullptr) {
        --listener->m_half_open;
        listener->enqueue(*this);
    }
    wake(connector);
    notify_writable();
}

// --- segment arrival (RFC 9293 §3.10.7) ---

void TcpConnection::process_syn_sent(const TcpSegment& seg, runtime::Instant now) {
    bool ack = seg.has(k_ack);
    // RFC 9293 §3.10.7.3 first: an ACK for something we did not send.
    if (ack && (seq_le(seg.acknowledgment(), m_iss) || seq_gt(seg.acknowledgment(), m_snd_max))) {
        if (!seg.has(k_rst)) {
            m_layer.send_control(m_tuple, seg.acknowledgment(), 0, k_rst, now);
        }
        return;
    }
    if (seg.has(k_rst)) {
        // RFC 5961 §3.2: in SYN-SENT a reset counts only with an acceptable ACK.
        if (ack) enter_closed(TcpError::Refused, now);
        return;
    }
    if (!seg.has(k_syn)) return;
    m_irs = seg.sequence();
    m_rcv_nxt = m_irs + 1;
    m_rcv_adv = m_rcv_nxt;
    apply_syn_options(seg.options());
    m_snd_wnd = seg.window();  // unscaled in a SYN
    m_max_snd_wnd = m_snd_wnd;
    m_snd_wl1 = seg.sequence();
    m_snd_wl2 = seg.acknowledgment();
    if (ack) {
        m_snd_una = seg.acknowledgment();
        m_rto_at.reset();
        if (m_rtt_valid && m_retransmissions == 0) m_rtt.sample(now - m_rtt_sent_at);  // Karn
        m_rtt_valid = false;
        m_rtt.reset_back_off();
        established(now);
        m_ack_now = true;
        output(now);
        return;
    }
    // Simultaneous open (RFC 9293 §3.5 figure 8).
    set_state(TcpState::SynReceived, now);
    send_syn(now);
}

bool TcpConnection::accepts_new_incarnation(const TcpSegment& syn) const {
    if (!seq_gt(syn.sequence(), m_rcv_nxt)) return false;
    if (m_ts_ok && syn.options().timestamps)
        return static_cast<std::int32_t>(syn.options().timestamps->value - m_ts_recent) > 0;
    return true;
}

bool TcpConnection::acceptable(const TcpSegment& seg) const {
    std::uint32_t length = seg.sequence_length();
    std::uint32_t window = receive_window();
    std::uint32_t seq = seg.sequence();
    auto in_window = [&](std::uint32_t s) { return seq_le(m_rcv_nxt, s) && seq_lt(s, m_rcv_nxt + window); };
    if (window == 0) return seq == m_rcv_nxt;  // a zero window still takes ACKs, RSTs and probes
    if (length == 0) return in_window(seq);
    return in_window(seq) || in_window(seq + length - 1);
}

void TcpConnection::on_segment(const TcpSegment& seg, runtime::Instant now) {
    ++m_stats.segments_received;
    if (m_state == TcpState::Closed) return;
    if (m_state == TcpState::SynSent) return process_syn_sent(seg, now);
    reset_keepalive(now);
    m_persist_backoff = 0;

    // Our SYN-ACK got lost: the peer sends its SYN again.
    if (m_state == TcpState::SynReceived && seg.has(k_syn) && !seg.has(k_ack) && seg.sequence() == m_irs) {
        send_syn(now);
        return;
    }
    // PAWS (RFC 7323 §5.3): an old timestamp marks an old duplicate.
    if (m_ts_ok && seg.options().timestamps && !seg.has(k_rst) &&
        static_cast<std::int32_t>(seg.options().timestamps->value - m_ts_recent) < 0) {
        ++m_stats.paws_rejected;
        send_ack(now);
        return;
    }
    if (!acceptable(seg)) {
        if (!seg.has(k_rst)) {
            ++m_stats.duplicate_segments;
            // RFC 2883 §4: report the duplicate (data already acknowledged) in a D-SACK.
            if (!seg.payload().empty() && seq_lt(seg.sequence(), m_rcv_nxt))
                note_duplicate(seg.sequence(), seg.sequence() + static_cast<std::uint32_t>(seg.payload().size()));
            send_ack(now);
        }
        return;
    }
    if (seg.has(k_rst)) {
        // RFC 1337: TIME-WAIT ignores resets. RFC 5961 §3.2: only an exact match resets;
        // anything else in the window gets a challenge ACK.
        if (m_state == TcpState::TimeWait) return;
        if (seg.sequence() != m_rcv_nxt) {
            send_challenge_ack(now);
            return;
        }
        enter_closed(m_state == TcpState::SynReceived && m_passive ? std::nullopt : std::optional(TcpError::Reset),
                     now);
        return;
    }
    if (seg.has(k_syn)) {
        // RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK, whatever its number.
        send_challenge_ack(now);
        return;
    }
    if (!seg.has(k_ack)) return;
    if (m_state == TcpState::SynReceived) {
        if (!(seq_lt(m_snd_una, seg.acknowledgment()) && seq_le(seg.acknowledgment(), m_snd_max))) {
            m_layer.send_control(m_tuple, seg.acknowledgment(), 0, k_rst, now);
            return;
        }
        established(now);
        if (m_state == TcpState::Closed) return;
    }
    if (!process_ack(seg, now)) return;
    if (m_state == TcpState::Closed) return;
    // RFC 7323 §4.3: remember the timestamp of the segment that the next ACK covers.
    if (m_ts_ok && seg.options().timestamps && seq_le(seg.sequence(), m_last_ack_sent)) {
        m_ts_recent = seg.options().timestamps->value;
    }
    process_data(seg, now);
    if (m_state == TcpState::Closed) return;
    output(now);
}

bool TcpConnection::process_ack(const TcpSegment& seg, runtime::Instant now) {
    std::uint32_t ack = seg.acknowledgment();
    if (seq_gt(ack, m_snd_max)) {
        // RFC 9293 §3.10.7.4: an ACK for something not yet sent.
        send_ack(now);
        return false;
    }
    // RFC 5961 §5.2: an ACK too far below SND.UNA is a blind injection attempt.
    if (seq_lt(ack, m_snd_una - std::max(m_max_snd_wnd, m_mss))) {
        send_challenge_ack(now);
        return false;
    }
    bool dsack = false;
    std::uint32_t newly_sacked = process_sack(seg, now, dsack);
    std::uint32_t delivered = newly_sacked;
    std::uint32_t window = static_cast<std::uint32_t>(seg.window()) << m_snd_wscale;
    bool advanced = seq_gt(ack, m_snd_una);
    if (advanced) {
        std::uint32_t flight_before = flight_size();
        std::uint32_t acked = ack - m_snd_una;
        if (use_scoreboard()) {
            delivered += m_board.acknowledge(ack, [&](const ScoreboardEntry& s) { on_delivered(s, &seg, now); });
        } else {
            delivered += acked;
        }
        if (seq_gt(ack, m_snd_una_data)) {
            auto data_acked = static_cast<std::uint32_t>(std::min<std::size_t>(ack - m_snd_una_data, m_send.size()));
            m_send.consume(data_acked);
            m_snd_una_data += data_acked;
        }
        if (m_fin_sent && seq_gt(ack, data_end())) m_fin_acked = true;
        m_snd_una = ack;
        if (seq_lt(m_snd_nxt, ack)) m_snd_nxt = ack;
        m_rack.on_snd_una(ack);
        // RTT: every ACK with an echoed timestamp (RFC 7323 §4.1), else the one timed
        // segment unless it was retransmitted (Karn).
        const auto& ts = seg.options().timestamps;
        if (m_ts_ok && ts && ts->echo != 0) {
            // RFC 3522 §3.2: the first ACK after a timeout echoes a timestamp older than the
            // retransmission's: the original arrived and the timeout was spurious.
            if (m_rto_tsval && seq_lt(ts->echo, *m_rto_tsval)) undo_spurious_timeout();
            std::uint32_t elapsed = timestamp_now(now) - ts->echo;
            if (elapsed < 0x8000'0000u) m_rtt.sample(milliseconds(elapsed));
        } else if (m_rtt_valid && seq_ge(ack, m_rtt_seq)) {
            m_rtt.sample(now - m_rtt_sent_at);
            m_rtt_valid = false;
        }
        m_rto_tsval.reset();
        m_undo_cc.reset();
        m_rtt.reset_back_off();
        m_retransmissions = 0;
        m_dupacks = 0;
        if (m_rto_recovery && seq_ge(ack, m_recover)) {
            m_rto_recovery = false;
            m_rack.on_recovery_exit();
        }
        if (m_in_recovery) {
            if (seq_ge(ack, m_recover)) {
                m_in_recovery = false;
                m_cwnd_extra = 0;
                // RFC 6937: the reduction ends at ssthresh.
                if (use_scoreboard()) m_cc.set_recovery_window(m_cc.ssthresh());
                m_cc.on_recovery_exit(now);
                m_rack.on_recovery_exit();
            } else if (!m_sack_ok) {
                // RFC 6582 §3.2 step 5: a partial ACK. Resend the next hole, deflate the
                // window by what was acknowledged and add back one segment.
                std::uint32_t length = min32(m_mss, data_end() - m_snd_una);
                if (seq_lt(m_snd_una, data_end())) send_segment(m_snd_una, length, k_ack, now, true);
                m_cwnd_extra = (m_cwnd_extra > acked ? m_cwnd_extra - acked : 0) + m_mss;
            }
        } else {
            auto srtt = m_rtt.srtt().value_or(runtime::Duration{0});
            m_cc.on_ack(acked, flight_before, now, srtt, m_rtt.min_rtt());
        }
        if (m_snd_una == m_snd_max)
            m_rto_at.reset();
        else
            restart_rto(now);  // RFC 6298 §5.3
        m_tlp_sent = false;
        if (m_fin_acked) on_fin_acked(now);
        if (m_state == TcpState::Closed) return false;
        notify_writable();
    } else if (!m_sack_ok && ack == m_snd_una && seg.payload().empty() && !seg.has(k_syn) && !seg.has(k_fin) &&
               window == m_snd_wnd && seq_gt(m_snd_max, m_snd_una)) {
        on_duplicate_ack(now);  // RFC 5681 §2 "duplicate acknowledgment"
    }
    if (use_scoreboard()) {
        process_tlp_ack(seg, advanced, dsack, newly_sacked, now);
        detect_loss(delivered, now);
    }
    if (advanced) arm_tail_loss_probe(now);
    // RFC 9293 §3.10.7.4: update the window from the newest segment only.
    if (seq_lt(m_snd_wl1, seg.sequence()) || (m_snd_wl1 == seg.sequence() && seq_le(m_snd_wl2, ack))) {
        bool opened = m_snd_wnd == 0 && window != 0;
        m_snd_wnd = window;
        m_snd_wl1 = seg.sequence();
        m_snd_wl2 = ack;
        m_max_snd_wnd = std::max(m_max_snd_wnd, window);
        if (window != 0) m_persist_at.reset();
        if (opened) notify_writable();
    }
    return true;
}

void TcpConnection::process_data(const TcpSegment& seg, runtime::Instant now) {
    if (m_state == TcpState::TimeWait) {
        // RFC 9293: a retransmitted FIN is acknowledged and the 2 MSL restart.
        if (seg.has(k_fin)) {
            m_state_timer_at = now + 2 * m_config.msl;
            send_ack(now);
        }
        return;
    }
    bool accepting = m_state == TcpState::Established || m_state == TcpState::FinWait1 || m_state == TcpState::FinWait2;
    std::span<const std::byte> data = seg.payload();
    std::uint32_t seq = seg.sequence();
    bool fin = seg.has(k_fin);
    if (!accepting) return;
    if (!data.empty() && m_app_closed) {
        // Nobody will read it: RFC 1122 §4.2.2.13 lets us reset.
        send_reset(now);
        enter_closed(std::nullopt, now);
        return;
    }
    // Trim what we already have and what does not fit.
    if (seq_lt(seq, m_rcv_nxt)) {
        std::uint32_t skip = m_rcv_nxt - seq;
        if (!data.empty()) note_duplicate(seq, seq + min32(skip, static_cast<std::uint32_t>(data.size())));
        if (skip >= data.size()) {
            if (!data.empty()) ++m_stats.duplicate_segments;
            data = {};
        } else {
            data = data.subspan(skip);
        }
        seq = m_rcv_nxt;
    }
    std::uint32_t right = m_rcv_nxt + static_cast<std::uint32_t>(m_recv.space());
    if (!data.empty()) {
        if (!seq_lt(seq, right)) {
            data = {};
            fin = false;
        } else if (seq_gt(seq + static_cast<std::uint32_t>(data.size()), right)) {
            data = data.first(right - seq);
            fin = false;
        }
    }
    std::uint32_t fin_seq = seq + static_cast<std::uint32_t>(data.size());
    if (!data.empty()) {
        std::uint32_t offset = seq - m_rcv_nxt;
        m_recv.write_at(m_recv.size() + offset, data);
        if (offset == 0) {
            bool filled_hole = !m_out_of_order.empty();
            m_recv.commit(data.size());
            m_rcv_nxt += static_cast<std::uint32_t>(data.size());
            m_stats.bytes_received += data.size();
            while (!m_out_of_order.empty() && seq_le(m_out_of_order[0].left, m_rcv_nxt)) {
                if (seq_gt(m_out_of_order[0].right, m_rcv_nxt)) {
                    std::uint32_t more = m_out_of_order[0].right - m_rcv_nxt;
                    m_recv.commit(more);
                    m_rcv_nxt += more;
                    m_stats.bytes_received += more;
                }
                m_out_of_order.trim_below(m_rcv_nxt);
            }
            // A segment the device coalesced (large receive) counts as the full-sized
            // segments it carries: two of them are acknowledged at once.
            schedule_ack(now, filled_hole || data.size() >= 2 * std::size_t{m_mss});
            notify_readable();
        } else {
            SackBlock block{seq, seq + static_cast<std::uint32_t>(data.size())};
            if (m_out_of_order.covered(block.left, block.right) == block.right - block.left) {
                ++m_stats.duplicate_segments;
                note_duplicate(block.left, block.right);
            } else if (m_out_of_order.add(block)) {
                ++m_stats.out_of_order_segments;
                remember_block(block.left);
            } else {
                ++m_stats.dropped_out_of_order;
            }
            schedule_ack(now, true);  // RFC 5681 §4.2: out of order, acknowledge at once
        }
    } else if (seg.sequence_length() > 0 && !fin) {
        schedule_ack(now, true);
    }
    if (fin && !m_peer_fin) m_peer_fin = fin_seq;
    if (m_peer_fin && !m_peer_fin_accepted && *m_peer_fin == m_rcv_nxt) accept_fin(now);
}

void TcpConnection::note_duplicate(std::uint32_t left, std::uint32_t right) {
    if (m_sack_ok) m_dsack = SackBlock{left, right};
}

void TcpConnection::remember_block(std::uint32_t seq) {
    // RFC 2018 §4: the block with the latest segment goes first; the others follow in the
    // order they were last reported. Entries now in the same block as seq go.
    const SackBlock* latest = m_out_of_order.find(seq);
    std::size_t kept = 0;
    std::array<std::uint32_t, 4> recent{};
    recent[kept++] = seq;
    for (std::size_t i = 0; i < m_recent_count && kept < recent.size(); ++i) {
        const SackBlock* block = m_out_of_order.find(m_recent_blocks[i]);
        if (block == nullptr || block == latest) continue;
        recent[kept++] = m_recent_blocks[i];
    }
    m_recent_blocks = recent;
    m_recent_count = kept;
}

void TcpConnection::fill_sack_blocks(TcpOptions& options) {
    std::size_t n = 0;
    auto add = [&](const SackBlock& block) {
        for (std::size_t i = 0; i < n; ++i) {
            if (options.sack[i] == block) return;
        }
        if (n < options.sack.size()) options.sack[n++] = block;
    };
    // RFC 2883 §4: a D-SACK block first, reported once.
    if (m_dsack) options.sack[n++] = *m_dsack;
    for (std::size_t i = 0; i < m_recent_count; ++i) {
        if (const SackBlock* block = m_out_of_order.find(m_recent_blocks[i])) add(*block);
    }
    // Blocks not reported lately (more holes than the option has room for), highest first.
    for (std::size_t i = m_out_of_order.count(); i-- > 0 && n < options.sack.size();) add(m_out_of_order[i]);
    options.sack_count = static_cast<std::uint8_t>(n);
}

void TcpConnection::accept_fin(runtime::Instant now) {
    m_peer_fin_accepted = true;
    m_rcv_nxt += 1;
    m_ack_now = true;
    switch (m_state) {
        case TcpState::SynReceived:
        case TcpState::Established: set_state(TcpState::CloseWait, now); break;
        case TcpState::FinWait1: set_state(m_fin_acked ? TcpState::TimeWait : TcpState::Closing, now); break;
        case TcpState::FinWait2: set_state(TcpState::TimeWait, now); break;
        default: break;
    }
    notify_readable();
}

void TcpConnection::on_fin_acked(runtime::Instant now) {
    switch (m_state) {
        case TcpState::FinWait1:
            set_state(TcpState::FinWait2, now);
            if (m_app_closed) m_state_timer_at = now + m_config.fin_wait_2_timeout;
            break;
        case TcpState::Closing: set_state(TcpState::TimeWait, now); break;
        case TcpState::LastAck: enter_closed(std::nullopt, now); break;
        default: break;
    }
}

void TcpConnection::enter_closed(std::optional<TcpError> error, runtime::Instant now) {
    (void)now;
    if (error && !m_error) m_error = error;
    m_state = TcpState::Closed;
    m_rto_at.reset();
    m_delack_at.reset();
    m_persist_at.reset();
    m_keepalive_at.reset();
    m_state_timer_at.reset();
    m_ack_now = false;
    if (listener != nullptr) {
        listener->forget(*this);
        listener = nullptr;
    }
    m_layer.connection_closed(*this);
    wake(connector);
    notify_readable();
    notify_writable();
}

// --- the application side ---

// Coroutines are resumed by the loop later; callbacks wait for run_callbacks(), which the
// layer calls once the connection's own processing is over (a callback may read, write or
// close, and must not do so in the middle of a segment).
void TcpConnection::notify_readable() {
    wake(reader);
    if (on_readable) m_readable_pending = true;
}

void TcpConnection::notify_writable() {
    if (writer) fill_from_writer();
    if (on_writable) m_writable_pending = true;
}

void TcpConnection::run_callbacks() {
    if (m_readable_pending && on_readable) {
        m_readable_pending = false;
        on_readable();
    }
    if (m_writable_pending && on_writable && writable()) {
        m_writable_pending = false;
        on_writable();
    }
}

void TcpConnection::fill_from_writer() {
    if (m_error || m_fin_queued || m_state == TcpState::Closed) {
        wake(writer);
        return;
    }
    if (!synchronized()) return;
    std::size_t n = m_send.append(pending_write.subspan(pending_written));
    pending_written += n;
    m_stats.bytes_queued += n;
    if (pending_written == pending_write.size()) wake(writer);
    // The caller (an ACK arriving, the handshake finishing) sends what was queued.
}

bool TcpConnection::readable() const {
    return m_recv.size() > 0 || m_peer_fin_accepted || m_error || m_state == TcpState::Closed;
}

kernel::Result<std::size_t, TcpError> TcpConnection::read(std::span<std::byte> out, runtime::Instant now) {
    if (m_recv.size() > 0) {
        std::size_t n = std::min(out.size(), m_recv.size());
        m_recv.copy_out(0, out.first(n));
        m_recv.consume(n);
        maybe_window_update(now);
        return n;
    }
    if (m_peer_fin_accepted) return std::size_t{0};
    if (m_error) return kernel::err(*m_error);
    if (m_state == TcpState::Closed) return kernel::err(TcpError::Closed);
    return std::size_t{0};
}

void TcpConnection::maybe_window_update(runtime::Instant now) {
    if (m_state != TcpState::Established && m_state != TcpState::FinWait1 && m_state != TcpState::FinWait2) return;
    std::uint32_t right = m_rcv_nxt + static_cast<std::uint32_t>(m_recv.space());
    if (!seq_gt(right, m_rcv_adv)) return;
    std::uint32_t threshold = min32(static_cast<std::uint32_t>(m_recv.capacity() / 2), 2 * m_mss);
    // RFC 1122 §4.2.3.3: tell the peer once the window has opened usefully.
    if (right - m_rcv_adv >= threshold) send_ack(now);
}

bool TcpConnection::writable() const {
    return m_error || m_fin_queued || m_state == TcpState::Closed ||
           (synchronized() && m_send.space() > 0 && m_state != TcpState::TimeWait);
}

kernel::Result<std::size_t, TcpError> TcpConnection::write(std::span<const std::byte> data, runtime::Instant now) {
    if (m_error) return kernel::err(*m_error);
    if (m_fin_queued || (m_state != TcpState::Established && m_state != TcpState::CloseWait)) {
        return kernel::err(m_state == TcpState::SynSent || m_state == TcpState::SynReceived ? TcpError::NotConnected
                                                                                            : TcpError::Closed);
    }
    std::size_t n = m_send.append(data);
    m_stats.bytes_queued += n;
    if (n > 0) output(now);
    return n;
}

void TcpConnection::shutdown(runtime::Instant now) {
    if (m_fin_queued || m_state == TcpState::Closed) return;
    m_fin_queued = true;
    switch (m_state) {
        case TcpState::SynSent: enter_closed(TcpError::Closed, now); return;
        case TcpState::SynReceived:
        case TcpState::Established: set_state(TcpState::FinWait1, now); break;
        case TcpState::CloseWait: set_state(TcpState::LastAck, now); break;
        default: return;
    }
    if (synchronized()) output(now);
}

void TcpConnection::detach(runtime::Instant now) {
    m_attached = false;
    m_app_closed = true;
    reader = nullptr;
    writer = nullptr;
    connector = nullptr;
    on_readable = nullptr;
    on_writable = nullptr;
    if (m_state == TcpState::Closed) return;
    if (m_recv.size() > 0 && synchronized()) {
        // Closing with unread data: RFC 1122 §4.2.2.13, reset.
        abort(now);
        return;
    }
    shutdown(now);
    if (m_state == TcpState::FinWait2) m_state_timer_at = now + m_config.fin_wait_2_timeout;
}

void TcpConnection::abort(runtime::Instant now) {
    if (m_state == TcpState::Closed) return;
    if (m_state != TcpState::SynSent && m_state != TcpState::TimeWait) send_reset(now);
    m_send.consume(m_send.size());
    enter_closed(TcpError::Closed, now);
}

}  // namespace net
