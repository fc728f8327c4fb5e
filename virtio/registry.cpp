#include "virtio/registry.hpp"

#include "virtio/features.hpp"

namespace virtio {

const Driver* find_driver(std::span<const Driver> drivers, std::uint16_t device_id) {
    const Driver* best = nullptr;
    for (const Driver& driver : drivers) {
        if (driver.device_id != device_id || driver.probe == nullptr) continue;
        if (best == nullptr || driver.priority > best->priority) best = &driver;
    }
    return best;
}

std::optional<std::uint16_t> device_id_of(const pci::Device& device) {
    if (device.vendor_id != pci_id::k_vendor) return std::nullopt;
    if (device.device_id >= pci_id::k_first_modern && device.device_id <= pci_id::k_last_modern)
        return static_cast<std::uint16_t>(device.device_id - pci_id::k_first_modern);
    if (device.device_id >= pci_id::k_first_transitional && device.device_id <= pci_id::k_last_transitional)
        return device.subsystem_id;
    return std::nullopt;
}

}  // namespace virtio
