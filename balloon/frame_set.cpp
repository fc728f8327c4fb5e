#include "balloon/frame_set.hpp"

#include <bit>
#include <new>
#include <utility>

#include "balloon/wire.hpp"

namespace balloon {

FrameSet FrameSet::create(std::uint64_t limit) {
    FrameSet set;
    std::uint64_t frames = (limit + wire::k_page_size - 1) >> wire::k_pfn_shift;
    set.m_word_count = static_cast<std::size_t>((frames + 63) / 64);
    if (set.m_word_count == 0) set.m_word_count = 1;
    set.m_words = new (std::nothrow) std::uint64_t[set.m_word_count]();
    if (set.m_words == nullptr) set.m_word_count = 0;
    return set;
}

FrameSet::FrameSet(FrameSet&& other) noexcept
    : m_words(std::exchange(other.m_words, nullptr)),
      m_word_count(std::exchange(other.m_word_count, 0)),
      m_count(std::exchange(other.m_count, 0)),
      m_cursor(std::exchange(other.m_cursor, 0)) {}

FrameSet& FrameSet::operator=(FrameSet&& other) noexcept {
    if (this != &other) {
        delete[] m_words;
        m_words = std::exchange(other.m_words, nullptr);
        m_word_count = std::exchange(other.m_word_count, 0);
        m_count = std::exchange(other.m_count, 0);
        m_cursor = std::exchange(other.m_cursor, 0);
    }
    return *this;
}

FrameSet::~FrameSet() { delete[] m_words; }

bool FrameSet::insert(std::uint64_t address) {
    std::uint64_t frame = address >> wire::k_pfn_shift;
    if (address % wire::k_page_size != 0 || frame / 64 >= m_word_count) return false;
    std::uint64_t bit = std::uint64_t{1} << (frame % 64);
    std::uint64_t& word = m_words[frame / 64];
    if ((word & bit) != 0) return false;
    word |= bit;
    ++m_count;
    return true;
}

bool FrameSet::remove(std::uint64_t address) {
    if (!contains(address)) return false;
    std::uint64_t frame = address >> wire::k_pfn_shift;
    m_words[frame / 64] &= ~(std::uint64_t{1} << (frame % 64));
    --m_count;
    return true;
}

bool FrameSet::contains(std::uint64_t address) const {
    std::uint64_t frame = address >> wire::k_pfn_shift;
    if (address % wire::k_page_size != 0 || frame / 64 >= m_word_count) return false;
    return ((m_words[frame / 64] >> (frame % 64)) & 1) != 0;
}

std::optional<std::uint64_t> FrameSet::take_any() {
    if (m_count == 0) return std::nullopt;
    for (std::size_t scanned = 0; scanned < m_word_count; ++scanned) {
        std::size_t index = (m_cursor + scanned) % m_word_count;
        std::uint64_t& word = m_words[index];
        if (word == 0) continue;
        auto bit = static_cast<unsigned>(std::countr_zero(word));
        word &= word - 1;
        --m_count;
        m_cursor = index;
        return (std::uint64_t{index} * 64 + bit) << wire::k_pfn_shift;
    }
    return std::nullopt;
}

}  // namespace balloon
