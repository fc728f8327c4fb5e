#include "virtio/pci_capabilities.hpp"

#include <array>
#include <cstddef>
#include <cstring>

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
    // The structures of the vendor capabilities of the four types used here, read in
    // batches of eight capabilities: one gate each with the port mechanism, where field by
    // field took six per capability. The first dword came with the capability list (its
    // length and type: pci::Capability::upper); then three more, four for the notify
    // structure (its multiplier). A dword past the end of configuration space is left out
    // (it reads as zero here).
    constexpr std::size_t k_dwords = sizeof(PciNotifyCapability) / 4;
    constexpr std::size_t k_per_batch = 8;
    auto wanted = [](const pci::Capability& cap) {
        if (cap.id != pci::capability_id::k_vendor_specific) return false;
        auto type = static_cast<std::uint8_t>(cap.upper >> 8);
        return type == cfg_type::k_common || type == cfg_type::k_notify || type == cfg_type::k_isr ||
               type == cfg_type::k_device;
    };
    std::array<PciNotifyCapability, pci::CapabilityList::k_max> images{};
    std::size_t count = 0;
    pci::Address address = device.address;
    auto all = device.capabilities.all();
    for (std::size_t next = 0; next < all.size();) {
        std::array<pci::ConfigOp, k_per_batch * k_dwords> ops;
        std::array<std::size_t, k_per_batch + 1> first_op{};
        std::array<const pci::Capability*, k_per_batch> caps{};
        std::size_t in_batch = 0;
        std::size_t n = 0;
        for (; next < all.size() && in_batch < k_per_batch; ++next) {
            if (!wanted(all[next])) continue;
            caps[in_batch] = &all[next];
            first_op[in_batch++] = n;
            bool notify = (all[next].upper >> 8) == cfg_type::k_notify;
            for (std::size_t d = 1; d < (notify ? k_dwords : k_dwords - 1); ++d) {
                auto at = static_cast<std::uint16_t>(all[next].offset + 4 * d);
                if (at + 4u <= config.extent()) ops[n++] = pci::ConfigOp::read(address, at);
            }
        }
        first_op[in_batch] = n;
        config.run(std::span(ops).first(n));
        for (std::size_t b = 0; b < in_batch; ++b) {
            std::array<std::uint32_t, k_dwords> words{};
            words[0] = caps[b]->id | std::uint32_t{caps[b]->upper} << 16;
            for (std::size_t op = first_op[b]; op < first_op[b + 1]; ++op) words[1 + op - first_op[b]] = ops[op].value;
            std::memcpy(&images[count++], words.data(), sizeof(PciNotifyCapability));
        }
    }

    ModernLayout layout;
    bool rejected = false;
    for (std::size_t i = 0; i < count; ++i) {
        const PciCapability& cap = images[i].cap;
        std::uint8_t type = cap.cfg_type;
        Region* slot = nullptr;
        switch (type) {
            case cfg_type::k_common: slot = &layout.common; break;
            case cfg_type::k_notify: slot = &layout.notify; break;
            case cfg_type::k_isr: slot = &layout.isr; break;
            case cfg_type::k_device: slot = &layout.device; break;
            default: continue;  // PCI configuration access, shared memory, vendor data, reserved
        }
        if (slot->present || cap.bar >= pci::k_max_bars) continue;
        std::size_t needed = type == cfg_type::k_notify ? sizeof(PciNotifyCapability) : sizeof(PciCapability);
        Region region{true, cap.bar, cap.offset, cap.length};
        const pci::Bar& bar = device.bars[cap.bar];
        if (cap.cap_len < needed || region.length < minimum_length(type) || !bar.covers(region.offset, region.length)) {
            rejected = true;
            continue;
        }
        if (type == cfg_type::k_notify) layout.notify_off_multiplier = images[i].notify_off_multiplier;
        *slot = region;
    }
    if (!layout.common.present || !layout.notify.present || !layout.isr.present)
        return kernel::err(rejected ? DeviceError::BadCapability : DeviceError::NoTransport);
    return layout;
}

}  // namespace virtio
