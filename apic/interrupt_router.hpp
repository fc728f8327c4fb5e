#pragma once
// Routes device interrupts to vectors: finds the I/O APIC input for a global system
// interrupt (GSI), and for an ISA IRQ applies the MADT's interrupt source overrides
// first. Portable: holds IoApic objects over whatever access they were given.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "apic/io_apic.hpp"
#include "kernel/acpi_madt.hpp"
#include "kernel/result.hpp"

namespace apic {

enum class Error { NotReady, NoIoApic, NoSuchGsi, BadVector, BadDestination, TooManyIoApics };
const char* to_string(Error error);

// Where an ISA IRQ arrives and how its line behaves.
struct GsiRoute {
    std::uint32_t gsi;
    Polarity polarity;
    Trigger trigger;
};

// ACPI 6.5 §5.2.12.5: without an override, ISA IRQ n is GSI n; flags that "conform to the
// bus" mean ISA's edge triggered, active high.
GsiRoute legacy_irq_route(std::span<const kernel::acpi::madt::InterruptOverride> overrides, std::uint8_t irq);

class InterruptRouter {
public:
    static constexpr std::size_t k_max_io_apics = kernel::acpi::Madt::k_max_io_apics;
    static constexpr std::size_t k_max_overrides = kernel::acpi::Madt::k_max_overrides;

    kernel::Result<void, Error> add(const IoApic& io_apic);
    void set_overrides(std::span<const kernel::acpi::madt::InterruptOverride> overrides);
    // The local APIC that receives every routed interrupt.
    void set_destination(std::uint32_t apic_id) { m_destination = apic_id; }

    // Routes ISA IRQ `irq` to `vector` (unmasked) and returns the GSI it arrives on.
    kernel::Result<std::uint32_t, Error> route_legacy_irq(std::uint8_t irq, std::uint8_t vector);
    kernel::Result<void, Error> route_gsi(std::uint32_t gsi, std::uint8_t vector, Polarity polarity, Trigger trigger);
    kernel::Result<void, Error> mask_gsi(std::uint32_t gsi);

    [[nodiscard]] std::size_t io_apic_count() const { return m_io_apic_count; }
    [[nodiscard]] IoApic& io_apic(std::size_t index) { return *m_io_apics[index]; }
    [[nodiscard]] std::span<const kernel::acpi::madt::InterruptOverride> overrides() const {
        return {m_overrides.data(), m_override_count};
    }

private:
    IoApic* owner_of(std::uint32_t gsi);

    std::array<std::optional<IoApic>, k_max_io_apics> m_io_apics{};
    std::size_t m_io_apic_count = 0;
    std::array<kernel::acpi::madt::InterruptOverride, k_max_overrides> m_overrides{};
    std::size_t m_override_count = 0;
    std::uint32_t m_destination = 0;
};

}  // namespace apic
