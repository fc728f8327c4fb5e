#pragma once
// Physical frame allocator: one bit per 4 KiB frame up to the highest usable address.
// A set bit means the guest may not hand the frame out: it is allocated, reserved
// (kernel image, modules, the first MiB, the bitmap itself), absent from the memory map,
// or lent to the host by the balloon.
//
// Memory pressure: a layer above (the balloon, balloon/) may register a handler that the
// allocator calls before it fails an allocation. The handler gives frames back (free()s
// them) without allocating and without blocking, and says how many; the allocation is
// then tried again. The allocator also counts the frames lent to the host, so that the
// guest's own memory is managed_frames() - lent_frames() at all times.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"

namespace kernel {

struct PhysicalRange {
    std::uint64_t begin;
    std::uint64_t end;  // exclusive
    [[nodiscard]] std::uint64_t size() const { return end - begin; }
};

enum class MemoryError { OutOfMemory, NotAllocated, Misaligned, OutOfRange, BadRequest };
const char* to_string(MemoryError error);

class FrameAllocator {
public:
    static constexpr std::uint64_t k_frame_size = 4096;

    // Asked for at least `frames` frames (not necessarily contiguous); returns how many it
    // freed. Called with the allocator in a consistent state, never re-entered.
    using PressureHandler = std::size_t (*)(void* context, std::size_t frames);
    // Whether a failing allocation may ask the pressure handler for memory first.
    enum class Relief : std::uint8_t { Allowed, None };

    // Words of bitmap needed to cover frames below max_address.
    static std::size_t bitmap_words_for(std::uint64_t max_address);

    // A page-aligned spot of `bytes` inside the usable ranges that overlaps no reserved
    // range, for the bitmap itself.
    static std::optional<std::uint64_t> find_space(std::span<const PhysicalRange> usable,
                                                   std::span<const PhysicalRange> reserved, std::uint64_t bytes);

    FrameAllocator() = default;
    // Marks the frames wholly inside usable ranges free, minus the reserved ranges. The
    // bitmap must have bitmap_words_for(highest usable end) words.
    void init(std::span<const PhysicalRange> usable, std::span<const PhysicalRange> reserved,
              std::span<std::uint64_t> bitmap);

    Result<std::uint64_t, MemoryError> allocate(Relief relief = Relief::Allowed);
    // count frames in a row, the first aligned to align_frames frames.
    Result<std::uint64_t, MemoryError> allocate_contiguous(std::size_t count, std::size_t align_frames = 1,
                                                           Relief relief = Relief::Allowed);
    Result<void, MemoryError> free(std::uint64_t address) { return free_contiguous(address, 1); }
    Result<void, MemoryError> free_contiguous(std::uint64_t address, std::size_t count);
    // Takes a specific free frame out (used for ranges found late, e.g. firmware tables).
    Result<void, MemoryError> reserve(std::uint64_t address);

    // One handler (or nullptr to remove it).
    void set_pressure_handler(PressureHandler handler, void* context);
    // Marks an allocated frame as lent to the host: it stays unavailable, and is counted
    // in lent_frames() instead of as allocated.
    Result<void, MemoryError> lend(std::uint64_t address);
    // A lent frame comes back to the guest: it is free again.
    Result<void, MemoryError> take_back(std::uint64_t address);

    [[nodiscard]] bool is_free(std::uint64_t address) const;
    [[nodiscard]] std::size_t lent_frames() const { return m_lent; }
    // Successful allocations since init (of one frame or a run): tells the balloon
    // whether anything can have changed among the free frames since it last looked.
    [[nodiscard]] std::uint64_t allocation_count() const { return m_allocations; }
    // Times the pressure handler was called, and the frames it gave back.
    [[nodiscard]] std::uint64_t pressure_calls() const { return m_pressure_calls; }
    [[nodiscard]] std::uint64_t pressure_frames() const { return m_pressure_frames; }
    [[nodiscard]] std::size_t free_frames() const { return m_free; }
    [[nodiscard]] std::size_t managed_frames() const { return m_managed; }
    [[nodiscard]] std::uint64_t highest_address() const { return m_frames * k_frame_size; }

private:
    [[nodiscard]] bool used(std::size_t frame) const { return (m_bitmap[frame / 64] >> (frame % 64)) & 1; }
    void set_used(std::size_t frame) { m_bitmap[frame / 64] |= 1ull << (frame % 64); }
    void set_free(std::size_t frame) { m_bitmap[frame / 64] &= ~(1ull << (frame % 64)); }
    // Marks frames [first, end) used or free, keeping m_free right.
    void set_range(std::size_t first, std::size_t end, bool make_used);
    Result<std::uint64_t, MemoryError> allocate_once();
    Result<std::uint64_t, MemoryError> allocate_contiguous_once(std::size_t count, std::size_t align_frames);
    // Calls the pressure handler; false if there is none, it is busy, or it freed nothing.
    bool relieve(std::size_t frames);

    std::span<std::uint64_t> m_bitmap;
    std::size_t m_frames = 0;
    std::size_t m_free = 0;
    std::size_t m_managed = 0;  // frames that were free at init
    std::size_t m_hint = 0;     // no free frame below this word
    std::size_t m_lent = 0;     // frames the balloon lent to the host
    std::uint64_t m_allocations = 0;
    PressureHandler m_pressure = nullptr;
    void* m_pressure_context = nullptr;
    bool m_relieving = false;
    std::uint64_t m_pressure_calls = 0;
    std::uint64_t m_pressure_frames = 0;
};

}  // namespace kernel
