// What a connection sends and when: segments and their options, the receive window,
// delayed ACKs, Nagle and silly-window avoidance, what loss recovery resends (from the
// scoreboard with SACK, RFC 6582 NewReno without), and the retransmission, tail loss
// probe, RACK reordering, persist, keepalive and state timers. The state machine that calls
// these is in tcp_connection.cpp.
#include <algorithm>

#include "net/tcp.hpp"
#include "net/tcp_connection.hpp"
#include "net/tcp_internal.hpp"
#include "netif/packet_buffer.hpp"

namespace net {

using namespace tcp_flags;
using namespace tcp_detail;
using std::chrono::milliseconds;

// --- sending ---

std::uint32_t TcpConnection::timestamp_now(runtime::Instant now) const {
    auto ms = std::chrono::duration_cast<milliseconds>(now - m_epoch).count();
    return static_cast<std::uint32_t>(ms) + m_iss;  // a per-connection offset (RFC 7323 §5.4)
}

std::uint32_t TcpConnection::receive_window() const { return seq_gt(m_rcv_adv, m_rcv_nxt) ? m_rcv_adv - m_rcv_nxt : 0; }

std::uint16_t TcpConnection::window_field() {
    std::size_t space = m_recv.allocated() ? m_recv.space() : m_config.receive_buffer;
    std::uint32_t right = m_rcv_nxt + static_cast<std::uint32_t>(std::min<std::size_t>(space, 0x3FFF'FFFF));
    // RFC 1122 §4.2.3.3 (receiver SWS avoidance): move the right edge only by a useful amount.
    std::uint32_t threshold =
        min32(static_cast<std::uint32_t>(std::min<std::size_t>(m_config.receive_buffer / 2, 0xFFFF'FFFF)), m_mss);
    if (seq_gt(right, m_rcv_adv) && right - m_rcv_adv < threshold && seq_gt(m_rcv_adv, m_rcv_nxt)) right = m_rcv_adv;
    if (seq_lt(right, m_rcv_adv)) right = m_rcv_adv;  // never shrink (RFC 9293 §3.8.6.2.2)
    std::uint32_t window = right - m_rcv_nxt;
    std::uint32_t field = min32(window >> m_rcv_wscale, 0xFFFF);
    std::uint32_t advertised = m_rcv_nxt + (field << m_rcv_wscale);
    if (seq_gt(advertised, m_rcv_adv)) m_rcv_adv = advertised;
    return static_cast<std::uint16_t>(field);
}

bool TcpConnection::send_segment(std::uint32_t seq, std::uint32_t& length, std::uint8_t flags, runtime::Instant now,
                                 bool retransmission) {
    // More than one segment's worth goes out as one TSO send when a large buffer is free;
    // otherwise it is cut to one segment here (the caller sees the length it got).
    netif::PacketBuffer* buffer = length > m_mss ? m_layer.allocate_tso_buffer() : nullptr;
    bool tso = buffer != nullptr;
    if (!tso) {
        if (length > m_mss) {
            length = m_mss;
            flags = static_cast<std::uint8_t>(flags & ~k_fin);  // the FIN no longer ends this segment
        }
        buffer = m_layer.allocate_buffer();
    }
    if (buffer == nullptr) {
        // The device's buffers are all in flight: the layer calls output() again shortly
        // (and the retransmission timer is the backstop).
        ++m_layer.mutable_stats().no_buffer;
        if ((flags & k_ack) != 0 && (flags & k_syn) == 0) m_ack_now = true;
        if ((length > 0 || (flags & (k_syn | k_fin)) != 0) && !m_rto_at) restart_rto(now);
        m_layer.starved(*this);
        return false;
    }
    TcpOptions options;
    bool syn = (flags & k_syn) != 0;
    if (syn) {
        options.mss = static_cast<std::uint16_t>(m_layer.mtu() - 40);
        if (m_ws_ok) options.window_scale = m_rcv_wscale;
        options.sack_permitted = m_sack_ok;
    }
    if (m_ts_ok) {
        options.timestamps = TcpTimestamps{timestamp_now(now), (flags & k_ack) != 0 ? m_ts_recent : 0};
    }
    if (m_sack_ok && !syn && (flags & k_ack) != 0 && (!m_out_of_order.empty() || m_dsack)) fill_sack_blocks(options);
    // Every segment on the wire must fit the MTU: SACK blocks give way first, then payload
    // (and a FIN that no longer ends the segment waits for the next one). A TSO send is
    // cut by the device into segments of `per_segment` bytes, each with these headers
    // (virtio 1.2 §5.1.6.2: gso_size), and as a whole must fit the device's limit.
    std::size_t room = m_layer.mtu() - 20;
    std::uint32_t first = min32(length, m_mss);
    while (options.sack_count > 0 && TcpSegment::header_length(options) + first > room) --options.sack_count;
    std::size_t header = TcpSegment::header_length(options);
    auto per_segment = static_cast<std::uint32_t>(std::min<std::size_t>(m_mss, room - header));
    std::size_t limit = tso ? m_layer.tso_limit() - 20 : room;
    if (header + length > limit) {
        length = static_cast<std::uint32_t>(limit - header);
        if (tso && length > per_segment) length -= length % per_segment;
        flags = static_cast<std::uint8_t>(flags & ~k_fin);
    }
    if (!buffer->resize(header + length)) {
        netif::release_buffer(buffer);
        ++m_layer.mutable_stats().no_buffer;
        return false;
    }
    if (length > 0) m_send.copy_out(seq - m_snd_una_data, buffer->bytes().subspan(header, length));
    std::uint16_t window =
        syn ? static_cast<std::uint16_t>(std::min<std::size_t>(m_config.receive_buffer, 0xFFFF)) : window_field();
    if (syn && seq_gt(m_rcv_nxt + window, m_rcv_adv)) m_rcv_adv = m_rcv_nxt + window;
    bool offload = m_layer.checksum_offload();
    TcpSegment::emit(buffer->bytes(),
                     {.source_port = m_tuple.local_port,
                      .destination_port = m_tuple.remote_port,
                      .sequence = seq,
                      .acknowledgment = (flags & k_ack) != 0 ? m_rcv_nxt : 0,
                      .flags = flags,
                      .window = window,
                      .options = options},
                     m_tuple.local, m_tuple.remote, length, offload);
    if (offload) {
        buffer->metadata.needs_checksum = true;
        buffer->metadata.checksum_start = 14 + 20;  // Ethernet and IPv4 headers come in front
        buffer->metadata.checksum_offset = 16;
    }
    if (tso && length > per_segment) {
        buffer->metadata.segment_size = static_cast<std::uint16_t>(per_segment);
        ++m_stats.tso_sends;
        ++m_layer.mutable_stats().tso_sends;
    }
    if ((flags & k_ack) != 0) {
        if (m_dsack && options.sack_count > 0) {
            m_dsack.reset();
            ++m_stats.dsacks_sent;
        }
        m_last_ack_sent = m_rcv_nxt;
        m_delack_at.reset();
        m_unacked_segments = 0;
        m_ack_now = false;
    }
    std::uint32_t end = seq + length + (syn ? 1 : 0) + ((flags & k_fin) != 0 ? 1 : 0);
    if (end != seq) {
        if (!syn && use_scoreboard()) m_board.on_sent(seq, end, per_segment, now);
        if (m_in_recovery && use_scoreboard()) m_prr.on_sent(end - seq);
        if (seq_gt(end, m_snd_max)) m_snd_max = end;
        if (!m_rto_at) restart_rto(now);
        if (retransmission) {
            ++m_stats.retransmitted_segments;
            ++m_layer.mutable_stats().retransmitted_segments;
            m_rtt_valid = false;  // Karn: no sample across a retransmission
        } else {
            m_stats.bytes_sent += length;
            if (!m_ts_ok && !m_rtt_valid) {
                m_rtt_valid = true;
                m_rtt_seq = end;
                m_rtt_sent_at = now;
            }
        }
    }
    ++m_stats.segments_sent;
    return m_layer.transmit(buffer, m_tuple.remote, now);
}

void TcpConnection::send_syn(runtime::Instant now) {
    bool again = seq_gt(m_snd_max, m_iss);
    std::uint8_t flags = m_state == TcpState::SynReceived ? static_cast<std::uint8_t>(k_syn | k_ack) : k_syn;
    send_segment(m_iss, 0, flags, now, again);
    m_snd_nxt = m_iss + 1;
    if (!again) {
        // Time the handshake (Karn: only if nothing is resent).
        m_rtt_valid = true;
        m_rtt_seq = m_iss + 1;
        m_rtt_sent_at = now;
    }
}

void TcpConnection::send_probe(runtime::Instant now) {
    // An old sequence number with no data: the peer must answer with an ACK carrying its
    // current window (RFC 9293 §3.8.6.1, RFC 1122 §4.2.3.6).
    send_segment(m_snd_una - 1, 0, k_ack, now);
}

void TcpConnection::send_challenge_ack(runtime::Instant now) {
    if (!m_layer.allow_challenge_ack(now)) return;
    ++m_stats.challenge_acks;
    send_ack(now);
}

void TcpConnection::send_reset(runtime::Instant now) {
    m_layer.send_control(m_tuple, m_snd_nxt, m_rcv_nxt, static_cast<std::uint8_t>(k_rst | k_ack), now);
}

void TcpConnection::schedule_ack(runtime::Instant now, bool immediately) {
    // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: at least every second full segment, never later
    // than the delayed-ACK time.
    if (immediately || ++m_unacked_segments >= 2) {
        m_ack_now = true;
        return;
    }
    if (!m_delack_at) m_delack_at = now + m_config.delayed_ack;
}

std::uint32_t TcpConnection::effective_cwnd() const { return m_cc.cwnd() + m_cwnd_extra; }

bool TcpConnection::retransmit(const ScoreboardEntry& segment, runtime::Instant now) {
    std::uint32_t stop = data_end();
    std::uint32_t data_stop = seq_lt(stop, segment.end) ? stop : segment.end;
    std::uint32_t length = data_stop - segment.start;
    bool fin = m_fin_sent && segment.end == stop + 1;
    return send_segment(segment.start, length, static_cast<std::uint8_t>(k_ack | (fin ? k_fin : 0)), now, true);
}

bool TcpConnection::send_from_scoreboard(runtime::Instant now) {
    bool sent = false;
    std::size_t from = 0;
    for (;;) {
        std::uint32_t cwnd = m_cc.cwnd();
        std::uint32_t pipe = m_board.in_flight();
        std::uint32_t room = cwnd > pipe ? cwnd - pipe : 0;
        // What was deemed lost goes first, oldest first (RFC 6675 §5 NextSeg rule 1, RFC
        // 8985 §6.2's segments marked lost). It was within the peer's window when first
        // sent, so only the congestion window holds it back.
        std::optional<std::size_t> lost = m_board.lost_bytes() > 0 ? m_board.first_lost(from) : std::nullopt;
        if (lost) {
            const ScoreboardEntry& segment = m_board[*lost];
            if (room < min32(segment.length(), m_mss)) break;
            if (!retransmit(segment, now)) break;
            from = *lost;
            sent = true;
            continue;
        }
        // Then new data, as the window and the peer's window allow.
        if (room > 0 && send_new_data(now, room)) sent = true;
        return sent;
    }
    return sent;
}

bool TcpConnection::send_new_data(runtime::Instant now, std::uint32_t budget, bool one_segment) {
    bool sent = false;
    for (;;) {
        // The peer's window counts from SND.UNA; the congestion budget from what this
        // call has sent.
        std::uint32_t in_flight = m_snd_nxt - m_snd_una;
        std::uint32_t usable = m_snd_wnd > in_flight ? m_snd_wnd - in_flight : 0;
        if (!one_segment) usable = min32(usable, budget);
        std::uint32_t end = data_end();
        std::uint32_t available = seq_lt(m_snd_nxt, end) ? end - m_snd_nxt : 0;
        // With TSO, several whole segments go out in one send, but at most a quarter of the
        // congestion window (and at least two segments): a whole window in one burst
        // would overflow short queues on the path (Linux sizes its TSO sends by the
        // pacing rate for the same reason). One segment means one MSS (the tail loss
        // probe).
        std::uint32_t burst =
            m_layer.tso_limit() > 0 && !one_segment ? std::max(2 * m_mss, effective_cwnd() / 4) : m_mss;
        if (use_scoreboard()) {
            // Every segment needs an entry on the scoreboard.
            if (m_board.full()) break;
            std::size_t entries = m_board.free_entries();
            if (entries < 0xFFFF / m_mss) burst = min32(burst, static_cast<std::uint32_t>(entries) * m_mss);
        }
        std::uint32_t length = min32(min32(available, usable), min32(burst, 0xFFFF));
        if (length > m_mss && length < available) length -= length % m_mss;
        bool fin = m_fin_queued && !m_fin_acked && m_snd_nxt + length == end && length == available &&
                   (m_state == TcpState::FinWait1 || m_state == TcpState::LastAck || m_state == TcpState::Closing);
        if (length == 0 && !fin) break;
        bool retransmission = seq_lt(m_snd_nxt, m_snd_max);
        if (!retransmission && length < m_mss && !fin) {
            bool window_limited = length < available;
            // Sender SWS avoidance (RFC 1122 §4.2.3.4) and Nagle (RFC 896).
            if (window_limited && length < m_max_snd_wnd / 2) break;
            if (!window_limited && !m_config.nodelay && seq_gt(m_snd_max, m_snd_una)) break;
        }
        auto flags = static_cast<std::uint8_t>(k_ack | (fin ? k_fin : 0) |
                                               (length > 0 && m_snd_nxt + length == end ? k_psh : 0));
        if (!send_segment(m_snd_nxt, length, flags, now, retransmission)) break;
        fin = fin && m_snd_nxt + length == end;
        if (fin) m_fin_sent = true;
        m_snd_nxt += length + (fin ? 1 : 0);
        budget = budget > length ? budget - length : 0;
        sent = true;
        if (fin || one_segment) break;
    }
    if (sent && !m_tlp_at) arm_tail_loss_probe(now);
    return sent;
}

void TcpConnection::output(runtime::Instant now) {
    if (!synchronized() || m_state == TcpState::TimeWait) {
        if (m_ack_now && m_state == TcpState::TimeWait) send_ack(now);
        return;
    }
    if (use_scoreboard()) {
        send_from_scoreboard(now);
    } else {
        std::uint32_t in_flight = m_snd_nxt - m_snd_una;
        std::uint32_t window = effective_cwnd();
        send_new_data(now, window > in_flight ? window - in_flight : 0);
    }
    if (m_ack_now) send_ack(now);
    // Data waiting and nothing in flight: the window is closed (probe it, RFC 9293
    // §3.8.6.1) or too small to use (the SWS override, RFC 1122 §4.2.3.4). Either way no
    // ACK will come to move things on, so the persist timer must run.
    bool waiting = seq_lt(m_snd_nxt, data_end()) || (m_fin_queued && !m_fin_sent);
    if (waiting && m_snd_max == m_snd_una && !m_persist_at) {
        runtime::Duration interval = m_rtt.rto() * (1 << std::min(m_persist_backoff, 6u));
        m_persist_at = now + std::min<runtime::Duration>(interval, std::chrono::seconds(60));
    }
}

void TcpConnection::retry_output(runtime::Instant now) {
    output_blocked = false;
    if (synchronized()) output(now);
}

// --- timers ---

std::optional<runtime::Instant> TcpConnection::next_deadline() const {
    std::optional<runtime::Instant> next;
    for (const auto& t : {m_rto_at, m_delack_at, m_persist_at, m_keepalive_at, m_state_timer_at, m_tlp_at, m_reo_at}) {
        if (t && (!next || *t < *next)) next = t;
    }
    return next;
}

void TcpConnection::on_timer(runtime::Instant now) {
    if (m_state_timer_at && *m_state_timer_at <= now) {
        // TIME-WAIT's 2 MSL, or FIN-WAIT-2 with nobody left to read.
        m_state_timer_at.reset();
        enter_closed(std::nullopt, now);
        return;
    }
    if (m_rto_at && *m_rto_at <= now) {
        on_rto(now);
        if (m_state == TcpState::Closed) return;
    }
    if (m_reo_at && *m_reo_at <= now) on_reorder_timeout(now);
    if (m_tlp_at && *m_tlp_at <= now) on_tail_loss_probe(now);
    if (m_persist_at && *m_persist_at <= now) on_persist(now);
    if (m_delack_at && *m_delack_at <= now) {
        m_delack_at.reset();
        send_ack(now);
    }
    if (m_keepalive_at && *m_keepalive_at <= now) on_keepalive(now);
}

// RFC 8985 §6.3: segments that were waiting out the reordering window are lost now.
void TcpConnection::on_reorder_timeout(runtime::Instant now) {
    m_reo_at.reset();
    if (!use_scoreboard() || m_board.empty()) return;
    detect_loss(0, now);
    if (synchronized()) output(now);
}

// RFC 8985 §7.2: PTO = 2 SRTT (plus the peer's worst delayed ACK when only one segment is
// out), not below 10 ms, and only when it comes before the retransmission timeout.
void TcpConnection::arm_tail_loss_probe(runtime::Instant now) {
    m_tlp_at.reset();
    auto srtt = m_rtt.srtt();
    if (!m_config.tail_loss_probe || !use_scoreboard() || m_tlp_sent || m_in_recovery || m_rto_recovery || m_reo_at ||
        !srtt || m_state != TcpState::Established || m_snd_una == m_snd_max)
        return;
    runtime::Duration pto = std::max<runtime::Duration>(2 * *srtt, std::chrono::milliseconds(10));
    if (flight_size() <= m_mss) pto += std::chrono::milliseconds(200);  // WCDelAckT
    if (m_rto_at && now + pto >= *m_rto_at) return;
    m_tlp_at = now + pto;
}

// RFC 8985 §7.3: new data if the window allows, else the last segment sent again.
void TcpConnection::on_tail_loss_probe(runtime::Instant now) {
    m_tlp_at.reset();
    if (m_in_recovery || m_rto_recovery || m_snd_una == m_snd_max || m_state != TcpState::Established) return;
    m_tlp_sent = true;
    ++m_stats.tail_loss_probes;
    ++m_layer.mutable_stats().tail_loss_probes;
    bool sent_new = send_new_data(now, m_mss, true);
    if (!sent_new) {
        // The highest segment not SACKed.
        for (std::size_t i = m_board.size(); i-- > 0;) {
            const ScoreboardEntry& segment = m_board[i];
            if (segment.sacked) continue;
            std::uint32_t start = segment.end - segment.start > m_mss ? segment.end - m_mss : segment.start;
            ScoreboardEntry tail = segment;
            tail.start = start;
            if (!retransmit(tail, now)) return;
            break;
        }
    }
    // §7.4: the episode lasts until an ACK beyond what was sent now.
    m_tlp_high_seq = m_snd_max;
    m_tlp_retransmitted = !sent_new;
    restart_rto(now);
}

void TcpConnection::on_rto(runtime::Instant now) {
    m_rto_at.reset();
    m_tlp_at.reset();
    m_reo_at.reset();
    ++m_stats.timeouts;
    ++m_layer.mutable_stats().timeouts;
    if (m_state == TcpState::SynSent || m_state == TcpState::SynReceived) {
        if (++m_retransmissions > m_config.max_syn_retransmissions) {
            enter_closed(m_passive ? std::nullopt : std::optional(TcpError::TimedOut), now);
            return;
        }
        m_rtt.back_off();
        send_syn(now);
        return;
    }
    if (m_snd_una == m_snd_max) return;
    if (++m_retransmissions > m_config.max_retransmissions) {
        send_reset(now);
        enter_closed(TcpError::TimedOut, now);
        return;
    }
    if (m_retransmissions == 1 && m_ts_ok) {
        // RFC 3522 §2: remember the retransmission's timestamp, and what to go back to.
        m_rto_tsval = timestamp_now(now);
        m_undo_cc = m_cc;
    }
    // RFC 6298 §5.5-5.7, RFC 5681 §3.1 (4), RFC 6582 §4.
    m_cc.on_retransmission_timeout(flight_size(), now);
    m_rtt.back_off();
    m_in_recovery = false;
    m_cwnd_extra = 0;
    m_dupacks = 0;
    m_recover = m_snd_max;
    m_rtt_valid = false;
    m_tlp_high_seq.reset();
    if (use_scoreboard()) {
        // RFC 8985 §6.3 and RFC 6675 §5.1: everything not SACKed is lost; what the peer
        // SACKed stays on the scoreboard and is not sent again. Resending starts from the
        // oldest, one segment now (cwnd is one segment) and more as ACKs open the window.
        m_rto_recovery = true;
        m_board.renege_front();
        (void)m_board.mark_lost_sent_by(now);
        std::optional<std::size_t> first = m_board.first_lost();
        if (first) (void)retransmit(m_board[*first], now);
        if (!m_rto_at) restart_rto(now);
        return;
    }
    m_snd_nxt = m_snd_una;
    if (!send_new_data(now, m_cc.cwnd())) {
        // A closed window: resend the first segment anyway, as a probe the peer answers.
        std::uint32_t end = data_end();
        std::uint32_t length = seq_lt(m_snd_una, end) ? min32(m_mss, end - m_snd_una) : 0;
        bool fin = m_fin_sent && m_snd_una + length == end;
        if (send_segment(m_snd_una, length, static_cast<std::uint8_t>(k_ack | (fin ? k_fin : 0)), now, true))
            m_snd_nxt = m_snd_una + length + (fin && m_snd_una + length == end ? 1 : 0);
    }
    if (!m_rto_at) restart_rto(now);
}

void TcpConnection::on_persist(runtime::Instant now) {
    m_persist_at.reset();
    if (m_persist_backoff >= m_config.max_retransmissions) {
        enter_closed(TcpError::TimedOut, now);
        return;
    }
    ++m_persist_backoff;
    // RFC 1122 §4.2.3.4: a window open but too small for sender SWS avoidance is used
    // anyway once this override timeout fires (the retransmission timer takes over).
    std::uint32_t in_flight = m_snd_nxt - m_snd_una;
    std::uint32_t usable = m_snd_wnd > in_flight ? m_snd_wnd - in_flight : 0;
    std::uint32_t end = data_end();
    if (usable > 0 && seq_lt(m_snd_nxt, end)) {
        std::uint32_t length = min32(min32(end - m_snd_nxt, usable), m_mss);
        if (send_segment(m_snd_nxt, length, k_ack, now, seq_lt(m_snd_nxt, m_snd_max))) m_snd_nxt += length;
        return;
    }
    ++m_stats.zero_window_probes;
    send_probe(now);
    runtime::Duration interval = m_rtt.rto() * (1 << std::min(m_persist_backoff, 6u));
    m_persist_at = now + std::min<runtime::Duration>(interval, std::chrono::seconds(60));
}

void TcpConnection::reset_keepalive(runtime::Instant now) {
    m_keepalive_sent = 0;
    if (m_config.keepalive_idle && synchronized() && m_state != TcpState::TimeWait)
        m_keepalive_at = now + *m_config.keepalive_idle;
}

void TcpConnection::on_keepalive(runtime::Instant now) {
    m_keepalive_at.reset();
    if (!m_config.keepalive_idle || (m_state != TcpState::Established && m_state != TcpState::CloseWait)) return;
    if (m_keepalive_sent >= m_config.keepalive_probes) {
        send_reset(now);
        enter_closed(TcpError::TimedOut, now);
        return;
    }
    ++m_keepalive_sent;
    send_probe(now);
    m_keepalive_at = now + m_config.keepalive_interval;
}

void TcpConnection::set_keepalive(std::optional<runtime::Duration> idle, runtime::Instant now) {
    m_config.keepalive_idle = idle;
    if (idle)
        reset_keepalive(now);
    else
        m_keepalive_at.reset();
}

}  // namespace net
