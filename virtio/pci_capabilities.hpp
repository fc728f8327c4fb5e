#pragma once
// Where a modern virtio device keeps its structures: vendor-specific PCI capabilities
// (virtio 1.2 §4.1.4) that each name a BAR, an offset and a length. Read through a
// pci::ConfigSpace and checked against the BARs, so a device cannot send the driver
// outside its own registers.

#include <cstdint>

#include "kernel/result.hpp"
#include "pci/config_space.hpp"
#include "pci/device.hpp"
#include "virtio/device_error.hpp"

namespace virtio {

// §4.1.4: struct virtio_pci_cap.
struct [[gnu::packed]] PciCapability {
    std::uint8_t cap_vndr;  // PCI_CAP_ID_VNDR
    std::uint8_t cap_next;
    std::uint8_t cap_len;
    std::uint8_t cfg_type;
    std::uint8_t bar;
    std::uint8_t id;
    std::uint8_t padding[2];
    std::uint32_t offset;
    std::uint32_t length;
};
static_assert(sizeof(PciCapability) == 16);

// §4.1.4.4: struct virtio_pci_notify_cap.
struct [[gnu::packed]] PciNotifyCapability {
    PciCapability cap;
    std::uint32_t notify_off_multiplier;
};
static_assert(sizeof(PciNotifyCapability) == 20);

// §4.1.4: cfg_type values.
namespace cfg_type {
constexpr std::uint8_t k_common = 1;
constexpr std::uint8_t k_notify = 2;
constexpr std::uint8_t k_isr = 3;
constexpr std::uint8_t k_device = 4;
constexpr std::uint8_t k_pci = 5;
}  // namespace cfg_type

struct Region {
    bool present = false;
    std::uint8_t bar = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

struct ModernLayout {
    Region common;
    Region notify;
    Region isr;
    Region device;  // absent for devices without configuration
    std::uint32_t notify_off_multiplier = 0;
};

// The first usable capability of each type (§4.1.4: the driver SHOULD use the first one
// it can). Capabilities with a reserved BAR number are ignored, as §4.1.4 requires; ones
// that are too short or run past their BAR are skipped. NoTransport when the common,
// notify or ISR structure is missing altogether (a legacy-only device), BadCapability when
// only unusable ones were found.
kernel::Result<ModernLayout, DeviceError> find_modern_layout(pci::ConfigSpace& config, const pci::Device& device);

}  // namespace virtio
