#pragma once
// Hands out naturally aligned blocks of an address window (memory or I/O space), stepping
// over ranges someone else already uses. A bump allocator: blocks come in address order
// and nothing is given back, which is all that assigning BARs once at boot needs. Callers
// ask for the largest alignment first so that little is lost to padding.

#include <cstdint>
#include <optional>
#include <span>

namespace pci {

// No default member values, so that the big lists of them in resources.cpp cost nothing
// to create (under the KVM of docs/kvm-on-this-host.md every zeroing store is emulated);
// write AddressRange{} for an empty range.
struct AddressRange {
    std::uint64_t begin;
    std::uint64_t end;  // one past the last address

    [[nodiscard]] constexpr bool empty() const { return end <= begin; }
    [[nodiscard]] constexpr std::uint64_t size() const { return empty() ? 0 : end - begin; }
    [[nodiscard]] constexpr bool overlaps(const AddressRange& other) const {
        return !empty() && !other.empty() && begin < other.end && other.begin < end;
    }
    [[nodiscard]] constexpr bool contains(const AddressRange& other) const {
        return !other.empty() && other.begin >= begin && other.end <= end;
    }
};

class RangeAllocator {
public:
    RangeAllocator() = default;
    // `reserved` must outlive the allocator; ranges in it may lie anywhere. A reserved range
    // that covers the whole window is the window's own claim (a bridge window that the
    // reservations list because its parent must not hand it out) and is not in the way.
    RangeAllocator(AddressRange window, std::span<const AddressRange> reserved)
        : m_window(window), m_next(window.begin), m_reserved(reserved) {}

    // `size` bytes at a multiple of `alignment` (a power of two), or nullopt when the rest
    // of the window has no such gap.
    std::optional<std::uint64_t> allocate(std::uint64_t size, std::uint64_t alignment);
    [[nodiscard]] AddressRange window() const { return m_window; }

private:
    AddressRange m_window{};
    std::uint64_t m_next = 0;
    std::span<const AddressRange> m_reserved;
};

}  // namespace pci
