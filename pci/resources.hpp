#pragma once
// Gives addresses to the BARs the firmware left unassigned, and opens bridge windows for
// them. SeaBIOS assigns every BAR; qboot (what tools/run uses with KVM) assigns none, like
// most minimal firmware, and leaves it to the kernel as Linux does.
//
// What the firmware did is kept: its BARs and bridge windows stay where they are and are
// stepped over. An unassigned BAR on bus 0 gets a block of the machine's PCI window; one
// behind a bridge the firmware configured gets a block of that bridge's window; a bridge
// the firmware left closed gets windows sized for everything behind it (memory in 1 MiB
// units, I/O in 4 KiB units, PCI-to-PCI Bridge Architecture 1.2 §3.2.5.6, §3.2.5.8) and
// its prefetchable window stays closed: every memory BAR goes below 4 GiB, which both BAR
// widths and the non-prefetchable window can reach.

#include <cstddef>
#include <span>

#include "pci/config_space.hpp"
#include "pci/device.hpp"
#include "pci/range_allocator.hpp"

namespace pci {

struct ResourceWindows {
    AddressRange memory;  // where bus 0's memory BARs may go (below 4 GiB)
    AddressRange io;      // where bus 0's I/O BARs may go
    // Memory nobody may have: RAM, ECAM, the firmware's own ranges.
    std::span<const AddressRange> reserved;
};

struct ResourceReport {
    std::size_t kept = 0;            // BARs the firmware had assigned
    std::size_t assigned = 0;        // BARs given an address here
    std::size_t failed = 0;          // BARs (or bridge windows) that found no room
    std::size_t bridges_opened = 0;  // bridges whose windows we programmed
};

// Memory BARs smaller than a page still get a page each, so that mapping one never maps
// another's registers (PCI 3.0 §6.2.5.1 recommends devices ask for at least 4 KiB).
constexpr std::uint64_t k_min_memory_bar_alignment = 4096;

ResourceReport assign_resources(ConfigSpace& config, DeviceTable& table, const ResourceWindows& windows);

}  // namespace pci
