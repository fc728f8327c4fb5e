#pragma once
// The configuration header's registers as typed constants (PCI Local Bus 3.0 §6.1-§6.2,
// PCI-to-PCI Bridge Architecture 1.2 §3.2), and the bits of the ones we act on.

#include <cstdint>

#include "kernel/register_field.hpp"

#include "pci/config_space.hpp"

namespace pci {

using Field = kernel::RegisterField;

namespace regs {

// PCI 3.0 §6.1, figure 6-1: the part every header type shares.
constexpr ConfigRegister<std::uint16_t> k_vendor_id{0x00};
constexpr ConfigRegister<std::uint16_t> k_device_id{0x02};
constexpr ConfigRegister<std::uint16_t> k_command{0x04};
constexpr ConfigRegister<std::uint16_t> k_status{0x06};
constexpr ConfigRegister<std::uint8_t> k_revision_id{0x08};
constexpr ConfigRegister<std::uint8_t> k_prog_if{0x09};
constexpr ConfigRegister<std::uint8_t> k_subclass{0x0A};
constexpr ConfigRegister<std::uint8_t> k_class_code{0x0B};
constexpr ConfigRegister<std::uint8_t> k_header_type{0x0E};
// Type 0 and type 1 headers both keep the capabilities pointer and the interrupt
// registers here (PCI 3.0 §6.2.4, §6.7; bridge 1.2 §3.2.5.17-§3.2.5.19).
constexpr ConfigRegister<std::uint8_t> k_capabilities_pointer{0x34};
constexpr ConfigRegister<std::uint8_t> k_interrupt_line{0x3C};
constexpr ConfigRegister<std::uint8_t> k_interrupt_pin{0x3D};

// Type 0 (PCI 3.0 figure 6-1).
constexpr std::uint16_t k_bar0 = 0x10;  // six 32-bit BARs, §6.2.5.1
constexpr ConfigRegister<std::uint16_t> k_subsystem_vendor_id{0x2C};
constexpr ConfigRegister<std::uint16_t> k_subsystem_id{0x2E};

// Type 1, a PCI-to-PCI bridge (bridge 1.2 §3.2, figure 3-2). Two BARs from 0x10.
constexpr ConfigRegister<std::uint8_t> k_primary_bus{0x18};
constexpr ConfigRegister<std::uint8_t> k_secondary_bus{0x19};
constexpr ConfigRegister<std::uint8_t> k_subordinate_bus{0x1A};
constexpr ConfigRegister<std::uint8_t> k_io_base{0x1C};
constexpr ConfigRegister<std::uint8_t> k_io_limit{0x1D};
constexpr ConfigRegister<std::uint16_t> k_memory_base{0x20};
constexpr ConfigRegister<std::uint16_t> k_memory_limit{0x22};
constexpr ConfigRegister<std::uint16_t> k_prefetchable_base{0x24};
constexpr ConfigRegister<std::uint16_t> k_prefetchable_limit{0x26};
constexpr ConfigRegister<std::uint32_t> k_prefetchable_base_upper{0x28};
constexpr ConfigRegister<std::uint32_t> k_prefetchable_limit_upper{0x2C};
constexpr ConfigRegister<std::uint16_t> k_io_base_upper{0x30};
constexpr ConfigRegister<std::uint16_t> k_io_limit_upper{0x32};

}  // namespace regs

// PCI 3.0 §6.2.2, figure 6-2.
namespace command {
constexpr std::uint16_t k_io_space = 1u << 0;
constexpr std::uint16_t k_memory_space = 1u << 1;
constexpr std::uint16_t k_bus_master = 1u << 2;
constexpr std::uint16_t k_interrupt_disable = 1u << 10;
}  // namespace command

// PCI 3.0 §6.2.3, figure 6-3.
namespace status {
constexpr std::uint16_t k_capabilities_list = 1u << 4;
}

// PCI 3.0 §6.2.1: bits 6:0 the layout, bit 7 "more functions than 0".
namespace header_type {
constexpr Field k_layout{0, 7};
constexpr std::uint8_t k_multifunction = 0x80;
constexpr std::uint8_t k_general = 0x00;
constexpr std::uint8_t k_bridge = 0x01;   // PCI-to-PCI bridge
constexpr std::uint8_t k_cardbus = 0x02;  // CardBus bridge: not enumerated further
}  // namespace header_type

// PCI Code and ID Assignment 1.11 §2: the classes we treat specially.
namespace class_code {
constexpr std::uint8_t k_bridge = 0x06;
constexpr std::uint8_t k_subclass_host_bridge = 0x00;
constexpr std::uint8_t k_subclass_pci_bridge = 0x04;
}  // namespace class_code

// PCI Code and ID Assignment 1.11 §2 (capability IDs).
namespace capability_id {
constexpr std::uint8_t k_msi = 0x05;
constexpr std::uint8_t k_vendor_specific = 0x09;
constexpr std::uint8_t k_pci_express = 0x10;
constexpr std::uint8_t k_msix = 0x11;
}  // namespace capability_id

constexpr std::uint16_t k_no_vendor = 0xFFFF;  // what a read of an absent function returns

}  // namespace pci
