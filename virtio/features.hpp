#pragma once
// The numbers every virtio device shares: the device status bits (virtio 1.2 §2.1), the
// reserved feature bits (§6), the device IDs (§5) and the PCI IDs (§4.1.2).

#include <cstdint>

namespace virtio {

// §2.1: device status.
namespace status {
constexpr std::uint8_t k_acknowledge = 1;
constexpr std::uint8_t k_driver = 2;
constexpr std::uint8_t k_driver_ok = 4;
constexpr std::uint8_t k_features_ok = 8;
constexpr std::uint8_t k_device_needs_reset = 64;
constexpr std::uint8_t k_failed = 128;
}  // namespace status

// The furthest state a status value shows ("DRIVER_OK", "FAILED", "reset", ...).
const char* describe_status(std::uint8_t status);

constexpr std::uint64_t feature(unsigned bit) { return std::uint64_t{1} << bit; }

// §6: bits the transport and the rings own, whatever the device type.
namespace features {
constexpr std::uint64_t k_indirect_desc = feature(28);  // VIRTIO_F_INDIRECT_DESC, §2.7.5.3
constexpr std::uint64_t k_event_idx = feature(29);      // VIRTIO_F_EVENT_IDX, §2.7.7
constexpr std::uint64_t k_version_1 = feature(32);      // VIRTIO_F_VERSION_1
constexpr std::uint64_t k_access_platform = feature(33);
constexpr std::uint64_t k_ring_packed = feature(34);
constexpr std::uint64_t k_notification_data = feature(38);
// The bits a legacy device can show at all: its feature registers are 32 bits wide
// (§4.1.4.8).
constexpr std::uint64_t k_legacy_mask = 0xFFFF'FFFF;
}  // namespace features

// §5: device IDs.
namespace device_id {
constexpr std::uint16_t k_net = 1;
constexpr std::uint16_t k_block = 2;
constexpr std::uint16_t k_console = 3;
constexpr std::uint16_t k_entropy = 4;
constexpr std::uint16_t k_balloon = 5;
constexpr std::uint16_t k_scsi = 8;
constexpr std::uint16_t k_9p = 9;
constexpr std::uint16_t k_gpu = 16;
constexpr std::uint16_t k_input = 18;
constexpr std::uint16_t k_vsock = 19;
}  // namespace device_id

// "net", "balloon", ... or "unknown".
const char* device_name(std::uint16_t id);

// §4.1.2.1: a modern device is 0x1040 + its device ID; a transitional one (which also
// speaks the legacy interface) is in 0x1000-0x103F and carries its device ID in the PCI
// subsystem ID.
namespace pci_id {
constexpr std::uint16_t k_vendor = 0x1AF4;
constexpr std::uint16_t k_first_transitional = 0x1000;
constexpr std::uint16_t k_last_transitional = 0x103F;
constexpr std::uint16_t k_first_modern = 0x1040;
constexpr std::uint16_t k_last_modern = 0x107F;
}  // namespace pci_id

// §4.1.5.1.2: "no MSI-X vector" in the vector registers.
constexpr std::uint16_t k_no_vector = 0xFFFF;

}  // namespace virtio
