// Bring-up of the PCI layer (KERNEL_INIT stage 30): configuration access, enumeration,
// resources, drivers, and the device table on the console.

#include "pci/pci.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "kernel/acpi_mcfg.hpp"
#include "kernel/console.hpp"
#include "kernel/init.hpp"
#include "kernel/kernel.hpp"
#include "kernel/memory.hpp"
#include "kernel/mmio.hpp"
#include "pci/driver.hpp"
#include "pci/ecam_config_space.hpp"
#include "pci/ecam_window.hpp"
#include "pci/enumerate.hpp"
#include "pci/intx_routing.hpp"
#include "pci/port_config_space.hpp"
#include "pci/registers.hpp"
#include "pci/resources.hpp"

extern "C" const pci::Driver __pci_drivers_start[];
extern "C" const pci::Driver __pci_drivers_end[];

namespace pci {
namespace {

using kernel::println;

// Where BARs the firmware left unassigned may go: the top of the 32-bit PCI hole, below
// the I/O APIC (0xFEC00000), as SeaBIOS does for its 32-bit BARs; RAM and ECAM inside it
// are stepped over. I/O BARs go above the legacy ports, from 0xC000 as with SeaBIOS.
constexpr AddressRange k_memory_window{0xC000'0000, 0xFEC0'0000};
constexpr AddressRange k_io_window{0xC000, 0x1'0000};
constexpr Address k_host_bridge{0, 0, 0};

PortConfigSpace g_ports;
EcamWindow g_ecam_window;
std::optional<EcamConfigSpace> g_ecam;
ConfigSpace* g_config = nullptr;
DeviceTable g_devices;

// ECAM when the MCFG has bus 0 of segment 0 and it agrees with the ports about the host
// bridge (firmware may list a region it never enabled); the ports otherwise.
ConfigSpace& choose_config_space() {
    const kernel::acpi::Tables* tables = kernel::acpi_tables();
    if (tables == nullptr) return g_ports;
    auto mcfg = kernel::acpi::read_mcfg(kernel::memory::physical_reader(), *tables);
    if (!mcfg) return g_ports;
    auto region = mcfg->find(0, 0);
    if (!region) {
        println("pci: the MCFG has no region for bus 0 of segment 0; using ports CF8/CFC");
        return g_ports;
    }
    g_ecam_window = EcamWindow(region->first_address(), region->size());
    EcamConfigSpace& ecam = g_ecam.emplace(*region, g_ecam_window);
    auto through_ports = g_ports.read<std::uint32_t>(k_host_bridge, 0);
    auto through_ecam = ecam.read<std::uint32_t>(k_host_bridge, 0);
    if (through_ports != through_ecam) {
        println("pci: ECAM at {:#x} reads {:#x} for 00:00.0, the ports {:#x}; using ports CF8/CFC",
                region->first_address(), through_ecam, through_ports);
        g_ecam.reset();
        return g_ports;
    }
    if (kernel::verbose())
        println("pci: configuration space through ECAM at {:#x}, buses {}-{}", region->first_address(),
                region->start_bus, region->end_bus);
    return ecam;
}

void assign(ConfigSpace& config) {
    // RAM (every region the memory map lists, usable or not) and ECAM are off limits.
    std::array<AddressRange, kernel::multiboot::BootInfo::k_max_regions + 1> reserved;
    std::size_t count = 0;
    for (const auto& region : kernel::boot_info().regions())
        reserved[count++] = {region.base, region.base + region.length};
    if (g_ecam)
        reserved[count++] = {g_ecam->region().first_address(),
                             g_ecam->region().first_address() + g_ecam->region().size()};
    ResourceReport report =
        assign_resources(config, g_devices, {k_memory_window, k_io_window, {reserved.data(), count}});
    if (kernel::verbose() && (report.assigned != 0 || report.failed != 0)) {
        println("pci: {} BARs assigned here, {} kept from the firmware, {} bridges opened{}", report.assigned,
                report.kept, report.bridges_opened, report.failed != 0 ? "; some BARs found no room" : "");
    }
    if (report.failed != 0) println("pci: warning: {} BARs or bridge windows left without an address", report.failed);
}

// Formats a whole line before writing it: every console write costs VM exits, and a
// line written field by field costs one per field.
template <typename... Args>
void print_line(kernel::fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    std::array<char, 160> buffer;
    kernel::fmt::BufferSink sink(buffer);
    kernel::fmt::format_to<Args...>(sink, format, args...);
    sink.put('\n');
    kernel::console_write(sink.view());
}

// The chipset's word on where each INTx pin arrives over the firmware's (intx_routing.hpp).
void correct_interrupt_lines(ConfigSpace& config) {
    std::size_t corrected = 0;
    for (Device& device : g_devices.all()) {
        if (!device.details_read) continue;  // no driver, so nobody to tell
        auto irq = chipset_intx_irq(config, g_devices.all(), device);
        if (!irq || *irq == device.interrupt_line) continue;
        device.interrupt_line = *irq;
        ++corrected;
    }
    // qboot gets the line wrong for half the slots: a firmware quirk, not a warning.
    if (corrected != 0 && kernel::verbose())
        println("pci: {} interrupt lines corrected from the chipset's routing", corrected);
}

void print_table() {
    print_line("pci: bus:dv.f vend:dev  class    {:<13} driver", "kind");
    for (const Device& device : g_devices.all()) {
        const char* driver = device.driver_name != nullptr ? device.driver_name : "-";
        const char* state = device.driver_state == DriverState::Failed ? " (failed)" : "";
        print_line("pci: {}  {:04x}:{:04x} {:02x}.{:02x}.{:02x} {:<13} {}{}", device.address, device.vendor_id,
                   device.device_id, device.class_code, device.subclass, device.prog_if,
                   class_name(device.class_code, device.subclass), driver, state);
    }
}

bool matched_by_a_driver(const Device& device) {
    return std::any_of(registered_drivers().begin(), registered_drivers().end(),
                       [&](const Driver& driver) { return driver.probe != nullptr && driver.match.matches(device); });
}

// Details (BARs, capabilities, interrupt pin) for the functions a driver may take. When
// one of their BARs needs an address, also for every function that decodes: its BARs are
// taken. A function with decoding off answers at no address, so its BARs can stay unread
// (enumerate.hpp).
void read_needed_details(ConfigSpace& config, DetailProblems& problems) {
    bool unassigned = false;
    for (Device& device : g_devices.all()) {
        if (device.details_read || !matched_by_a_driver(device)) continue;
        read_details(config, device, problems);
        for (const Bar& bar : device.bars)
            unassigned = unassigned || (bar.present() && !bar.assigned() && !device.is_host_bridge());
    }
    if (!unassigned) return;
    for (Device& device : g_devices.all()) {
        if (!device.details_read && Device::decodes(config.read(device.address, regs::k_command)))
            read_details(config, device, problems);
    }
}

bool comes_before(const Device& a, const Device& b) {
    if (a.address.bus != b.address.bus) return a.address.bus < b.address.bus;
    if (a.address.device != b.address.device) return a.address.device < b.address.device;
    return a.address.function < b.address.function;
}

void init_pci() {
    ConfigSpace& config = choose_config_space();
    if (&config == &g_ports && kernel::verbose()) println("pci: configuration space through ports CF8/CFC");
    g_config = &config;
    EnumerationReport report = enumerate(config, g_devices);
    // Enumeration goes depth first through bridges; the table reads better in bus order.
    std::sort(g_devices.all().begin(), g_devices.all().end(), comes_before);
    if (report.dropped != 0)
        println("pci: warning: {} functions past the table's {} ignored", report.dropped, DeviceTable::k_capacity);
    if (report.bridges_skipped != 0)
        println("pci: warning: {} bridges skipped (bus numbers loop, go backwards or are out of reach)",
                report.bridges_skipped);
    DetailProblems problems = report.problems;
    read_needed_details(config, problems);
    if (problems.malformed_bars != 0) println("pci: warning: {} malformed BARs ignored", problems.malformed_bars);
    if (problems.capability_problems != 0)
        println("pci: warning: {} capability lists cut short (loop or bad pointer)", problems.capability_problems);
    assign(config);
    correct_interrupt_lines(config);
    BindReport bound = bind_drivers(config, g_devices.all(), registered_drivers());
    // Each bound driver prints its own line; the summary is for verbose boots and failures:
    // on a hypervisor every console byte costs (a line is 2-3 ms under docs/kvm-on-this-host.md).
    if (kernel::verbose() || bound.failed != 0)
        println("pci: {} functions, {} buses{}; {} bound to drivers, {} failed", report.functions, report.buses,
                report.buses_numbered != 0 ? " (some numbered here)" : "", bound.bound, bound.failed);
    if (kernel::verbose()) print_table();
}

KERNEL_INIT(30, "pci", init_pci);

}  // namespace

std::span<const Driver> registered_drivers() {
    return {__pci_drivers_start, static_cast<std::size_t>(__pci_drivers_end - __pci_drivers_start)};
}

std::span<const Device> devices() { return g_devices.all(); }
ConfigSpace* config_space() { return g_config; }
const char* config_access_name() { return g_ecam ? "ECAM" : "ports"; }

}  // namespace pci
