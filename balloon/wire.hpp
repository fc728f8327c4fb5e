#pragma once
// The virtio-balloon device's numbers (virtio 1.2 §5.5): feature bits, queue order,
// configuration fields and the statistics the driver sends.

#include <cstdint>

#include "virtio/features.hpp"

namespace balloon::wire {

// §5.5.3: feature bits.
constexpr std::uint64_t k_must_tell_host = virtio::feature(0);  // deflate only after the device acknowledged
constexpr std::uint64_t k_stats_vq = virtio::feature(1);        // memory statistics queue
constexpr std::uint64_t k_deflate_on_oom = virtio::feature(2);  // the guest may deflate under memory pressure
constexpr std::uint64_t k_free_page_hint = virtio::feature(3);
constexpr std::uint64_t k_page_poison = virtio::feature(4);
constexpr std::uint64_t k_page_reporting = virtio::feature(5);  // free page reporting queue

// §5.5.2: inflateq and deflateq always; statsq, free_page_vq and reporting_vq follow in
// that order, each only when its feature is negotiated (the numbering Linux and QEMU use).
constexpr std::uint16_t k_inflate_queue = 0;
constexpr std::uint16_t k_deflate_queue = 1;

// §5.5.4: configuration, little-endian 32-bit fields; pages are 4096 bytes whatever the
// guest's page size (§5.5.6: VIRTIO_BALLOON_PFN_SHIFT 12).
constexpr std::uint16_t k_config_num_pages = 0;
constexpr std::uint16_t k_config_actual = 4;
constexpr unsigned k_pfn_shift = 12;
constexpr std::uint64_t k_page_size = std::uint64_t{1} << k_pfn_shift;

// §5.5.6.3: one statistic: a tag and a value, packed (10 bytes), little-endian.
struct [[gnu::packed]] Stat {
    std::uint16_t tag;
    std::uint64_t value;
};
static_assert(sizeof(Stat) == 10);

// §5.5.6.3.1: the tags.
namespace stat_tag {
constexpr std::uint16_t k_swap_in = 0;
constexpr std::uint16_t k_swap_out = 1;
constexpr std::uint16_t k_major_faults = 2;
constexpr std::uint16_t k_minor_faults = 3;
constexpr std::uint16_t k_memory_free = 4;
constexpr std::uint16_t k_memory_total = 5;
constexpr std::uint16_t k_available = 6;
constexpr std::uint16_t k_caches = 7;
}  // namespace stat_tag

}  // namespace balloon::wire
