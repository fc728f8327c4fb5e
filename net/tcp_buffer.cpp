#include "net/tcp_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace net {

ByteRing::~ByteRing() { free(); }

bool ByteRing::allocate(std::size_t capacity) {
    free();
    m_data = new (std::nothrow) std::byte[capacity];
    if (m_data == nullptr) return false;
    m_capacity = capacity;
    m_head = 0;
    m_size = 0;
    return true;
}

void ByteRing::free() {
    delete[] m_data;
    m_data = nullptr;
    m_capacity = m_head = m_size = 0;
}

std::size_t ByteRing::append(std::span<const std::byte> data) {
    std::size_t n = std::min(data.size(), space());
    write_at(m_size, data.first(n));
    m_size += n;
    return n;
}

void ByteRing::write_at(std::size_t offset, std::span<const std::byte> data) {
    if (data.empty()) return;  // also on a ring never allocated (capacity 0)
    std::size_t start = (m_head + offset) % m_capacity;
    std::size_t first = std::min(data.size(), m_capacity - start);
    std::memcpy(m_data + start, data.data(), first);
    if (first < data.size()) std::memcpy(m_data, data.data() + first, data.size() - first);
}

void ByteRing::copy_out(std::size_t offset, std::span<std::byte> out) const {
    if (out.empty()) return;
    std::size_t start = (m_head + offset) % m_capacity;
    std::size_t first = std::min(out.size(), m_capacity - start);
    std::memcpy(out.data(), m_data + start, first);
    if (first < out.size()) std::memcpy(out.data() + first, m_data, out.size() - first);
}

void ByteRing::consume(std::size_t n) {
    n = std::min(n, m_size);
    if (n == 0) return;  // a ring never allocated (a half-open connection) has capacity 0
    m_size -= n;
    // The head moves even when the ring empties: bytes written past size() (out of
    // order) keep their place relative to it.
    m_head = (m_head + n) % m_capacity;
}

bool SeqRangeSet::add(SackBlock range) {
    if (!seq_lt(range.left, range.right)) return true;
    // First range whose end reaches range.left (touching counts: they merge).
    std::size_t i = 0;
    while (i < m_count && seq_lt(m_ranges[i].right, range.left)) ++i;
    // Ranges [i, j) overlap or touch the new one.
    std::size_t j = i;
    while (j < m_count && seq_le(m_ranges[j].left, range.right)) ++j;
    if (i == j) {
        if (m_count == k_max) return false;
        for (std::size_t k = m_count; k > i; --k) m_ranges[k] = m_ranges[k - 1];
        m_ranges[i] = range;
        ++m_count;
        return true;
    }
    SackBlock merged{seq_lt(m_ranges[i].left, range.left) ? m_ranges[i].left : range.left,
                     seq_gt(m_ranges[j - 1].right, range.right) ? m_ranges[j - 1].right : range.right};
    m_ranges[i] = merged;
    std::size_t removed = j - i - 1;
    for (std::size_t k = i + 1; k + removed < m_count; ++k) m_ranges[k] = m_ranges[k + removed];
    m_count -= removed;
    return true;
}

void SeqRangeSet::trim_below(std::uint32_t below) {
    std::size_t drop = 0;
    while (drop < m_count && seq_le(m_ranges[drop].right, below)) ++drop;
    for (std::size_t k = 0; k + drop < m_count; ++k) m_ranges[k] = m_ranges[k + drop];
    m_count -= drop;
    if (m_count != 0 && seq_lt(m_ranges[0].left, below)) m_ranges[0].left = below;
}

const SackBlock* SeqRangeSet::find(std::uint32_t seq) const {
    for (std::size_t i = 0; i < m_count; ++i) {
        if (seq_le(m_ranges[i].left, seq) && seq_lt(seq, m_ranges[i].right)) return &m_ranges[i];
    }
    return nullptr;
}

std::uint32_t SeqRangeSet::bytes_above(std::uint32_t seq) const {
    std::uint32_t total = 0;
    for (std::size_t i = 0; i < m_count; ++i) {
        const SackBlock& r = m_ranges[i];
        if (seq_le(r.right, seq)) continue;
        total += r.right - (seq_gt(r.left, seq) ? r.left : seq);
    }
    return total;
}

std::uint32_t SeqRangeSet::covered(std::uint32_t left, std::uint32_t right) const {
    std::uint32_t total = 0;
    for (std::size_t i = 0; i < m_count; ++i) {
        std::uint32_t l = seq_gt(m_ranges[i].left, left) ? m_ranges[i].left : left;
        std::uint32_t r = seq_lt(m_ranges[i].right, right) ? m_ranges[i].right : right;
        if (seq_lt(l, r)) total += r - l;
    }
    return total;
}

}  // namespace net
