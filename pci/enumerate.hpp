#pragma once
// Finds every function: bus 0 first, then each PCI-to-PCI bridge's secondary bus, depth
// first, with every function of multi-function devices (PCI Local Bus 3.0 §3.2.2.3.2,
// §6.2.1; PCI-to-PCI Bridge Architecture 1.2 §3.2.5.3-§3.2.5.5).
//
// Each function costs three configuration reads: identity, header type and class, what
// drivers match on. The rest, about 25 accesses with BAR sizing, is read by read_details,
// for bridges on the way and for other functions when someone needs them: under a
// hypervisor every access is an exit, and most functions (the chipset's ISA bridge, IDE,
// power management) are never used.
//
// Bus numbers come from the bridges. A bridge the firmware left unnumbered (secondary bus
// 0; qboot numbers its bridges, but nothing promises that) gets the next free number and
// a subordinate bus that covers what was found behind it. A bridge whose secondary bus was
// seen already, or is not above its own bus, is skipped: that is how a loop would show.

#include <cstddef>
#include <cstdint>

#include "pci/config_space.hpp"
#include "pci/device.hpp"

namespace pci {

struct DetailProblems {
    std::size_t malformed_bars = 0;       // BARs that cannot be what they say
    std::size_t capability_problems = 0;  // lists that looped or pointed into the header
};

struct EnumerationReport {
    std::size_t functions = 0;        // found, including any the table had no room for
    std::size_t dropped = 0;          // functions past the table's capacity
    std::size_t buses = 0;            // buses scanned
    std::size_t buses_numbered = 0;   // bridges we gave bus numbers to
    std::size_t bridges_skipped = 0;  // bus numbers that loop, go backwards or are out of reach
    DetailProblems problems;          // in the bridges' details
};

// The depth of bridges below bus 0 that enumeration follows.
constexpr unsigned k_max_bridge_depth = 32;

// Clears `table` and fills it.
EnumerationReport enumerate(ConfigSpace& config, DeviceTable& table);

// Reads the details of `device` (device.hpp), unless that was done already: the command
// register, interrupt pin and line, subsystem IDs; sizes its BARs (bar.hpp: decoding off
// meanwhile, except on host bridges) and walks its capability list. Adds what was wrong
// to `problems`. Headers other than types 0 and 1 have neither BARs nor capabilities.
void read_details(ConfigSpace& config, Device& device, DetailProblems& problems);

}  // namespace pci
