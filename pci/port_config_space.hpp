#pragma once
// Configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): an address written to port
// 0xCF8 selects bus, device, function and register; port 0xCFC (plus the offset's low two
// bits) reads or writes it. Every PC has it; it reaches the first 256 bytes only. Kernel
// only.

#include "pci/config_space.hpp"

namespace pci {

class PortConfigSpace final : public ConfigSpace {
public:
    [[nodiscard]] std::uint16_t extent() const override { return 256; }
    [[nodiscard]] bool reaches(std::uint8_t /*bus*/) const override { return true; }

protected:
    std::uint32_t read_raw(Address address, std::uint16_t offset, unsigned width) override;
    void write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) override;
};

}  // namespace pci
