#include "net/tcp_rtt.hpp"

#include <algorithm>
#include <limits>

namespace net {

namespace {
constexpr runtime::Duration k_max_sample = std::chrono::hours{1};
}  // namespace

TcpRttEstimator::TcpRttEstimator(const Config& config) : m_config(config) {
    // A configuration with min over max would make every clamp ill-formed; the larger
    // bound wins, which keeps the RFC's "at least 60 s" maximum meaningful.
    m_config.min_rto = std::max(m_config.min_rto, runtime::Duration{0});
    m_config.max_rto = std::max(m_config.max_rto, m_config.min_rto);
    m_config.clock_granularity = std::max(m_config.clock_granularity, runtime::Duration{0});
}

void TcpRttEstimator::sample(runtime::Duration rtt) {
    rtt = std::clamp(rtt, runtime::Duration{0}, k_max_sample);
    if (m_sample_count == 0) {
        // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
        m_srtt = rtt;
        m_rttvar = rtt / 2;
        m_min_rtt = rtt;
    } else {
        // §2.3, with alpha = 1/8 and beta = 1/4; RTTVAR first, with the old SRTT.
        runtime::Duration error = m_srtt > rtt ? m_srtt - rtt : rtt - m_srtt;
        m_rttvar = (3 * m_rttvar + error) / 4;
        m_srtt = (7 * m_srtt + rtt) / 8;
        m_min_rtt = std::min(m_min_rtt, rtt);
    }
    if (m_sample_count != std::numeric_limits<unsigned>::max()) ++m_sample_count;
    m_back_off_count = 0;
}

runtime::Duration TcpRttEstimator::base_rto() const {
    if (m_sample_count == 0) return m_config.initial_rto;
    // §2.2/§2.3: RTO <- SRTT + max(G, K*RTTVAR) with K = 4.
    return m_srtt + std::max(m_config.clock_granularity, 4 * m_rttvar);
}

runtime::Duration TcpRttEstimator::rto() const {
    runtime::Duration rto = std::clamp(base_rto(), m_config.min_rto, m_config.max_rto);
    // §5.5: double per back-off, up to the maximum; the loop ends after at most 64 rounds
    // whatever the count, and never doubles past max_rto (no overflow).
    for (unsigned i = 0; i < m_back_off_count && rto > runtime::Duration{0}; ++i) {
        if (rto >= m_config.max_rto / 2) return m_config.max_rto;
        rto *= 2;
    }
    return rto;
}

void TcpRttEstimator::back_off() {
    if (m_back_off_count != std::numeric_limits<unsigned>::max()) ++m_back_off_count;
}

void TcpRttEstimator::reset_back_off() { m_back_off_count = 0; }

std::optional<runtime::Duration> TcpRttEstimator::srtt() const {
    if (m_sample_count == 0) return std::nullopt;
    return m_srtt;
}

runtime::Duration TcpRttEstimator::rttvar() const { return m_rttvar; }

runtime::Duration TcpRttEstimator::min_rtt() const { return m_min_rtt; }

}  // namespace net
