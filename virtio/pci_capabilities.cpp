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

// The configuration space offset of a field of the capability at `capability`.
std::uint16_t field(const pci::Capability& capability, std::size_t offset) {
    return static_cast<std::uint16_t>(capability.offset + offset);
}

}  // namespace

kernel::Result<ModernLayout, DeviceError> find_modern_layout(pci::ConfigSpace& config, const pci::Device& device) {
    ModernLayout layout;
    bool rejected = false;
    pci::Address address = device.address;
    for (const pci::Capability& capability : device.capabilities.all()) {
        if (capability.id != pci::capability_id::k_vendor_specific) continue;
        auto cap_len = config.read<std::uint8_t>(address, field(capability, offsetof(PciCapability, cap_len)));
        auto type = config.read<std::uint8_t>(address, field(capability, offsetof(PciCapability, cfg_type)));
        auto bar_index = config.read<std::uint8_t>(address, field(capability, offsetof(PciCapability, bar)));
        Region* slot = nullptr;
        switch (type) {
            case cfg_type::k_common: slot = &layout.common; break;
            case cfg_type::k_notify: slot = &layout.notify; break;
            case cfg_type::k_isr: slot = &layout.isr; break;
            case cfg_type::k_device: slot = &layout.device; break;
            default: continue;  // PCI configuration access, shared memory, vendor data, reserved
        }
        if (slot->present || bar_index >= pci::k_max_bars) continue;
        std::size_t needed = type == cfg_type::k_notify ? sizeof(PciNotifyCapability) : sizeof(PciCapability);
        Region region{true, bar_index,
                      config.read<std::uint32_t>(address, field(capability, offsetof(PciCapability, offset))),
                      config.read<std::uint32_t>(address, field(capability, offsetof(PciCapability, length)))};
        const pci::Bar& bar = device.bars[bar_index];
        if (cap_len < needed || region.length < minimum_length(type) || !bar.covers(region.offset, region.length)) {
            rejected = true;
            continue;
        }
        if (type == cfg_type::k_notify) {
            layout.notify_off_multiplier = config.read<std::uint32_t>(
                address, field(capability, offsetof(PciNotifyCapability, notify_off_multiplier)));
        }
        *slot = region;
    }
    if (!layout.common.present || !layout.notify.present || !layout.isr.present)
        return kernel::err(rejected ? DeviceError::BadCapability : DeviceError::NoTransport);
    return layout;
}

}  // namespace virtio
