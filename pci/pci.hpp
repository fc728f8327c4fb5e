#pragma once
// The PCI layer as the rest of the kernel sees it. At boot (KERNEL_INIT stage 30) it picks
// ECAM when the ACPI MCFG table describes it (QEMU -M q35) and ports CF8/CFC otherwise
// (-M pc), enumerates every bus, reads the details of the functions drivers match, gives
// addresses to their BARs the firmware left unassigned, offers each function to the
// registered drivers (driver.hpp) and, with `verbose`, prints a table:
//
//     pci: 00:03.0 1af4:1000 02.00.00 ethernet      virtio-net

#include <span>

#include "pci/config_space.hpp"
#include "pci/device.hpp"

namespace pci {

// The functions found at boot, with the drivers bound to them. Only functions with
// details_read have their BARs, capabilities and interrupt pin filled in (device.hpp).
std::span<const Device> devices();
// How configuration space is reached, or nullptr before the layer is up.
ConfigSpace* config_space();
// "ECAM" or "ports".
const char* config_access_name();

}  // namespace pci
