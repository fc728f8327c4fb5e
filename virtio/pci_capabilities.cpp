#include "virtio/pci_capabilities.hpp"

#include <cstddef>

#include "pci/registers.hpp"
#include "virtio/registers.hpp"

namespace virtio {
namespace {

// The smallest useful length of each structure: all of the common configuration, one
// notification (a 16-bit queue index, §4.1.4.4), the ISR byte.
std::uint32_t minimum_length(std::uint8_t type) {
    if (type == cfg_type::k_common) return common::k_minimum_length;
    return type == cfg_type::k_notify ? 2 : 1;
}

}  // namespace

kernel::Result<ModernLayout, DeviceError> find_modern_layout(pci::ConfigSpace& config, const pci::Device& device) {
    // §4.1.4: each structure the driver uses is named by a vendor-specific capability,
    // struct virtio_pci_cap; the first one of each type that the driver can use is the one
    // (§4.1.4.1). cap_len and cfg_type came with the capability list (pci::Capability::
    // upper); the rest is read field by field.
    ModernLayout layout;
    bool rejected = false;
    const pci::Address address = device.address;
    for (const pci::Capability& cap : device.capabilities.all()) {
        if (cap.id != pci::capability_id::k_vendor_specific) continue;
        auto cap_len = static_cast<std::uint8_t>(cap.upper);
        auto type = static_cast<std::uint8_t>(cap.upper >> 8);
        Region* slot = nullptr;
        switch (type) {
            case cfg_type::k_common: slot = &layout.common; break;
            case cfg_type::k_notify: slot = &layout.notify; break;
            case cfg_type::k_isr: slot = &layout.isr; break;
            case cfg_type::k_device: slot = &layout.device; break;
            default: continue;  // PCI configuration access, shared memory, vendor data, reserved
        }
        if (slot->present) continue;
        const std::size_t needed = type == cfg_type::k_notify ? sizeof(PciNotifyCapability) : sizeof(PciCapability);
        if (cap_len < needed || cap.offset + needed > config.extent()) {
            rejected = true;
            continue;
        }
        auto field = [&](std::size_t at) { return static_cast<std::uint16_t>(cap.offset + at); };
        auto bar = config.read<std::uint8_t>(address, field(offsetof(PciCapability, bar)));
        if (bar >= pci::k_max_bars) continue;  // §4.1.4: reserved BAR values are ignored
        Region region{true, bar, config.read<std::uint32_t>(address, field(offsetof(PciCapability, offset))),
                      config.read<std::uint32_t>(address, field(offsetof(PciCapability, length)))};
        if (region.length < minimum_length(type) || !device.bars[bar].covers(region.offset, region.length)) {
            rejected = true;
            continue;
        }
        if (type == cfg_type::k_notify)
            layout.notify_off_multiplier =
                config.read<std::uint32_t>(address, field(offsetof(PciNotifyCapability, notify_off_multiplier)));
        *slot = region;
    }
    if (!layout.common.present || !layout.notify.present || !layout.isr.present)
        return kernel::err(rejected ? DeviceError::BadCapability : DeviceError::NoTransport);
    return layout;
}

}  // namespace virtio
