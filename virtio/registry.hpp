#pragma once
// Virtio drivers register themselves by device ID; nothing keeps a list of them:
//
//     VIRTIO_DRIVER(net, "virtio-net", device_id::k_net, k_driver_priority, probe_net);
//
// places a descriptor in the linker section .virtio_drivers (boot/linker.ld). The PCI
// binding (pci_driver.cpp) finds the device ID of each virtio function, sets up its
// transport and interrupts, and hands a virtio::Device to the registered driver of that ID
// with the highest priority: a full driver (k_driver_priority) takes over from a probe-only
// one (k_probe_only_priority) just by being linked in.

#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "pci/device.hpp"
#include "virtio/device.hpp"

namespace virtio {

// Priorities by convention: a probe-only driver, and a driver that does the work.
constexpr std::uint8_t k_probe_only_priority = 0;
constexpr std::uint8_t k_driver_priority = 10;

struct Driver {
    const char* name;  // "virtio-net"
    std::uint16_t device_id;
    std::uint8_t priority;
    // Brings the device from reset to DRIVER_OK (Device::negotiate, setup_queue,
    // driver_ok) and keeps it. The device object lives as long as the kernel.
    kernel::Result<void, DeviceError> (*probe)(Device& device);
};

// The driver for `device_id` with the highest priority (the first of equals), or nullptr.
const Driver* find_driver(std::span<const Driver> drivers, std::uint16_t device_id);

// The virtio device ID of a PCI function (§4.1.2.1), or nullopt if it is not a virtio
// device.
std::optional<std::uint16_t> device_id_of(const pci::Device& device);

// The drivers the linker gathered (kernel only: pci_driver.cpp reads the section's bounds).
std::span<const Driver> registered_drivers();

}  // namespace virtio

#define VIRTIO_DRIVER_CONCAT2(a, b) a##b
#define VIRTIO_DRIVER_CONCAT(a, b) VIRTIO_DRIVER_CONCAT2(a, b)
// Registers a driver: VIRTIO_DRIVER(identifier, "name", device_id, priority, probe).
#define VIRTIO_DRIVER(identifier, ...)                                                            \
    [[gnu::used, gnu::section(".virtio_drivers"), gnu::aligned(8)]] static const ::virtio::Driver \
    VIRTIO_DRIVER_CONCAT(virtio_driver_, identifier) = {__VA_ARGS__}
