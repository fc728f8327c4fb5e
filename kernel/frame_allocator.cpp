#include "kernel/frame_allocator.hpp"

#include <algorithm>
#include <bit>

namespace kernel {
namespace {

constexpr std::uint64_t k_frame = FrameAllocator::k_frame_size;
std::uint64_t round_up(std::uint64_t v) { return (v + k_frame - 1) & ~(k_frame - 1); }
std::uint64_t round_down(std::uint64_t v) { return v & ~(k_frame - 1); }

}  // namespace

const char* to_string(MemoryError error) {
    switch (error) {
        case MemoryError::OutOfMemory: return "out of memory";
        case MemoryError::NotAllocated: return "frame was not allocated";
        case MemoryError::Misaligned: return "address not frame aligned";
        case MemoryError::OutOfRange: return "address outside managed memory";
        case MemoryError::BadRequest: return "bad request";
    }
    return "unknown memory error";
}

std::size_t FrameAllocator::bitmap_words_for(std::uint64_t max_address) {
    std::uint64_t frames = round_up(max_address) / k_frame;
    return static_cast<std::size_t>((frames + 63) / 64);
}

std::optional<std::uint64_t> FrameAllocator::find_space(std::span<const PhysicalRange> usable,
                                                        std::span<const PhysicalRange> reserved, std::uint64_t bytes) {
    bytes = round_up(bytes);
    for (const auto& range : usable) {
        std::uint64_t candidate = round_up(range.begin);
        std::uint64_t end = round_down(range.end);
        // Step past every reserved range that overlaps; restart the scan after each move.
        bool moved = true;
        while (moved && candidate + bytes <= end && candidate + bytes > candidate) {
            moved = false;
            for (const auto& r : reserved) {
                if (candidate < r.end && r.begin < candidate + bytes) {
                    candidate = round_up(r.end);
                    moved = true;
                }
            }
        }
        if (candidate + bytes <= end && candidate + bytes > candidate) return candidate;
    }
    return std::nullopt;
}

void FrameAllocator::set_range(std::size_t first, std::size_t end, bool make_used) {
    // Whole words at a time: this runs over every frame of memory at boot.
    while (first < end) {
        std::size_t bit = first % 64;
        std::size_t n = std::min<std::size_t>(64 - bit, end - first);
        std::uint64_t mask = (n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1)) << bit;
        std::uint64_t& word = m_bitmap[first / 64];
        std::uint64_t changing = make_used ? (~word & mask) : (word & mask);
        auto count = static_cast<std::size_t>(std::popcount(changing));
        if (make_used) {
            word |= mask;
            m_free -= count;
        } else {
            word &= ~mask;
            m_free += count;
        }
        first += n;
    }
}

void FrameAllocator::init(std::span<const PhysicalRange> usable, std::span<const PhysicalRange> reserved,
                          std::span<std::uint64_t> bitmap) {
    m_bitmap = bitmap;
    m_frames = bitmap.size() * 64;
    std::fill(bitmap.begin(), bitmap.end(), ~std::uint64_t{0});
    m_free = 0;
    for (const auto& range : usable) {
        std::uint64_t begin = round_up(range.begin) / k_frame;
        std::uint64_t end = std::min<std::uint64_t>(round_down(range.end) / k_frame, m_frames);
        if (begin < end) set_range(begin, end, false);
    }
    for (const auto& range : reserved) {
        std::uint64_t begin = round_down(range.begin) / k_frame;
        std::uint64_t end = std::min<std::uint64_t>(round_up(range.end) / k_frame, m_frames);
        if (begin < end) set_range(begin, end, true);
    }
    m_managed = m_free;
    m_hint = 0;
}

bool FrameAllocator::relieve(std::size_t frames) {
    if (m_pressure == nullptr || m_relieving) return false;
    m_relieving = true;
    ++m_pressure_calls;
    std::size_t freed = m_pressure(m_pressure_context, frames);
    m_relieving = false;
    m_pressure_frames += freed;
    return freed > 0;
}

void FrameAllocator::set_pressure_handler(PressureHandler handler, void* context) {
    m_pressure = handler;
    m_pressure_context = context;
}

Result<std::uint64_t, MemoryError> FrameAllocator::allocate(Relief relief) {
    auto frame = allocate_once();
    // Each round the handler freed something; it runs dry after a bounded number of them.
    while (!frame && relief == Relief::Allowed && relieve(1)) frame = allocate_once();
    if (frame) ++m_allocations;
    return frame;
}

Result<std::uint64_t, MemoryError> FrameAllocator::allocate_contiguous(std::size_t count, std::size_t align_frames,
                                                                       Relief relief) {
    if (count == 0 || align_frames == 0 || !std::has_single_bit(align_frames)) return err(MemoryError::BadRequest);
    auto first = allocate_contiguous_once(count, align_frames);
    // The frames given back need not be contiguous: ask again while the handler has more.
    while (!first && relief == Relief::Allowed && count <= m_managed && relieve(count))
        first = allocate_contiguous_once(count, align_frames);
    if (first) ++m_allocations;
    return first;
}

Result<void, MemoryError> FrameAllocator::lend(std::uint64_t address) {
    if (address % k_frame != 0) return err(MemoryError::Misaligned);
    std::size_t frame = address / k_frame;
    if (frame >= m_frames) return err(MemoryError::OutOfRange);
    if (!used(frame)) return err(MemoryError::NotAllocated);
    ++m_lent;
    return {};
}

Result<void, MemoryError> FrameAllocator::take_back(std::uint64_t address) {
    if (m_lent == 0) return err(MemoryError::NotAllocated);
    TRY(free(address));
    --m_lent;
    return {};
}

Result<std::uint64_t, MemoryError> FrameAllocator::allocate_once() {
    for (std::size_t word = m_hint; word < m_bitmap.size(); ++word) {
        if (m_bitmap[word] == ~std::uint64_t{0}) continue;
        auto bit = static_cast<std::size_t>(std::countr_one(m_bitmap[word]));
        std::size_t frame = word * 64 + bit;
        set_used(frame);
        --m_free;
        m_hint = word;
        return frame * k_frame;
    }
    m_hint = m_bitmap.size();
    return err(MemoryError::OutOfMemory);
}

Result<std::uint64_t, MemoryError> FrameAllocator::allocate_contiguous_once(std::size_t count,
                                                                            std::size_t align_frames) {
    if (count == 1 && align_frames == 1) return allocate_once();
    if (count > m_free) return err(MemoryError::OutOfMemory);
    std::size_t frame = (m_hint * 64 + align_frames - 1) & ~(align_frames - 1);
    while (frame + count <= m_frames) {
        // Find the first used frame in [frame, frame + count); jump past it on failure.
        std::size_t run = 0;
        while (run < count && !used(frame + run)) ++run;
        if (run == count) {
            for (std::size_t i = 0; i < count; ++i) set_used(frame + i);
            m_free -= count;
            return frame * k_frame;
        }
        frame = (frame + run + 1 + align_frames - 1) & ~(align_frames - 1);
    }
    return err(MemoryError::OutOfMemory);
}

Result<void, MemoryError> FrameAllocator::free_contiguous(std::uint64_t address, std::size_t count) {
    if (address % k_frame != 0) return err(MemoryError::Misaligned);
    std::size_t first = address / k_frame;
    if (first >= m_frames || count > m_frames - first) return err(MemoryError::OutOfRange);
    for (std::size_t i = 0; i < count; ++i) {
        if (!used(first + i)) return err(MemoryError::NotAllocated);
    }
    for (std::size_t i = 0; i < count; ++i) set_free(first + i);
    m_free += count;
    m_hint = std::min(m_hint, first / 64);
    return {};
}

Result<void, MemoryError> FrameAllocator::reserve(std::uint64_t address) {
    if (address % k_frame != 0) return err(MemoryError::Misaligned);
    std::size_t frame = address / k_frame;
    if (frame >= m_frames) return err(MemoryError::OutOfRange);
    if (used(frame)) return err(MemoryError::OutOfMemory);
    set_used(frame);
    --m_free;
    return {};
}

bool FrameAllocator::is_free(std::uint64_t address) const {
    std::size_t frame = address / k_frame;
    return frame < m_frames && !used(frame);
}

}  // namespace kernel
