#pragma once
// Where a function's INTx pin arrives, worked out from the chipset rather than taken from
// the interrupt line register. Firmware writes that register for us, but qboot (what
// tools/run uses with KVM) gets it wrong for half the slots and for everything behind a
// bridge. Real firmware describes the wiring in ACPI's _PRT, which needs an AML
// interpreter; QEMU's two chipsets are wired the same way every time, so here it is:
//
// 1. Through each PCI-to-PCI bridge up to bus 0, the pin rotates by the device number
//    (PCI-to-PCI Bridge Architecture 1.2 §9.1, table 9-1).
// 2. A pin of a bus 0 slot reaches one of the chipset's PIRQ lines: on i440fx/PIIX,
//    PIRQ (pin + slot - 1) mod 4 (QEMU's pci_slot_get_pirq, and its _PRT); on q35/ICH9,
//    PIRQE-H by (slot + pin) mod 4 for slots below 25 and 30 fixed at E-H, PIRQA-D by pin
//    for the chipset's own slots 25-31 (QEMU's ich9_cc_init, D{25-31}IR defaults).
// 3. The chipset's route register for that PIRQ names the ISA IRQ the firmware chose
//    (82371AB PIIX4 datasheet, PIRQRC[A:D] at 60h; ICH9 datasheet §13.1, PIRQ[A-H]_ROUT at
//    60h and 68h): bits 3:0 the IRQ, bit 7 set when the line is not routed.

#include <cstdint>
#include <optional>
#include <span>

#include "pci/config_space.hpp"
#include "pci/device.hpp"

namespace pci {

// The ISA IRQ the chipset routes `device`'s INTx pin to, or nullopt when the device has no
// pin, the chipset is not one of QEMU's two, a bridge on the way is missing from
// `devices`, or the PIRQ is not routed.
std::optional<std::uint8_t> chipset_intx_irq(ConfigSpace& config, std::span<const Device> devices,
                                             const Device& device);

}  // namespace pci
