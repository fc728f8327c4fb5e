#include "apic/interrupt_router.hpp"

#include <algorithm>

namespace apic {
namespace {

using kernel::acpi::madt::InterruptOverride;

constexpr std::uint8_t k_first_usable_vector = 32;          // 0-31 are the CPU's exceptions
constexpr std::uint32_t k_max_physical_destination = 0xFF;  // 82093AA §3.2.4: bits 63:56

Polarity polarity_of(kernel::acpi::madt::Polarity p) {
    // "Conforms" and the reserved value fall back to ISA's active high.
    return p == kernel::acpi::madt::Polarity::ActiveLow ? Polarity::ActiveLow : Polarity::ActiveHigh;
}

Trigger trigger_of(kernel::acpi::madt::TriggerMode t) {
    return t == kernel::acpi::madt::TriggerMode::Level ? Trigger::Level : Trigger::Edge;
}

}  // namespace

const char* to_string(Error error) {
    switch (error) {
        case Error::NotReady: return "the APIC layer is not set up";
        case Error::NoIoApic: return "no I/O APIC";
        case Error::NoSuchGsi: return "no I/O APIC input for this GSI";
        case Error::BadVector: return "vectors below 32 are the CPU's exceptions";
        case Error::BadDestination: return "local APIC ID too large for an I/O APIC destination";
        case Error::TooManyIoApics: return "too many I/O APICs";
    }
    return "unknown APIC error";
}

GsiRoute legacy_irq_route(std::span<const InterruptOverride> overrides, std::uint8_t irq) {
    for (const auto& o : overrides) {
        if (o.bus == 0 && o.source == irq) return {o.gsi, polarity_of(o.flags.polarity), trigger_of(o.flags.trigger)};
    }
    return {irq, Polarity::ActiveHigh, Trigger::Edge};
}

kernel::Result<void, Error> InterruptRouter::add(const IoApic& io_apic) {
    if (m_io_apic_count == m_io_apics.size()) return kernel::err(Error::TooManyIoApics);
    m_io_apics[m_io_apic_count++].emplace(io_apic);
    return {};
}

void InterruptRouter::set_overrides(std::span<const InterruptOverride> overrides) {
    m_override_count = std::min(overrides.size(), m_overrides.size());
    std::copy_n(overrides.begin(), m_override_count, m_overrides.begin());
}

kernel::Result<std::uint32_t, Error> InterruptRouter::route_legacy_irq(std::uint8_t irq, std::uint8_t vector) {
    GsiRoute route = legacy_irq_route(overrides(), irq);
    TRY(route_gsi(route.gsi, vector, route.polarity, route.trigger));
    return route.gsi;
}

kernel::Result<void, Error> InterruptRouter::route_gsi(std::uint32_t gsi, std::uint8_t vector, Polarity polarity,
                                                       Trigger trigger) {
    if (vector < k_first_usable_vector) return kernel::err(Error::BadVector);
    if (m_destination > k_max_physical_destination) return kernel::err(Error::BadDestination);
    if (m_io_apic_count == 0) return kernel::err(Error::NoIoApic);
    IoApic* owner = owner_of(gsi);
    if (owner == nullptr) return kernel::err(Error::NoSuchGsi);
    owner->set(gsi - owner->gsi_base(), {vector, polarity, trigger, false, static_cast<std::uint8_t>(m_destination)});
    return {};
}

kernel::Result<void, Error> InterruptRouter::mask_gsi(std::uint32_t gsi) {
    if (m_io_apic_count == 0) return kernel::err(Error::NoIoApic);
    IoApic* owner = owner_of(gsi);
    if (owner == nullptr) return kernel::err(Error::NoSuchGsi);
    owner->mask(gsi - owner->gsi_base());
    return {};
}

IoApic* InterruptRouter::owner_of(std::uint32_t gsi) {
    for (std::size_t i = 0; i < m_io_apic_count; ++i) {
        if (m_io_apics[i]->handles(gsi)) return &*m_io_apics[i];
    }
    return nullptr;
}

}  // namespace apic
