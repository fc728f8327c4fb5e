#pragma once
// The header in front of every packet on a virtio-net queue (virtio 1.2 §5.1.6).

#include <cstdint>

namespace virtio {

// Feature bits of the network device (virtio 1.2 §5.1.3).
namespace net_feature {
constexpr std::uint64_t k_csum = 1ull << 0;        // device checksums what we send
constexpr std::uint64_t k_guest_csum = 1ull << 1;  // device tells us a received checksum is good
constexpr std::uint64_t k_mtu = 1ull << 3;
constexpr std::uint64_t k_mac = 1ull << 5;
constexpr std::uint64_t k_guest_tso4 = 1ull << 7;
constexpr std::uint64_t k_host_tso4 = 1ull << 11;
constexpr std::uint64_t k_mrg_rxbuf = 1ull << 15;
constexpr std::uint64_t k_status = 1ull << 16;
}  // namespace net_feature

// Little-endian on the wire for VIRTIO_F_VERSION_1 devices and for legacy devices on x86.
struct [[gnu::packed]] NetHeader {
    std::uint8_t flags;
    std::uint8_t gso_type;
    std::uint16_t header_length;
    std::uint16_t gso_size;
    std::uint16_t checksum_start;
    std::uint16_t checksum_offset;
    std::uint16_t buffer_count;  // num_buffers: only with VERSION_1 or MRG_RXBUF
};
static_assert(sizeof(NetHeader) == 12);

namespace net_header {
constexpr std::uint8_t k_needs_checksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr std::uint8_t k_data_valid = 2;      // VIRTIO_NET_HDR_F_DATA_VALID
constexpr std::uint8_t k_gso_none = 0;
constexpr std::uint8_t k_gso_tcpv4 = 1;
// A legacy device without MRG_RXBUF uses the header without buffer_count (§5.1.6.1).
constexpr std::size_t k_legacy_length = 10;
}  // namespace net_header

}  // namespace virtio
