#include "pci/enumerate.hpp"

#include <algorithm>
#include <array>

#include "pci/registers.hpp"

namespace pci {
namespace {

// Cache line size, latency timer, header type and BIST share this dword (PCI 3.0 figure 6-1).
constexpr std::uint16_t k_header_dword = 0x0C;
static_assert(regs::k_header_type.offset / 4 == k_header_dword / 4);
static_assert(regs::k_revision_id.offset == 0x08 && regs::k_class_code.offset == 0x0B);
static_assert(regs::k_interrupt_pin.offset == regs::k_interrupt_line.offset + 1);
static_assert(regs::k_subsystem_id.offset == regs::k_subsystem_vendor_id.offset + 2);

bool present(std::uint16_t vendor) {
    // 0xFFFF is what nobody answering reads as (PCI 3.0 §6.2.1); 0 is no valid vendor either.
    return vendor != k_no_vendor && vendor != 0;
}

class Walker {
public:
    Walker(ConfigSpace& config, DeviceTable& table, EnumerationReport& report)
        : m_config(config), m_table(table), m_report(report) {}

    void scan_bus(std::uint8_t bus, unsigned depth) {
        m_seen[bus] = true;
        m_highest_bus = std::max(m_highest_bus, bus);
        ++m_report.buses;
        for (std::uint8_t device = 0; device < k_devices_per_bus; ++device) {
            // The header a dword at a time, each read once: each access is an exit under
            // a hypervisor.
            Address first{bus, device, 0};
            std::uint32_t ids = m_config.read<std::uint32_t>(first, regs::k_vendor_id.offset);
            if (!present(static_cast<std::uint16_t>(ids))) continue;
            std::uint32_t header_dword = m_config.read<std::uint32_t>(first, k_header_dword);
            scan_function(first, ids, header_dword, depth);
            if ((static_cast<std::uint8_t>(header_dword >> 16) & header_type::k_multifunction) == 0) continue;
            // PCI 3.0 §6.2.1: functions 1-7 exist only when function 0 says so, and need
            // not be consecutive.
            for (std::uint8_t function = 1; function < k_functions_per_device; ++function) {
                Address address{bus, device, function};
                ids = m_config.read<std::uint32_t>(address, regs::k_vendor_id.offset);
                if (!present(static_cast<std::uint16_t>(ids))) continue;
                scan_function(address, ids, m_config.read<std::uint32_t>(address, k_header_dword), depth);
            }
        }
    }

private:
    void scan_function(Address address, std::uint32_t ids, std::uint32_t header_dword, unsigned depth) {
        ++m_report.functions;
        Device* device = m_table.add();
        if (device == nullptr) {
            ++m_report.dropped;
            m_scratch = Device{};
            device = &m_scratch;  // still followed if it is a bridge
        }
        std::uint32_t class_and_revision = m_config.read<std::uint32_t>(address, regs::k_revision_id.offset);
        device->address = address;
        device->vendor_id = static_cast<std::uint16_t>(ids);
        device->device_id = static_cast<std::uint16_t>(ids >> 16);
        device->revision = static_cast<std::uint8_t>(class_and_revision);
        device->prog_if = static_cast<std::uint8_t>(class_and_revision >> 8);
        device->subclass = static_cast<std::uint8_t>(class_and_revision >> 16);
        device->class_code = static_cast<std::uint8_t>(class_and_revision >> 24);
        auto header = static_cast<std::uint8_t>(header_dword >> 16);
        device->header_layout = static_cast<std::uint8_t>(header_type::k_layout.get(header));
        device->multifunction = (header & header_type::k_multifunction) != 0;
        if (device->is_bridge()) {
            read_details(m_config, *device, m_report.problems);
            follow_bridge(*device, depth);
        }
    }

    void follow_bridge(Device& bridge, unsigned depth) {
        Address address = bridge.address;
        std::uint8_t secondary = m_config.read(address, regs::k_secondary_bus);
        if (depth + 1 > k_max_bridge_depth) {
            ++m_report.bridges_skipped;
            return;
        }
        if (secondary == 0) {
            // Unnumbered: take the next bus and route everything above it through this
            // bridge while we look, then close the range at what we found.
            if (m_highest_bus == 0xFF) {
                ++m_report.bridges_skipped;
                return;
            }
            secondary = static_cast<std::uint8_t>(m_highest_bus + 1);
            if (!m_config.reaches(secondary)) {
                ++m_report.bridges_skipped;
                return;
            }
            m_config.write(address, regs::k_primary_bus, address.bus);
            m_config.write(address, regs::k_secondary_bus, secondary);
            m_config.write(address, regs::k_subordinate_bus, std::uint8_t{0xFF});
            ++m_report.buses_numbered;
            scan_bus(secondary, depth + 1);
            m_config.write(address, regs::k_subordinate_bus, m_highest_bus);
        } else if (secondary <= address.bus || m_seen[secondary] || !m_config.reaches(secondary)) {
            ++m_report.bridges_skipped;
            return;
        } else {
            scan_bus(secondary, depth + 1);
        }
        bridge.secondary_bus = secondary;
        bridge.subordinate_bus = m_config.read(address, regs::k_subordinate_bus);
    }

    ConfigSpace& m_config;
    DeviceTable& m_table;
    EnumerationReport& m_report;
    std::array<bool, k_bus_count> m_seen{};
    std::uint8_t m_highest_bus = 0;
    Device m_scratch;  // for functions the table has no room for
};

}  // namespace

void read_details(ConfigSpace& config, Device& device, DetailProblems& problems) {
    if (device.details_read) return;
    device.details_read = true;
    Address address = device.address;
    device.command = config.read(address, regs::k_command);
    std::uint32_t interrupt_dword = config.read<std::uint32_t>(address, regs::k_interrupt_line.offset);
    device.interrupt_line = static_cast<std::uint8_t>(interrupt_dword);
    device.interrupt_pin = static_cast<std::uint8_t>(interrupt_dword >> 8);
    std::size_t bar_count = 0;
    if (device.header_layout == header_type::k_general) {
        bar_count = k_max_bars;
        std::uint32_t subsystem = config.read<std::uint32_t>(address, regs::k_subsystem_vendor_id.offset);
        device.subsystem_vendor_id = static_cast<std::uint16_t>(subsystem);
        device.subsystem_id = static_cast<std::uint16_t>(subsystem >> 16);
    } else if (device.header_layout == header_type::k_bridge) {
        bar_count = k_bridge_bar_count;
    } else {
        return;
    }
    device.bars =
        probe_bars(config, address, bar_count, device.command, device.is_host_bridge(), &problems.malformed_bars);
    device.capabilities = CapabilityList::read(config, address);
    if (device.capabilities.problem() != CapabilityProblem::None) ++problems.capability_problems;
}

EnumerationReport enumerate(ConfigSpace& config, DeviceTable& table) {
    EnumerationReport report;
    table.clear();
    if (!config.reaches(0)) return report;
    Walker walker(config, table, report);
    walker.scan_bus(0, 0);
    return report;
}

}  // namespace pci
