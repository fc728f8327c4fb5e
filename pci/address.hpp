#pragma once
// Where a PCI function sits: bus, device, function (PCI Local Bus 3.0 §3.2.2.3.2). Printed
// the way lspci does, "00:03.0".

#include <cstdint>

#include "kernel/format.hpp"

namespace pci {

constexpr unsigned k_devices_per_bus = 32;
constexpr unsigned k_functions_per_device = 8;
constexpr unsigned k_bus_count = 256;

struct Address {
    std::uint8_t bus = 0;
    std::uint8_t device = 0;    // 0-31
    std::uint8_t function = 0;  // 0-7

    friend constexpr bool operator==(Address, Address) = default;
};

}  // namespace pci

template <>
struct kernel::fmt::Formatter<pci::Address> {
    static void format(Sink& sink, const Spec& spec, const pci::Address& address);
};
