#pragma once
// What enumeration learns about one function: its identity (what drivers match on), and for
// a bridge the buses behind it; the rest (command register, subsystem, interrupt pin, BARs,
// capabilities) once read_details (enumerate.hpp) has read it. Kept in a DeviceTable of
// fixed size.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pci/address.hpp"
#include "pci/bar.hpp"
#include "pci/capability.hpp"

namespace pci {

struct Driver;

enum class DriverState : std::uint8_t {
    None,    // no driver claimed it
    Bound,   // a driver's probe succeeded
    Failed,  // the driver that claimed it could not bring it up
};

struct Device {
    Address address;
    std::uint16_t vendor_id = 0;
    std::uint16_t device_id = 0;
    std::uint8_t class_code = 0;
    std::uint8_t subclass = 0;
    std::uint8_t prog_if = 0;
    std::uint8_t revision = 0;
    std::uint8_t header_layout = 0;  // header_type::k_general, k_bridge, ...
    bool multifunction = false;
    // The details: zero until details_read. Enumeration reads them for bridges; the PCI
    // layer for the functions a driver matches, and for every function that decodes when
    // BARs must be assigned (pci.cpp).
    bool details_read = false;
    std::uint16_t command = 0;              // as the details found it (PCI 3.0 §6.2.2)
    std::uint16_t subsystem_vendor_id = 0;  // type 0 headers only
    std::uint16_t subsystem_id = 0;
    std::uint8_t interrupt_line = 0;  // what the firmware wrote: a legacy (ISA) IRQ number
    std::uint8_t interrupt_pin = 0;   // 0 none, 1-4 INTA#-INTD#
    BarArray bars{};
    CapabilityList capabilities;
    // Bridges: the buses behind (PCI-to-PCI Bridge Architecture 1.2 §3.2.5.3-§3.2.5.5).
    std::uint8_t secondary_bus = 0;
    std::uint8_t subordinate_bus = 0;
    // Set when drivers are bound.
    const Driver* driver = nullptr;
    const char* driver_name = nullptr;  // what the driver calls the device, e.g. "virtio-net"
    DriverState driver_state = DriverState::None;

    [[nodiscard]] bool is_bridge() const;
    [[nodiscard]] bool is_host_bridge() const;
    // Memory or I/O decoding on in `command`: the function answers at its BARs' addresses.
    [[nodiscard]] bool decodes() const { return decodes(command); }
    [[nodiscard]] static bool decodes(std::uint16_t command);
    // class << 16 | subclass << 8 | prog_if, as lspci prints it.
    [[nodiscard]] std::uint32_t class_triplet() const {
        return std::uint32_t{class_code} << 16 | std::uint32_t{subclass} << 8 | prog_if;
    }
};

// A short English name for a class and subclass ("host bridge", "ethernet").
const char* class_name(std::uint8_t class_code, std::uint8_t subclass);

class DeviceTable {
public:
    static constexpr std::size_t k_capacity = 64;

    // nullptr when full (the caller counts what was dropped).
    Device* add() { return m_count < m_devices.size() ? &(m_devices[m_count++] = Device{}) : nullptr; }
    void clear() { m_count = 0; }
    [[nodiscard]] std::span<Device> all() { return {m_devices.data(), m_count}; }
    [[nodiscard]] std::span<const Device> all() const { return {m_devices.data(), m_count}; }
    [[nodiscard]] std::size_t size() const { return m_count; }
    [[nodiscard]] Device* find(Address address);

private:
    std::array<Device, k_capacity> m_devices{};
    std::size_t m_count = 0;
};

}  // namespace pci
