#pragma once
// What the layers above see of the interrupt controllers. The layer brings itself up
// before main (KERNEL_INIT stages 10 and 20): the 8259 PICs silenced, the local APIC
// enabled (x2APIC when the CPU has it), every I/O APIC input masked, and the local APIC
// timer installed as kernel::timer's device.
//
//     auto vector = kernel::interrupts::allocate_vector();
//     kernel::interrupts::set_handler(vector, on_serial, &port);
//     TRY(apic::route_legacy_irq(4, vector));   // COM1, wherever the MADT says it arrives
//
// The interrupt dispatcher sends the EOI after each handler.

#include <cstdint>

#include "apic/apic_timer.hpp"
#include "apic/interrupt_router.hpp"
#include "apic/io_apic.hpp"
#include "kernel/result.hpp"

namespace apic {

// The vectors the layer keeps for itself, in the 0xF0-0xFF range that
// kernel::interrupts::allocate_vector leaves alone.
constexpr std::uint8_t k_timer_vector = 0xF0;
constexpr std::uint8_t k_error_vector = 0xFE;
constexpr std::uint8_t k_spurious_vector = 0xFF;

// Routes ISA IRQ `irq` to `vector` on this CPU, applying the MADT's source overrides
// (ISA default: edge, active high); returns the GSI it arrives on.
kernel::Result<std::uint32_t, Error> route_legacy_irq(std::uint8_t irq, std::uint8_t vector);
// Routes a global system interrupt (a PCI INTx line, say: level, active low) to `vector`.
kernel::Result<void, Error> route_gsi(std::uint32_t gsi, std::uint8_t vector, Polarity polarity, Trigger trigger);
kernel::Result<void, Error> mask_gsi(std::uint32_t gsi);

// This CPU's local APIC ID (0 before the layer is up or without an APIC).
std::uint32_t local_apic_id();
bool x2apic_mode();
// Acknowledges the interrupt in service. The dispatcher already does this after every
// handler; only code that handles an interrupt outside the dispatcher needs it.
void eoi();

TimerStats timer_stats();
// Local APIC internal errors (the LVT error interrupt) and the last error status seen.
std::uint64_t error_count();
std::uint32_t last_error_status();

}  // namespace apic
