#pragma once
// What an application sees of the kernel. An application defines `int main()`; the
// kernel calls it once the machine is set up, and exits with its return value.

#include <cstdint>

#include "kernel/acpi.hpp"
#include "kernel/command_line.hpp"
#include "kernel/console.hpp"
#include "kernel/exit.hpp"
#include "kernel/multiboot.hpp"
#include "kernel/panic.hpp"

namespace kernel {

const CommandLine& command_line();
const multiboot::BootInfo& boot_info();
// From the kernel's first instruction to the call of main.
std::uint64_t boot_duration_ns();
// `verbose` on the command line: the boot prints its details (the APIC lines, the PCI
// configuration access, BAR assignment and device table). Without it only summaries and
// warnings: each byte on the serial console is an exit to the hypervisor.
bool verbose();
// The ACPI tables found at boot, or nullptr when there are none.
const acpi::Tables* acpi_tables();

}  // namespace kernel
