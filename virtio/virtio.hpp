#pragma once
// The virtio devices found at boot, as the rest of the kernel and applications see them.
// The PCI binding (pci_driver.cpp) fills the list while PCI enumeration offers it virtio
// functions (KERNEL_INIT stage 30).

#include <cstdint>
#include <span>

#include "pci/address.hpp"
#include "virtio/device.hpp"
#include "virtio/transport.hpp"

namespace virtio {

struct DeviceInfo {
    const char* driver = nullptr;  // "virtio-net"
    std::uint8_t priority = 0;     // the driver's: k_probe_only_priority for a probe-only one
    std::uint16_t device_id = 0;
    pci::Address address;
    TransportKind transport = TransportKind::Modern;
    Device* device = nullptr;  // its status and features; FAILED if running is false
    bool running = false;      // the driver brought it to DRIVER_OK
};

std::span<const DeviceInfo> devices();

}  // namespace virtio
