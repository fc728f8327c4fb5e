#include "net/tcp_congestion.hpp"

#include <algorithm>

namespace net {

namespace {

using u128 = unsigned __int128;

constexpr std::uint32_t saturate(std::uint64_t value) {
    return value > TcpCongestion::k_infinite ? TcpCongestion::k_infinite : static_cast<std::uint32_t>(value);
}

// CUBIC's clock ticks 2^20 times a second (about 0.95 us). Durations are clamped to
// [0, 2^52 ns] (52 days) first, so ns * 2^11 fits in 64 bits: 1e9 = 2^9 * 1953125.
constexpr std::int64_t k_max_ns = std::int64_t{1} << 52;
constexpr std::uint64_t ticks_from(runtime::Duration d) {
    std::int64_t ns = std::clamp(d.count(), std::int64_t{0}, k_max_ns);
    return (static_cast<std::uint64_t>(ns) << 11) / 1953125;
}
constexpr runtime::Duration duration_from(std::uint64_t ticks) {
    ticks = std::min(ticks, std::uint64_t{1} << 40);
    return runtime::Duration(static_cast<std::int64_t>(ticks * 1953125 >> 11));
}

// C * t^3 in bytes for t in ticks: C = 0.4 segments/s^3 = 2/5, so 2 * mss * t^3 / 2^60 / 5.
// t is clamped to 2^35 ticks (9 hours): 2^105 * 2^17 still fits 128 bits, the result 64.
std::uint64_t cubic_growth(std::uint32_t mss, std::uint64_t ticks) {
    ticks = std::min(ticks, std::uint64_t{1} << 35);
    u128 cube = u128{ticks} * ticks * ticks;
    return static_cast<std::uint64_t>((cube * (2 * u128{mss})) >> 60) / 5;
}

// K = cbrt((W_max - cwnd_epoch) / C) of RFC 9438 §4.2 (Figure 2) in ticks: the largest k
// with C * k^3 <= difference, by bisection so no 128-bit division is needed (the kernel
// links no __udivti3). difference < 2^32 bytes keeps k below 2^32.
std::uint64_t cubic_k_ticks(std::uint32_t mss, std::uint32_t difference) {
    u128 limit = (u128{difference} * 5) << 60;
    std::uint64_t low = 0;
    std::uint64_t high = std::uint64_t{1} << 32;  // C * high^3 > limit for any mss >= 1
    while (high - low > 1) {
        std::uint64_t mid = low + (high - low) / 2;
        u128 value = u128{mid} * mid * mid * (2 * u128{mss});
        (value <= limit ? low : high) = mid;
    }
    return low;
}

}  // namespace

TcpCongestion::TcpCongestion(CongestionAlgorithm algorithm, std::uint32_t mss, runtime::Instant now)
    : m_algorithm(algorithm), m_mss(std::clamp(mss, 1U, 65535U)), m_cwnd(initial_window()), m_last_ack(now) {}

std::uint32_t TcpCongestion::initial_window() const {
    // RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)).
    return std::min(10 * m_mss, std::max(2 * m_mss, 14600U));
}

void TcpCongestion::set_mss(std::uint32_t mss) {
    m_mss = std::clamp(mss, 1U, 65535U);
    if (m_initial_window) m_cwnd = initial_window();
}

std::uint32_t TcpCongestion::loss_ssthresh(std::uint32_t bytes_in_flight) const {
    std::uint64_t flight = bytes_in_flight;
    // RFC 5681 (4): max(FlightSize / 2, 2*SMSS); RFC 9438 §4.6: FlightSize * beta_cubic,
    // beta_cubic = 0.7, with the same floor of two segments.
    std::uint64_t reduced = m_algorithm == CongestionAlgorithm::Cubic ? flight * 7 / 10 : flight / 2;
    return saturate(std::max(reduced, 2 * std::uint64_t{m_mss}));
}

void TcpCongestion::enter_loss(std::uint32_t bytes_in_flight) {
    if (m_algorithm == CongestionAlgorithm::Cubic) {
        // RFC 9438 §4.7 fast convergence: a loss before reaching the previous W_max means
        // the share is shrinking, so release bandwidth: W_max = cwnd * (1 + beta) / 2.
        m_w_max = m_cwnd < m_w_max ? static_cast<std::uint32_t>(std::uint64_t{m_cwnd} * 17 / 20) : m_cwnd;
        m_cwnd_prior = m_cwnd;  // §4.6, for the alpha switch of §4.3
    }
    m_ssthresh = loss_ssthresh(bytes_in_flight);
    m_initial_window = false;
    m_epoch_start.reset();
    m_bytes_acked = 0;
}

std::uint32_t TcpCongestion::on_congestion_event(std::uint32_t bytes_in_flight, runtime::Instant) {
    enter_loss(bytes_in_flight);
    m_after_timeout = false;
    m_cwnd = m_ssthresh;  // RFC 6582 §3.2 step 2 without the inflation (the connection's)
    return m_cwnd;
}

void TcpCongestion::on_retransmission_timeout(std::uint32_t bytes_in_flight, runtime::Instant) {
    // RFC 5681 §3.1: a segment retransmitted by the timer more than once leaves ssthresh
    // (and CUBIC's W_max) alone; no ACK since the last timeout means it is the same one.
    if (!m_timeout_pending) enter_loss(bytes_in_flight);
    m_cwnd = m_mss;  // the loss window, RFC 5681 (4) and RFC 9438 §4.8
    m_timeout_pending = true;
    m_after_timeout = true;
    m_epoch_start.reset();
}

void TcpCongestion::on_recovery_exit(runtime::Instant now) {
    // RFC 6582 §3.2 step 6: deflate to ssthresh. Never raise: a timeout during recovery
    // left cwnd at one segment to slow-start from.
    m_cwnd = std::min(m_cwnd, m_ssthresh);
    if (m_algorithm == CongestionAlgorithm::Cubic && !in_slow_start()) start_epoch(now);
}

void TcpCongestion::on_idle_restart(runtime::Duration idle, runtime::Duration rto) {
    if (m_epoch_start) {
        // RFC 9438 §5.8: the curve's clock stands still while nothing is sent.
        runtime::Duration shift = std::clamp(idle, runtime::Duration{0}, runtime::Duration{k_max_ns});
        *m_epoch_start += shift;
        m_last_ack += shift;
    }
    if (idle > rto) {
        // RFC 5681 §4.1: cwnd = min(RW, cwnd) with the restart window RW = min(IW, cwnd).
        std::uint32_t restart = std::min(initial_window(), m_cwnd);
        if (restart < m_cwnd) {
            m_cwnd = restart;
            m_epoch_start.reset();  // the next epoch starts from the new window
        }
    }
}

void TcpCongestion::on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, runtime::Instant now,
                           runtime::Duration srtt, runtime::Duration min_rtt) {
    if (acked_bytes == 0) return;
    m_initial_window = false;
    m_timeout_pending = false;
    runtime::Instant previous_ack = m_last_ack;
    m_last_ack = now;

    if (in_slow_start()) {
        // Application limited in slow start: less than half the window was used, so the
        // ACK clock says nothing about a window twice this size.
        if (2 * std::uint64_t{bytes_in_flight} < m_cwnd) return;
        acked_bytes = slow_start(acked_bytes);
        if (acked_bytes == 0) return;
    }

    // Congestion avoidance grows only when the window was the limit: no room was left
    // for another full segment.
    if (std::uint64_t{bytes_in_flight} + m_mss <= m_cwnd) {
        if (m_epoch_start && now > previous_ack) *m_epoch_start += now - previous_ack;  // RFC 9438 §5.8
        return;
    }
    if (m_algorithm == CongestionAlgorithm::NewReno) {
        newreno_avoidance(acked_bytes);
    } else {
        // RFC 9438 §4.2 uses the smoothed RTT; before any sample, the smallest one seen.
        cubic_avoidance(acked_bytes, now, srtt > runtime::Duration{0} ? srtt : min_rtt);
    }
}

std::uint32_t TcpCongestion::slow_start(std::uint32_t acked_bytes) {
    // RFC 3465 §2.2: cwnd += min(N, L*SMSS) with L = 2. The part of the ACK beyond
    // ssthresh is left for congestion avoidance.
    std::uint32_t increase = std::min(acked_bytes, 2 * m_mss);
    std::uint32_t room = m_ssthresh - m_cwnd;
    if (increase < room) {
        m_cwnd += increase;
        return 0;
    }
    m_cwnd = m_ssthresh;
    return acked_bytes > room ? acked_bytes - room : 0;
}

void TcpCongestion::newreno_avoidance(std::uint32_t acked_bytes) {
    // RFC 3465 §2.1 (and RFC 5681 §3.1): one SMSS per cwnd of acknowledged bytes.
    m_bytes_acked += acked_bytes;
    if (m_bytes_acked >= m_cwnd) {
        m_bytes_acked -= m_cwnd;
        m_cwnd = saturate(std::uint64_t{m_cwnd} + m_mss);
        // At most one segment per ACK: a huge stretch ACK does not bank later growth.
        m_bytes_acked = std::min(m_bytes_acked, std::uint64_t{m_cwnd} - 1);
    }
}

void TcpCongestion::start_epoch(runtime::Instant now) {
    m_epoch_start = now;
    m_last_ack = now;
    m_w_est = m_cwnd;  // RFC 9438 §4.3: W_est = cwnd_epoch
    m_cubic_credit = 0;
    m_est_credit = 0;
    if (m_after_timeout || m_w_max == 0) {
        // §4.8 after a timeout, §4.10 without a previous loss: K = 0, W_max = cwnd_epoch.
        m_w_max = m_cwnd;
    }
    m_after_timeout = false;
    if (m_cwnd >= m_w_max) {
        // Already at or past W_max (slow start overshot it): the convex part from here.
        m_origin = m_cwnd;
        m_k_ticks = 0;
    } else {
        m_origin = m_w_max;
        m_k_ticks = cubic_k_ticks(m_mss, m_w_max - m_cwnd);
    }
}

std::optional<runtime::Duration> TcpCongestion::cubic_k() const {
    if (!m_epoch_start) return std::nullopt;
    return duration_from(m_k_ticks);
}

std::optional<std::uint32_t> TcpCongestion::cubic_window_at(runtime::Duration t) const {
    if (!m_epoch_start) return std::nullopt;
    return cubic_window(ticks_from(t));
}

std::uint32_t TcpCongestion::cubic_window(std::uint64_t ticks) const {
    // RFC 9438 §4.2 (Figure 1): W_cubic(t) = C * (t - K)^3 + W_max.
    if (ticks >= m_k_ticks) return saturate(std::uint64_t{m_origin} + cubic_growth(m_mss, ticks - m_k_ticks));
    std::uint64_t fall = cubic_growth(m_mss, m_k_ticks - ticks);
    return fall >= m_origin ? 0 : static_cast<std::uint32_t>(m_origin - fall);
}

void TcpCongestion::cubic_avoidance(std::uint32_t acked_bytes, runtime::Instant now, runtime::Duration rtt) {
    if (!m_epoch_start) start_epoch(now);
    runtime::Duration elapsed = std::max(now - *m_epoch_start, runtime::Duration{0});
    std::uint64_t cwnd = m_cwnd;

    // §4.4, §4.5: aim at W_cubic(t + RTT), kept within [cwnd, 1.5 * cwnd], and close the
    // gap over one window of ACKs: cwnd += (target - cwnd) / cwnd per segment, that is
    // (target - cwnd) * acked / cwnd in bytes. The remainder carries to the next ACK.
    std::uint64_t elapsed_ticks = ticks_from(elapsed);
    std::uint64_t target = cubic_window(elapsed_ticks + ticks_from(rtt));
    target = std::clamp(target, cwnd, cwnd + cwnd / 2);
    m_cubic_credit += (target - cwnd) * acked_bytes;
    std::uint64_t next = cwnd + m_cubic_credit / cwnd;
    m_cubic_credit %= cwnd;

    // §4.3: the Reno-friendly estimate grows by alpha * segments_acked / cwnd segments,
    // alpha = 3 * (1 - beta) / (1 + beta) = 9/17 until W_est reaches cwnd_prior, then 1.
    // Kept in seventeenths: credit / (17 * cwnd) bytes.
    std::uint64_t alpha = m_w_est >= m_cwnd_prior ? 17 : 9;
    m_est_credit += alpha * acked_bytes * m_mss;
    m_w_est = saturate(m_w_est + m_est_credit / (17 * cwnd));
    m_est_credit %= 17 * cwnd;
    if (cubic_window(elapsed_ticks) < m_w_est) next = std::max<std::uint64_t>(next, m_w_est);

    m_cwnd = saturate(next);
}

}  // namespace net
