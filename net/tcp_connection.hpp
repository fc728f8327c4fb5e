#pragma once
// One TCP connection: the transmission control block and the RFC 9293 state machine,
// with RFC 6298 retransmission, RFC 7323 window scaling, timestamps and PAWS, RFC 2018
// SACK and RFC 2883 D-SACK, RACK-TLP loss detection (RFC 8985) on a per-segment scoreboard
// with Proportional Rate Reduction (RFC 6937) and Eifel undo of spurious timeouts (RFC
// 3522, RFC 4015); NewReno recovery (RFC 6582) without SACK; RFC 5961's checks, delayed
// ACKs, Nagle, keepalive and zero-window probes. Applications do not use this
// class directly: they hold a TcpStream (net/tcp.hpp). The layer (TcpLayer) owns every
// connection, finds it for each segment and frees it when both sides are done with it.

#include <array>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "net/tcp_buffer.hpp"
#include "net/tcp_congestion.hpp"
#include "net/tcp_isn.hpp"
#include "net/tcp_prr.hpp"
#include "net/tcp_rack.hpp"
#include "net/tcp_rtt.hpp"
#include "net/tcp_scoreboard.hpp"
#include "net/tcp_tuple.hpp"
#include "net/wire/tcp.hpp"
#include "runtime/function.hpp"
#include "runtime/time.hpp"

namespace net {

class TcpLayer;
class TcpListener;

enum class TcpState : std::uint8_t {
    Closed,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};
const char* to_string(TcpState state);

enum class TcpError : std::uint8_t {
    Reset,         // the peer reset the connection
    Refused,       // the peer answered the SYN with a reset
    TimedOut,      // retransmissions, the handshake or keepalive ran out
    Closed,        // this side closed or shut down the direction used
    NoMemory,      // no memory for the connection's buffers
    NoRoute,       // no address configured, or no route to the peer
    AddressInUse,  // the port is taken
    NoPorts,       // no free ephemeral port
    TooManyConnections,
    NotConnected,  // an empty handle
};
const char* to_string(TcpError error);

struct TcpConfig {
    // Each connection's buffers. 256 KiB keeps one connection from being limited by its
    // window at the round-trip times a guest sees under load (window / RTT). When
    // memory_limit is near, a new connection's buffers are halved until they fit, down to
    // min_buffer each; below that it is refused.
    std::size_t send_buffer = std::size_t{256} * 1024;
    std::size_t receive_buffer = std::size_t{256} * 1024;
    std::size_t min_buffer = std::size_t{64} * 1024;
    CongestionAlgorithm congestion = CongestionAlgorithm::Cubic;
    bool window_scaling = true;
    bool timestamps = true;
    bool sack = true;
    // RFC 8985 §7 tail loss probe (with SACK only): when no ACK comes for two round trips,
    // one segment goes out to draw SACK feedback, so that a lost tail is repaired by fast
    // recovery instead of waiting for the retransmission timeout.
    bool tail_loss_probe = true;
    bool nodelay = false;                                             // Nagle's algorithm off
    runtime::Duration msl = std::chrono::seconds(120);                // TIME-WAIT lasts 2*MSL
    runtime::Duration delayed_ack = std::chrono::milliseconds(40);    // RFC 9293 §3.8.6.3: < 0.5 s
    runtime::Duration fin_wait_2_timeout = std::chrono::seconds(60);  // once the application closed
    std::optional<runtime::Duration> keepalive_idle;                  // off unless asked (RFC 1122 §4.2.3.6)
    runtime::Duration keepalive_interval = std::chrono::seconds(75);
    unsigned keepalive_probes = 9;
    unsigned max_retransmissions = 12;  // of one segment before the connection times out
    unsigned max_syn_retransmissions = 6;
    TcpRttEstimator::Config rtt{};
    std::size_t max_connections = 1024;  // in the table, any state
    // All connections' buffers and scoreboards together: 64 connections of the default size.
    std::size_t memory_limit = std::size_t{33} * 1024 * 1024;
    std::size_t syn_queue = 128;  // half-open connections per listener before SYN cookies
    bool syn_cookies = true;
    unsigned challenge_acks_per_second = 100;  // RFC 5961 §7
};

struct TcpConnectionStats {
    std::uint64_t segments_sent = 0, segments_received = 0;
    std::uint64_t bytes_queued = 0;                    // by the application
    std::uint64_t bytes_sent = 0, bytes_received = 0;  // application bytes, first transmissions only
    std::uint64_t retransmitted_segments = 0, fast_retransmits = 0, timeouts = 0;
    std::uint64_t out_of_order_segments = 0, duplicate_segments = 0, dropped_out_of_order = 0;
    std::uint64_t zero_window_probes = 0, paws_rejected = 0, challenge_acks = 0;
    std::uint64_t tso_sends = 0;  // sends of several segments at once, cut by the device
    std::uint64_t tail_loss_probes = 0;
    std::uint64_t rack_lost_segments = 0;    // deemed lost by RACK (RFC 8985 §6.2)
    std::uint64_t lost_retransmissions = 0;  // of those, retransmissions lost again
    std::uint64_t spurious_timeouts = 0;     // undone by the Eifel algorithm (RFC 3522)
    std::uint64_t dsacks_received = 0, dsacks_sent = 0;
    std::uint64_t tlp_repairs = 0;  // probes that repaired a loss (RFC 8985 §7.4)
};

class TcpConnection {
public:
    TcpConnection(TcpLayer& layer, const TcpFourTuple& tuple, const TcpConfig& config, runtime::Instant now);
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;
    ~TcpConnection();

    [[nodiscard]] const TcpFourTuple& tuple() const { return m_tuple; }
    [[nodiscard]] TcpState state() const { return m_state; }
    [[nodiscard]] const TcpConnectionStats& stats() const { return m_stats; }
    [[nodiscard]] std::optional<TcpError> error() const { return m_error; }
    [[nodiscard]] std::uint32_t send_mss() const { return m_mss; }
    [[nodiscard]] std::uint32_t cwnd() const { return m_cc.cwnd(); }
    [[nodiscard]] const TcpRttEstimator& rtt() const { return m_rtt; }
    [[nodiscard]] bool sack_enabled() const { return m_sack_ok; }
    [[nodiscard]] bool timestamps_enabled() const { return m_ts_ok; }
    [[nodiscard]] std::uint8_t send_window_scale() const { return m_snd_wscale; }

    // --- what the layer calls ---
    // Active open: allocates the buffers and sends the SYN.
    kernel::Result<void, TcpError> open_active(std::uint32_t iss, runtime::Instant now);
    // Passive open from a SYN (the listener checked it): sends the SYN-ACK.
    void open_passive(const TcpSegment& syn, std::uint32_t iss, TcpListener& listener, runtime::Instant now);
    // Passive open completed by a valid SYN cookie: straight to ESTABLISHED.
    kernel::Result<void, TcpError> open_from_cookie(const TcpSegment& ack, std::uint32_t iss,
                                                    const SynCookieOptions& options, TcpListener& listener,
                                                    runtime::Instant now);
    void on_segment(const TcpSegment& segment, runtime::Instant now);
    // Sends what a lack of packet buffers held back.
    void retry_output(runtime::Instant now);
    bool output_blocked = false;
    // Calls on_readable / on_writable if something happened for them.
    void run_callbacks();
    // Runs whatever timers are due.
    void on_timer(runtime::Instant now);
    [[nodiscard]] std::optional<runtime::Instant> next_deadline() const;
    // True when the layer may free it: CLOSED and no application handle.
    // A SYN for this four-tuple in TIME-WAIT that may start a new incarnation.
    [[nodiscard]] bool accepts_new_incarnation(const TcpSegment& syn) const;
    [[nodiscard]] bool finished() const { return m_state == TcpState::Closed && !m_attached; }

    // --- what the application handle calls ---
    void attach() { m_attached = true; }
    // The listener's accept queue lets go of a connection it held for accept().
    void release_queue_hold() { m_attached = false; }
    [[nodiscard]] bool attached() const { return m_attached; }
    // Drops the handle: an open connection closes gracefully in the background.
    void detach(runtime::Instant now);
    // Bytes copied into out; 0 with a value at end of stream; an error if reset.
    kernel::Result<std::size_t, TcpError> read(std::span<std::byte> out, runtime::Instant now);
    [[nodiscard]] bool readable() const;  // read() would not wait
    // Queues as much of data as fits; 0 when the buffer is full.
    kernel::Result<std::size_t, TcpError> write(std::span<const std::byte> data, runtime::Instant now);
    [[nodiscard]] bool writable() const;  // write() would queue something or fail
    // FIN once the queued data is sent.
    void shutdown(runtime::Instant now);
    // RST now; the connection is CLOSED.
    void abort(runtime::Instant now);
    void set_nodelay(bool on) { m_config.nodelay = on; }
    void set_keepalive(std::optional<runtime::Duration> idle, runtime::Instant now);

    // One coroutine each may wait to read, to write, or for the handshake.
    std::coroutine_handle<> reader;
    std::coroutine_handle<> writer;
    std::coroutine_handle<> connector;
    // The write awaiter's data, queued as space frees.
    std::span<const std::byte> pending_write;
    std::size_t pending_written = 0;
    runtime::InplaceFunction<void()> on_readable;
    runtime::InplaceFunction<void()> on_writable;

    // The layer's intrusive links.
    TcpConnection* next_in_bucket = nullptr;
    TcpConnection* next_in_list = nullptr;
    TcpConnection* previous_in_list = nullptr;
    TcpConnection* next_accept = nullptr;
    TcpListener* listener = nullptr;  // until accepted (or cleared when the listener goes)
    bool in_table = false;
    std::size_t memory = 0;  // buffer bytes charged to the layer

private:
    [[nodiscard]] bool synchronized() const;
    bool allocate_buffers();
    void set_state(TcpState state, runtime::Instant now);
    void enter_closed(std::optional<TcpError> error, runtime::Instant now);
    void apply_syn_options(const TcpOptions& options);
    void process_syn_sent(const TcpSegment& segment, runtime::Instant now);
    [[nodiscard]] bool acceptable(const TcpSegment& segment) const;
    bool process_ack(const TcpSegment& segment, runtime::Instant now);
    // SACK blocks into the scoreboard and RACK; returns the bytes newly SACKed.
    std::uint32_t process_sack(const TcpSegment& segment, runtime::Instant now, bool& dsack);
    // RACK's loss detection after an ACK (or its reordering timer), and PRR's window.
    void detect_loss(std::uint32_t delivered, runtime::Instant now);
    void on_delivered(const ScoreboardEntry& segment, const TcpSegment* ack, runtime::Instant now);
    void process_tlp_ack(const TcpSegment& segment, bool advanced, bool dsack, std::uint32_t newly_sacked,
                         runtime::Instant now);
    void undo_spurious_timeout();
    void on_duplicate_ack(runtime::Instant now);
    void begin_fast_recovery(runtime::Instant now);  // what NewReno and SACK recovery share
    void enter_recovery(runtime::Instant now);
    void enter_sack_recovery(runtime::Instant now);
    void note_duplicate(std::uint32_t left, std::uint32_t right);  // a D-SACK for the next ACK
    void remember_block(std::uint32_t seq);
    void fill_sack_blocks(TcpOptions& options);
    void process_data(const TcpSegment& segment, runtime::Instant now);
    void accept_fin(runtime::Instant now);
    void on_fin_acked(runtime::Instant now);
    void established(runtime::Instant now);

    // Sending.
    void output(runtime::Instant now);
    // With SACK: lost segments first (RFC 6675 §5 NextSeg rule 1), then new data, while
    // the window leaves room over what is in flight.
    bool send_from_scoreboard(runtime::Instant now);
    // New data within `budget` bytes (and the peer's window); one_segment: at most one.
    bool send_new_data(runtime::Instant now, std::uint32_t budget, bool one_segment = false);
    bool retransmit(const ScoreboardEntry& segment, runtime::Instant now);
    // length may come back smaller: what fitted the MTU.
    bool send_segment(std::uint32_t seq, std::uint32_t& length, std::uint8_t flags, runtime::Instant now,
                      bool retransmission = false);
    bool send_segment(std::uint32_t seq, std::uint32_t&& length, std::uint8_t flags, runtime::Instant now,
                      bool retransmission = false) {
        return send_segment(seq, length, flags, now, retransmission);
    }
    void send_syn(runtime::Instant now);
    // With SND.MAX, not SND.NXT: after a timeout pulled SND.NXT back, an ACK numbered below
    // what the peer already holds would look old to it and be dropped with its news.
    void send_ack(runtime::Instant now) { send_segment(m_snd_max, 0, tcp_flags::k_ack, now); }
    void send_probe(runtime::Instant now);  // snd_una - 1, no data: answered by an ACK
    void send_challenge_ack(runtime::Instant now);
    void send_reset(runtime::Instant now);
    void schedule_ack(runtime::Instant now, bool immediately);
    void maybe_window_update(runtime::Instant now);
    [[nodiscard]] std::uint16_t window_field();
    [[nodiscard]] std::uint32_t receive_window() const;
    [[nodiscard]] std::uint32_t data_end() const { return m_snd_una_data + static_cast<std::uint32_t>(m_send.size()); }
    [[nodiscard]] std::uint32_t flight_size() const { return m_snd_max - m_snd_una; }
    [[nodiscard]] bool use_scoreboard() const { return m_sack_ok && m_board.allocated(); }
    [[nodiscard]] std::uint32_t effective_cwnd() const;
    [[nodiscard]] std::uint32_t timestamp_now(runtime::Instant now) const;

    // Timers.
    void restart_rto(runtime::Instant now) { m_rto_at = now + m_rtt.rto(); }
    void on_rto(runtime::Instant now);
    void on_reorder_timeout(runtime::Instant now);
    void on_persist(runtime::Instant now);
    void arm_tail_loss_probe(runtime::Instant now);
    void on_tail_loss_probe(runtime::Instant now);
    void on_keepalive(runtime::Instant now);
    void reset_keepalive(runtime::Instant now);
    void notify_readable();
    void notify_writable();
    void fill_from_writer();

    TcpLayer& m_layer;
    TcpFourTuple m_tuple;
    TcpConfig m_config;
    TcpState m_state = TcpState::Closed;
    std::optional<TcpError> m_error;
    bool m_attached = false;
    bool m_passive = false;

    // Send sequence space (RFC 9293 §3.3.1). m_snd_una_data is the sequence number of the
    // send ring's first byte: snd_una, or snd_una + 1 while our SYN is unacknowledged.
    std::uint32_t m_iss = 0, m_snd_una = 0, m_snd_nxt = 0, m_snd_max = 0, m_snd_una_data = 0;
    std::uint32_t m_snd_wnd = 0, m_snd_wl1 = 0, m_snd_wl2 = 0, m_max_snd_wnd = 0;
    // Receive sequence space; m_rcv_adv is the right edge of the window we advertised.
    std::uint32_t m_irs = 0, m_rcv_nxt = 0, m_rcv_adv = 0;
    std::uint8_t m_snd_wscale = 0, m_rcv_wscale = 0;
    bool m_ws_ok = false, m_ts_ok = false, m_sack_ok = false;
    std::uint32_t m_ts_recent = 0;
    std::uint32_t m_last_ack_sent = 0;
    std::uint32_t m_mss = 536;       // payload per segment we send (options accounted for)
    std::uint32_t m_peer_mss = 536;  // what the peer announced
    runtime::Instant m_epoch;        // our timestamp clock counts milliseconds from here

    ByteRing m_send;
    ByteRing m_recv;
    SeqRangeSet m_out_of_order;  // received above rcv_nxt
    // RFC 2018 §4: a sequence number in each of the blocks reported most recently, the
    // latest first; the next ACK reports the blocks that hold them in this order.
    std::array<std::uint32_t, 4> m_recent_blocks{};
    std::size_t m_recent_count = 0;
    std::optional<SackBlock> m_dsack;  // a duplicate received, for the next ACK (RFC 2883)
    TcpScoreboard m_board;             // with SACK: every segment in flight
    bool m_fin_queued = false;         // the application shut down: FIN after the data
    bool m_fin_sent = false;
    bool m_fin_acked = false;
    std::optional<std::uint32_t> m_peer_fin;  // sequence number of the peer's FIN, once seen
    bool m_peer_fin_accepted = false;

    TcpCongestion m_cc;
    TcpRttEstimator m_rtt;
    TcpRack m_rack;
    TcpPrr m_prr;
    bool m_in_recovery = false;      // fast recovery
    bool m_rto_recovery = false;     // with SACK: resending what a timeout deemed lost
    std::uint32_t m_recover = 0;     // RFC 6582 "recover", RFC 6675 RecoveryPoint
    std::uint32_t m_cwnd_extra = 0;  // NewReno window inflation during recovery
    // The Eifel algorithm (RFC 3522): the timestamp of the first retransmission by the
    // timer, and the congestion state to return to if it proves spurious.
    std::optional<std::uint32_t> m_rto_tsval;
    std::optional<TcpCongestion> m_undo_cc;
    unsigned m_dupacks = 0;
    std::uint32_t m_rtt_seq = 0;  // timing one segment when there are no timestamps (m_rtt_valid)
    runtime::Instant m_rtt_sent_at;
    bool m_rtt_valid = false;

    std::optional<runtime::Instant> m_rto_at, m_delack_at, m_persist_at, m_keepalive_at, m_state_timer_at;
    std::optional<runtime::Instant> m_tlp_at, m_reo_at;
    bool m_tlp_sent = false;  // one probe per tail, until an ACK moves SND.UNA
    // RFC 8985 §7.4: the probe's episode, until the ACKs show whether it repaired a loss.
    std::optional<std::uint32_t> m_tlp_high_seq;
    bool m_tlp_retransmitted = false;
    unsigned m_retransmissions = 0;
    unsigned m_persist_backoff = 0;
    unsigned m_keepalive_sent = 0;
    unsigned m_unacked_segments = 0;  // received, not yet acknowledged
    bool m_ack_now = false;
    bool m_app_closed = false;
    bool m_readable_pending = false;
    bool m_writable_pending = false;

    TcpConnectionStats m_stats;
};

}  // namespace net
