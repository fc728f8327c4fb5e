#include "net/tcp_prr.hpp"

#include <algorithm>

namespace net {

void TcpPrr::start(std::uint32_t ssthresh, std::uint32_t recover_fs) {
    m_ssthresh = ssthresh;
    m_recover_fs = std::max(recover_fs, 1U);
    m_delivered = 0;
    m_out = 0;
}

std::uint32_t TcpPrr::on_ack(std::uint32_t delivered, std::uint32_t pipe, std::uint32_t mss) {
    // RFC 6937 §3.
    m_delivered += delivered;
    std::uint64_t sndcnt = 0;
    if (pipe > m_ssthresh) {
        // The proportional part: prr_delivered * ssthresh / RecoverFS, rounded up, less
        // what recovery already sent.
        std::uint64_t allowed = (m_delivered * m_ssthresh + m_recover_fs - 1) / m_recover_fs;
        sndcnt = allowed > m_out ? allowed - m_out : 0;
    } else {
        // Slow-start reduction bound (PRR-SSRB): grow back towards ssthresh, at most one
        // segment more than what was delivered.
        std::uint64_t owed = m_delivered > m_out ? m_delivered - m_out : 0;
        std::uint64_t limit = std::max<std::uint64_t>(owed, delivered) + mss;
        sndcnt = std::min<std::uint64_t>(m_ssthresh - pipe, limit);
    }
    // The fast retransmit itself goes out on the ACK that starts recovery, whatever the
    // arithmetic says (Linux's tcp_cwnd_reduction keeps the same floor while prr_out is 0).
    if (m_out == 0 && sndcnt < mss) sndcnt = mss;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(sndcnt, 0xFFFF'FFFF));
}

}  // namespace net
