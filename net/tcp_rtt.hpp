#pragma once
// The retransmission timeout from round-trip measurements (RFC 6298), in integer
// nanoseconds. The caller decides which acknowledgments are valid samples (Karn's rule,
// RFC 6298 §3: never time a retransmitted segment) and runs the timer itself.

#include <chrono>
#include <optional>

#include "runtime/time.hpp"

namespace net {

// Outside the estimator so that `Config = {}` can be a default argument.
struct TcpRttConfig {
    // RFC 6298 §2.4 says the RTO "SHOULD be rounded up to 1 second"; like Linux we take
    // 200 ms (docs/tcp-algorithms.md says why). `tcp_min_rto_ms=` sets it.
    runtime::Duration min_rto = std::chrono::milliseconds{200};
    runtime::Duration max_rto = std::chrono::seconds{60};                // §2.5: at least 60 s
    runtime::Duration initial_rto = std::chrono::seconds{1};             // §2.1
    runtime::Duration clock_granularity = std::chrono::milliseconds{1};  // G in §2
};

class TcpRttEstimator {
public:
    using Config = TcpRttConfig;

    explicit TcpRttEstimator(const Config& config = {});

    // A valid RTT measurement (§2.2 for the first, §2.3 after). Also ends any back-off:
    // the RTO is recomputed from SRTT and RTTVAR (§5.7's "new RTO" after a sample).
    // Negative samples count as 0; samples over an hour are taken as an hour, so the
    // arithmetic cannot overflow whatever the clock says.
    void sample(runtime::Duration rtt);
    // SRTT + max(G, 4 * RTTVAR), doubled for each back-off, clamped to [min_rto, max_rto]
    // (§2.4, §2.5, §5.5). initial_rto (with back-off) before the first sample.
    [[nodiscard]] runtime::Duration rto() const;
    // The retransmission timer expired: the next RTO doubles, up to max_rto (§5.5).
    void back_off();
    // A new acknowledgment after a retransmission: the back-off ends, SRTT stays.
    void reset_back_off();

    [[nodiscard]] std::optional<runtime::Duration> srtt() const;  // nullopt before the first sample
    [[nodiscard]] runtime::Duration rttvar() const;               // 0 before the first sample
    [[nodiscard]] runtime::Duration min_rtt() const;              // the smallest sample seen, 0 if none
    [[nodiscard]] unsigned back_off_count() const { return m_back_off_count; }
    [[nodiscard]] unsigned sample_count() const { return m_sample_count; }

private:
    // RTO before back-off and before the [min, max] clamp.
    [[nodiscard]] runtime::Duration base_rto() const;

    Config m_config;
    runtime::Duration m_srtt{0};
    runtime::Duration m_rttvar{0};
    runtime::Duration m_min_rtt{0};
    unsigned m_sample_count = 0;
    unsigned m_back_off_count = 0;
};

}  // namespace net
