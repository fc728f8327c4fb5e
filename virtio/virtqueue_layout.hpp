#pragma once
// The split virtqueue as the device sees it (virtio 1.2 §2.7): the three parts' structs,
// their flags, where each part sits in one block of DMA memory, and the event-index rule
// both sides use to decide on a notification. Shared by the driver (virtqueue.cpp) and
// the simulated device of the host tests.

#include <bit>
#include <cstddef>
#include <cstdint>

namespace virtio {

// Modern (virtio 1.x) rings are little-endian; legacy ones are in the guest's order
// (§2.7.3). Both are the CPU's order on x86, so fields are used as they are.
static_assert(std::endian::native == std::endian::little, "virtqueue fields are little-endian");

// §2.7.5
struct VirtqDesc {
    std::uint64_t address;
    std::uint32_t length;
    std::uint16_t flags;
    std::uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16);

inline constexpr std::uint16_t k_desc_f_next = 1;
inline constexpr std::uint16_t k_desc_f_write = 2;
inline constexpr std::uint16_t k_desc_f_indirect = 4;

// §2.7.6: flags, idx, ring[size], then used_event (with VIRTIO_F_EVENT_IDX).
struct VirtqAvailHeader {
    std::uint16_t flags;
    std::uint16_t idx;
};
static_assert(sizeof(VirtqAvailHeader) == 4);
inline constexpr std::uint16_t k_avail_f_no_interrupt = 1;

// §2.7.8: flags, idx, ring[size] of these, then avail_event (with VIRTIO_F_EVENT_IDX).
struct VirtqUsedElem {
    std::uint32_t id;  // 32 bits "for padding reasons"; only the low 16 can be valid
    std::uint32_t length;
};
static_assert(sizeof(VirtqUsedElem) == 8);

struct VirtqUsedHeader {
    std::uint16_t flags;
    std::uint16_t idx;
};
static_assert(sizeof(VirtqUsedHeader) == 4);
inline constexpr std::uint16_t k_used_f_no_notify = 1;

inline constexpr std::uint32_t k_max_queue_size = 32768;  // §2.7: the largest power of two in 16 bits
// Queue Align of the legacy layout (§2.7.2); legacy PCI gives the queue as a page number.
inline constexpr std::size_t k_legacy_queue_align = 4096;

enum class RingLayout {
    Modern,  // each part at its own minimum alignment (§2.7, the table)
    Legacy,  // the used ring on the next 4096-byte boundary after the available ring (§2.7.2)
};

// Offsets of the three parts inside one block of memory, and the block's size.
struct RingOffsets {
    std::size_t descriptors = 0;
    std::size_t avail = 0;
    std::size_t used = 0;
    std::size_t total = 0;
};

[[nodiscard]] constexpr bool is_valid_split_queue_size(std::uint32_t size) {
    return size >= 1 && size <= k_max_queue_size && std::has_single_bit(size);
}

[[nodiscard]] constexpr std::size_t align_up(std::size_t value, std::size_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

// Sizes from the table in §2.7; the trailing event fields are always laid out, since they
// cost two bytes and the feature may be negotiated after the memory is allocated.
[[nodiscard]] constexpr std::size_t descriptor_table_bytes(std::uint32_t size) { return sizeof(VirtqDesc) * size; }
[[nodiscard]] constexpr std::size_t avail_ring_bytes(std::uint32_t size) { return 6 + std::size_t{2} * size; }
[[nodiscard]] constexpr std::size_t used_ring_bytes(std::uint32_t size) { return 6 + std::size_t{8} * size; }

[[nodiscard]] constexpr RingOffsets ring_offsets(std::uint32_t size, RingLayout layout) {
    RingOffsets offsets;
    offsets.descriptors = 0;
    offsets.avail = descriptor_table_bytes(size);  // 16 * size: already 2-aligned
    std::size_t avail_end = offsets.avail + avail_ring_bytes(size);
    if (layout == RingLayout::Legacy) {
        offsets.used = align_up(avail_end, k_legacy_queue_align);
        offsets.total = offsets.used + align_up(used_ring_bytes(size), k_legacy_queue_align);
    } else {
        // 4 is the minimum; a cache line keeps the device's writes off the driver's lines.
        offsets.used = align_up(avail_end, 64);
        offsets.total = offsets.used + used_ring_bytes(size);
    }
    return offsets;
}

// §2.7.7, §2.7.10 (Linux's vring_need_event): true if, having moved its index from
// old_idx to new_idx, a side must notify the other, which asked to hear once the entry
// at event_idx is written. All arithmetic wraps at 2^16.
[[nodiscard]] constexpr bool need_event(std::uint16_t event_idx, std::uint16_t new_idx, std::uint16_t old_idx) {
    return static_cast<std::uint16_t>(new_idx - event_idx - 1) < static_cast<std::uint16_t>(new_idx - old_idx);
}

}  // namespace virtio
