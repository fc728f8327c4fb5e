#include "net/tcp_scoreboard.hpp"

#include <algorithm>
#include <new>

namespace net {

TcpScoreboard::~TcpScoreboard() { free(); }

bool TcpScoreboard::allocate(std::size_t capacity) {
    free();
    m_entries = new (std::nothrow) ScoreboardEntry[capacity];
    if (m_entries == nullptr) return false;
    m_capacity = capacity;
    return true;
}

void TcpScoreboard::free() {
    delete[] m_entries;
    m_entries = nullptr;
    m_capacity = 0;
    m_first = m_count = 0;
    m_sacked_bytes = m_lost_bytes = 0;
    m_sacked_count = 0;
}

void TcpScoreboard::reset(std::uint32_t seq) {
    m_first = m_count = 0;
    m_right = seq;
    m_sacked_bytes = m_lost_bytes = 0;
    m_sacked_count = 0;
}

std::uint32_t TcpScoreboard::in_flight() const {
    if (m_count == 0) return 0;
    return m_right - (*this)[0].start - m_sacked_bytes - m_lost_bytes;
}

void TcpScoreboard::push_back(const ScoreboardEntry& entry) {
    if (m_first + m_count == m_capacity) {
        std::copy(m_entries + m_first, m_entries + m_first + m_count, m_entries);
        m_first = 0;
    }
    m_entries[m_first + m_count++] = entry;
}

bool TcpScoreboard::split_at(std::uint32_t seq) {
    std::optional<std::size_t> i = find(seq);
    if (!i || at(*i).start == seq || m_count == m_capacity) return false;
    if (m_first + m_count == m_capacity) {
        std::copy(m_entries + m_first, m_entries + m_first + m_count, m_entries);
        m_first = 0;
    }
    ScoreboardEntry* entry = m_entries + m_first + *i;
    std::copy_backward(entry, m_entries + m_first + m_count, m_entries + m_first + m_count + 1);
    ++m_count;
    // entry and entry + 1 are now the same segment: the first keeps [start, seq).
    ScoreboardEntry& second = entry[1];
    entry->end = seq;
    second.start = seq;
    if (entry->sacked) ++m_sacked_count;
    return true;
}

void TcpScoreboard::on_sent(std::uint32_t start, std::uint32_t end, std::uint32_t piece, runtime::Instant now) {
    if (!seq_lt(start, end)) return;
    if (seq_ge(start, m_right)) {
        // New data (a gap cannot happen: the sender sends from SND.MAX).
        piece = std::max(piece, 1U);
        for (std::uint32_t s = start; s != end;) {
            std::uint32_t e = end - s > piece ? s + piece : end;
            // Out of room (more small segments in flight than the capacity allows for):
            // the last entry grows instead, which only makes loss repair coarser.
            if (m_count == m_capacity && m_count > 0 && !at(m_count - 1).sacked) {
                ScoreboardEntry& last = at(m_count - 1);
                if (last.lost) m_lost_bytes += e - s;
                last.end = e;
                last.sent_at = now;
            } else if (m_count < m_capacity) {
                push_back({.start = s, .end = e, .sent_at = now, .transmissions = 1});
            }
            s = e;
        }
        m_right = end;
        return;
    }
    if (seq_gt(end, m_right)) end = m_right;
    (void)split_at(start);
    (void)split_at(end);
    std::optional<std::size_t> i = find(start);
    for (std::size_t k = i.value_or(m_count); k < m_count && seq_lt(at(k).start, end); ++k) {
        ScoreboardEntry& entry = at(k);
        if (entry.sacked) continue;
        if (entry.lost) {
            entry.lost = false;
            m_lost_bytes -= entry.length();
        }
        entry.sent_at = now;
        if (entry.transmissions < 0xFFFF) ++entry.transmissions;
    }
}

void TcpScoreboard::set_sacked(ScoreboardEntry& entry) {
    if (entry.lost) {
        entry.lost = false;
        m_lost_bytes -= entry.length();
    }
    entry.sacked = true;
    m_sacked_bytes += entry.length();
    ++m_sacked_count;
}

void TcpScoreboard::drop_front() {
    ScoreboardEntry& entry = at(0);
    if (entry.sacked) {
        m_sacked_bytes -= entry.length();
        --m_sacked_count;
    }
    if (entry.lost) m_lost_bytes -= entry.length();
    ++m_first;
    --m_count;
    if (m_count == 0) m_first = 0;
}

void TcpScoreboard::mark_lost(std::size_t i) {
    ScoreboardEntry& entry = at(i);
    if (entry.sacked || entry.lost) return;
    entry.lost = true;
    m_lost_bytes += entry.length();
}

std::size_t TcpScoreboard::mark_lost_sent_by(runtime::Instant sent_by) {
    std::size_t marked = 0;
    for (std::size_t i = 0; i < m_count; ++i) {
        const ScoreboardEntry& entry = at(i);
        if (entry.sacked || entry.lost || entry.sent_at > sent_by) continue;
        mark_lost(i);
        ++marked;
    }
    return marked;
}

void TcpScoreboard::renege_front() {
    if (m_count == 0) return;
    ScoreboardEntry& entry = at(0);
    if (entry.sacked) {
        entry.sacked = false;
        m_sacked_bytes -= entry.length();
        --m_sacked_count;
    }
    mark_lost(0);
}

void TcpScoreboard::clear_lost() {
    for (std::size_t i = 0; i < m_count; ++i) at(i).lost = false;
    m_lost_bytes = 0;
}

std::optional<std::size_t> TcpScoreboard::first_lost(std::size_t from) const {
    for (std::size_t i = from; i < m_count; ++i) {
        if ((*this)[i].lost) return i;
    }
    return std::nullopt;
}

std::optional<std::size_t> TcpScoreboard::find(std::uint32_t seq) const {
    if (m_count == 0 || seq_lt(seq, (*this)[0].start) || seq_ge(seq, m_right)) return std::nullopt;
    // Entries are contiguous and in order: the last one starting at or before seq.
    const ScoreboardEntry* begin = m_entries + m_first;
    const ScoreboardEntry* it = std::upper_bound(
        begin, begin + m_count, seq, [](std::uint32_t s, const ScoreboardEntry& e) { return seq_lt(s, e.start); });
    return static_cast<std::size_t>(it - begin) - 1;
}

}  // namespace net
