#include "pci/intx_routing.hpp"

namespace pci {
namespace {

constexpr std::uint16_t k_intel = 0x8086;
constexpr std::uint16_t k_i440fx = 0x1237;  // with a PIIX3 at 00:01.0
constexpr std::uint16_t k_q35 = 0x29C0;     // with an ICH9 LPC bridge at 00:1f.0
constexpr Address k_piix{0, 1, 0};
constexpr Address k_ich9_lpc{0, 0x1F, 0};

constexpr std::uint8_t k_pirq_a_route = 0x60;  // PIRQA-D
constexpr std::uint8_t k_pirq_e_route = 0x68;  // PIRQE-H, ICH9 only
constexpr std::uint8_t k_route_disabled = 0x80;
constexpr std::uint8_t k_route_irq = 0x0F;

constexpr unsigned k_pins = 4;
constexpr unsigned k_ich9_first_chipset_slot = 25;
constexpr unsigned k_ich9_dmi_bridge_slot = 30;

const Device* bridge_to(std::span<const Device> devices, std::uint8_t bus) {
    for (const Device& candidate : devices) {
        if (candidate.is_bridge() && candidate.secondary_bus == bus) return &candidate;
    }
    return nullptr;
}

const Device* find(std::span<const Device> devices, Address address) {
    for (const Device& candidate : devices) {
        if (candidate.address == address) return &candidate;
    }
    return nullptr;
}

}  // namespace

std::optional<std::uint8_t> chipset_intx_irq(ConfigSpace& config, std::span<const Device> devices,
                                             const Device& device) {
    if (device.interrupt_pin == 0 || device.interrupt_pin > k_pins) return std::nullopt;
    unsigned pin = device.interrupt_pin - 1u;  // INTA# is 0
    const Device* at = &device;
    // Bus numbers only grow away from bus 0 (enumeration checked), so this ends.
    for (unsigned hops = 0; at->address.bus != 0; ++hops) {
        const Device* bridge = bridge_to(devices, at->address.bus);
        if (bridge == nullptr || hops > devices.size()) return std::nullopt;
        pin = (pin + at->address.device) % k_pins;
        at = bridge;
    }
    unsigned slot = at->address.device;

    // The host bridge's identity from the table when it is there: one access fewer.
    std::uint32_t host = 0;
    if (const Device* host_bridge = find(devices, {0, 0, 0}))
        host = std::uint32_t{host_bridge->device_id} << 16 | host_bridge->vendor_id;
    else
        host = config.read<std::uint32_t>({0, 0, 0}, 0);
    Address router;
    unsigned pirq = 0;
    if (host == (std::uint32_t{k_i440fx} << 16 | k_intel)) {
        router = k_piix;
        pirq = (pin + slot + k_pins - 1) % k_pins;
    } else if (host == (std::uint32_t{k_q35} << 16 | k_intel)) {
        router = k_ich9_lpc;
        if (slot == k_ich9_dmi_bridge_slot)
            pirq = k_pins + pin;
        else if (slot >= k_ich9_first_chipset_slot)
            pirq = pin;
        else
            pirq = k_pins + (slot + pin) % k_pins;
    } else {
        return std::nullopt;
    }
    auto reg = static_cast<std::uint16_t>(pirq < k_pins ? k_pirq_a_route + pirq : k_pirq_e_route + pirq - k_pins);
    std::uint8_t route = config.read<std::uint8_t>(router, reg);
    if ((route & k_route_disabled) != 0 || (route & k_route_irq) == 0) return std::nullopt;
    return static_cast<std::uint8_t>(route & k_route_irq);
}

}  // namespace pci
