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

    // The scan's reads are independent of each other and go as vectored reads
    // (ConfigSpace::read_each), each dword once: every access is an exit under a
    // hypervisor, and where the kernel runs in ring 3 a vectored read is one gate.
    // First function 0's identity in all 32 slots.
    void scan_bus(std::uint8_t bus, unsigned depth) {
        m_seen[bus] = true;
        m_highest_bus = std::max(m_highest_bus, bus);
        ++m_report.buses;
        std::array<ConfigRead, k_devices_per_bus> slots;
        for (std::uint8_t device = 0; device < k_devices_per_bus; ++device)
            slots[device] = {{bus, device, 0}, regs::k_vendor_id.offset};
        m_config.read_each(slots);
        for (const ConfigRead& slot : slots) {
            if (present(static_cast<std::uint16_t>(slot.value))) scan_device(slot.address, slot.value, depth);
        }
    }

private:
    struct Identity {
        Address address;
        std::uint32_t ids = 0;
        std::uint32_t header_dword = 0;
        std::uint32_t class_dword = 0;
    };

    // Function 0's header and class, then, when it is multi-function, the identity of
    // functions 1-7 and the header and class of those present (PCI 3.0 §6.2.1: they exist
    // only when function 0 says so, and need not be consecutive).
    void scan_device(Address first, std::uint32_t first_ids, unsigned depth) {
        std::array<Identity, k_functions_per_device> found;
        found[0] = {first, first_ids};
        read_headers(std::span(found).first(1));
        std::size_t count = 1;
        if ((static_cast<std::uint8_t>(found[0].header_dword >> 16) & header_type::k_multifunction) != 0) {
            std::array<ConfigRead, k_functions_per_device - 1> others;
            for (std::uint8_t function = 1; function < k_functions_per_device; ++function)
                others[function - 1u] = {{first.bus, first.device, function}, regs::k_vendor_id.offset};
            m_config.read_each(others);
            for (const ConfigRead& other : others) {
                if (present(static_cast<std::uint16_t>(other.value))) found[count++] = {other.address, other.value};
            }
            read_headers(std::span(found).subspan(1, count - 1));
        }
        for (std::size_t i = 0; i < count; ++i) scan_function(found[i], depth);
    }

    // The header type and class dwords of each function, as one vectored read.
    void read_headers(std::span<Identity> functions) {
        constexpr std::size_t k_most = std::size_t{2} * k_functions_per_device;
        std::array<ConfigRead, k_most> ops;
        for (std::size_t i = 0; i < functions.size(); ++i) {
            ops[2 * i] = {functions[i].address, k_header_dword};
            ops[2 * i + 1] = {functions[i].address, regs::k_revision_id.offset};
        }
        m_config.read_each(std::span(ops).first(2 * functions.size()));
        for (std::size_t i = 0; i < functions.size(); ++i) {
            functions[i].header_dword = ops[2 * i].value;
            functions[i].class_dword = ops[2 * i + 1].value;
        }
    }

    void scan_function(const Identity& identity, unsigned depth) {
        Address address = identity.address;
        std::uint32_t ids = identity.ids;
        std::uint32_t class_and_revision = identity.class_dword;
        ++m_report.functions;
        Device* device = m_table.add();
        if (device == nullptr) {
            ++m_report.dropped;
            m_scratch = Device{};
            device = &m_scratch;  // still followed if it is a bridge
        }
        device->address = address;
        device->vendor_id = static_cast<std::uint16_t>(ids);
        device->device_id = static_cast<std::uint16_t>(ids >> 16);
        device->revision = static_cast<std::uint8_t>(class_and_revision);
        device->prog_if = static_cast<std::uint8_t>(class_and_revision >> 8);
        device->subclass = static_cast<std::uint8_t>(class_and_revision >> 16);
        device->class_code = static_cast<std::uint8_t>(class_and_revision >> 24);
        auto header = static_cast<std::uint8_t>(identity.header_dword >> 16);
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
    std::uint32_t interrupt = config.read<std::uint32_t>(address, regs::k_interrupt_line.offset);
    device.interrupt_line = static_cast<std::uint8_t>(interrupt);
    device.interrupt_pin = static_cast<std::uint8_t>(interrupt >> 8);
    const bool general = device.header_layout == header_type::k_general;
    std::size_t bar_count = 0;
    if (general) {
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
