#include "pci/range_allocator.hpp"

namespace pci {
namespace {

// Rounds up to a multiple of alignment (a power of two); nullopt if that overflows.
std::optional<std::uint64_t> align_up(std::uint64_t value, std::uint64_t alignment) {
    std::uint64_t mask = alignment - 1;
    if (value > ~mask) return std::nullopt;
    return (value + mask) & ~mask;
}

}  // namespace

std::optional<std::uint64_t> RangeAllocator::allocate(std::uint64_t size, std::uint64_t alignment) {
    if (size == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return std::nullopt;
    std::optional<std::uint64_t> candidate = align_up(m_next, alignment);
    // Each pass either succeeds or moves past one reserved range for good, since candidates
    // only grow: at most one pass per reserved range, plus the last.
    for (std::size_t pass = 0; pass <= m_reserved.size() && candidate; ++pass) {
        std::uint64_t begin = *candidate;
        if (begin < m_window.begin || begin > m_window.end || size > m_window.end - begin) return std::nullopt;
        AddressRange block{begin, begin + size};
        const AddressRange* clash = nullptr;
        for (const AddressRange& reserved : m_reserved) {
            if (!block.overlaps(reserved) || reserved.contains(m_window)) continue;
            if (clash == nullptr || reserved.end > clash->end) clash = &reserved;
        }
        if (clash == nullptr) {
            m_next = block.end;
            return begin;
        }
        candidate = align_up(clash->end, alignment);
    }
    return std::nullopt;
}

}  // namespace pci
