#pragma once
// Congestion window arithmetic: CUBIC (RFC 9438) by default, NewReno (RFC 5681 with the
// RFC 6582 window updates) on request. The connection decides when these happen (which
// ACK is new, when recovery starts and ends, which segment to resend); this class only
// owns cwnd and ssthresh. All integer arithmetic: windows in bytes, CUBIC's clock in
// units of 2^-20 s (see docs/tcp-algorithms.md).

#include <cstdint>
#include <limits>
#include <optional>

#include "runtime/time.hpp"

namespace net {

enum class CongestionAlgorithm : std::uint8_t { Cubic, NewReno };

class TcpCongestion {
public:
    // ssthresh before the first loss, and the value cwnd saturates at.
    static constexpr std::uint32_t k_infinite = std::numeric_limits<std::uint32_t>::max();

    // IW = min(10*MSS, max(2*MSS, 14600)) (RFC 6928 §2); ssthresh "infinite" (RFC 5681 §3.1).
    TcpCongestion(CongestionAlgorithm algorithm, std::uint32_t mss, runtime::Instant now);

    [[nodiscard]] std::uint32_t cwnd() const { return m_cwnd; }  // bytes
    [[nodiscard]] std::uint32_t ssthresh() const { return m_ssthresh; }
    [[nodiscard]] CongestionAlgorithm algorithm() const { return m_algorithm; }
    [[nodiscard]] bool in_slow_start() const { return m_cwnd < m_ssthresh; }
    [[nodiscard]] std::uint32_t mss() const { return m_mss; }

    // After the handshake agreed on an MSS (clamped to [1, 65535]). Before any data was
    // acknowledged or lost the window is still the initial one and is recomputed with it.
    void set_mss(std::uint32_t mss);

    // New data cumulatively acknowledged outside loss recovery. bytes_in_flight is what was
    // outstanding before this ACK; srtt and min_rtt from TcpRttEstimator (0 when unknown).
    // Slow start grows by min(acked, 2*MSS) (RFC 3465 §2.2, L = 2); congestion avoidance by
    // one MSS per cwnd acknowledged (NewReno, RFC 3465 §2.1) or along CUBIC's curve. The
    // window does not grow while the flow is application limited (RFC 9438 §5.8, RFC 7661):
    // in congestion avoidance when another full segment would have fitted in the window, in
    // slow start when less than half the window was in flight.
    void on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, runtime::Instant now, runtime::Duration srtt,
                runtime::Duration min_rtt);

    // Fast retransmit, entering loss recovery (call once per window of data). Returns cwnd.
    std::uint32_t on_congestion_event(std::uint32_t bytes_in_flight, runtime::Instant now);
    // The retransmission timer expired: ssthresh as for a loss, cwnd = 1 MSS (RFC 5681 (4),
    // RFC 9438 §4.8). Repeated timeouts without an ACK in between keep ssthresh (RFC 5681
    // §3.1: the same segment retransmitted again by the timer).
    void on_retransmission_timeout(std::uint32_t bytes_in_flight, runtime::Instant now);
    // Proportional Rate Reduction (RFC 6937) sets the window on each ACK of a fast
    // recovery: what is in flight plus what this ACK lets out.
    void set_recovery_window(std::uint32_t cwnd) { m_cwnd = cwnd; }
    // The recovery point was acknowledged: NewReno deflates cwnd to ssthresh (RFC 6582 §3.2
    // step 6); CUBIC starts its congestion avoidance epoch here.
    void on_recovery_exit(runtime::Instant now);
    // The connection sends again after idling (RFC 5681 §4.1): if it was idle for more than
    // an RTO, cwnd drops to the restart window min(IW, cwnd). CUBIC's clock does not count
    // the idle time (RFC 9438 §5.8).
    void on_idle_restart(runtime::Duration idle, runtime::Duration rto);

    // CUBIC's state, for tests and statistics: W_max in bytes and K (nullopt before the
    // first congestion avoidance epoch, and for NewReno).
    [[nodiscard]] std::uint32_t cubic_w_max() const { return m_w_max; }
    [[nodiscard]] std::optional<runtime::Duration> cubic_k() const;
    // W_cubic(t) of RFC 9438 §4.2 in bytes, t measured from the start of the current
    // epoch; nullopt outside an epoch.
    [[nodiscard]] std::optional<std::uint32_t> cubic_window_at(runtime::Duration t) const;
    // W_est of RFC 9438 §4.3 in bytes (0 outside an epoch).
    [[nodiscard]] std::uint32_t cubic_reno_estimate() const { return m_w_est; }

private:
    [[nodiscard]] std::uint32_t initial_window() const;
    [[nodiscard]] std::uint32_t loss_ssthresh(std::uint32_t bytes_in_flight) const;
    void enter_loss(std::uint32_t bytes_in_flight);
    std::uint32_t slow_start(std::uint32_t acked_bytes);
    void newreno_avoidance(std::uint32_t acked_bytes);
    void cubic_avoidance(std::uint32_t acked_bytes, runtime::Instant now, runtime::Duration rtt);
    void start_epoch(runtime::Instant now);
    [[nodiscard]] std::uint32_t cubic_window(std::uint64_t ticks) const;

    CongestionAlgorithm m_algorithm;
    std::uint32_t m_mss;
    std::uint32_t m_cwnd;
    std::uint32_t m_ssthresh = k_infinite;
    bool m_initial_window = true;     // nothing acknowledged or lost yet
    bool m_timeout_pending = false;   // an RTO with no new ACK since
    std::uint64_t m_bytes_acked = 0;  // RFC 3465 §2.1 counter (NewReno avoidance)

    // CUBIC (RFC 9438 §4). Windows in bytes, times in ticks of 2^-20 s.
    bool m_after_timeout = false;    // §4.8: next epoch uses K = 0, W_max = cwnd_epoch
    std::uint32_t m_w_max = 0;       // 0: undefined (no loss yet)
    std::uint32_t m_cwnd_prior = 0;  // cwnd when ssthresh was last set (§4.3 alpha switch)
    std::optional<runtime::Instant> m_epoch_start;
    runtime::Instant m_last_ack;  // for excluding application-limited time (§5.8)
    std::uint32_t m_origin = 0;   // W_max used by this epoch's curve
    std::uint64_t m_k_ticks = 0;
    std::uint32_t m_w_est = 0;
    std::uint64_t m_cubic_credit = 0;  // fractions of a byte owed to cwnd, times cwnd
    std::uint64_t m_est_credit = 0;    // fractions owed to W_est, times 17 * cwnd
};

}  // namespace net
