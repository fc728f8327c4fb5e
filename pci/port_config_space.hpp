#pragma once
// Configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): an address written to port
// 0xCF8 selects bus, device, function and register; port 0xCFC (plus the offset's low two
// bits) reads or writes it. Every PC has it; it reaches the first 256 bytes only. Kernel
// only.
//
// The address last written to 0xCF8 is remembered and not written again: under a
// hypervisor every port access is an exit, and sizing a BAR touches one register four
// times. Nothing else writes 0xCF8 (one vCPU, no configuration access from interrupt
// handlers, one instance of this class).
//
// Where the kernel runs in ring 3, the accesses join the queue of deferred device stores
// (kernel/gates/deferred.hpp): writes wait for the next read or gate, and a read takes
// what waits along in its gate. The index port is then written for every access (QEMU
// does not exit for it).

#include "pci/config_space.hpp"

namespace pci {

class PortConfigSpace final : public ConfigSpace {
public:
    [[nodiscard]] std::uint16_t extent() const override { return 256; }
    [[nodiscard]] bool reaches(std::uint8_t /*bus*/) const override { return true; }

protected:
    std::uint32_t read_raw(Address address, std::uint16_t offset, unsigned width) override;
    void write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) override;
    void read_each_raw(std::span<ConfigRead> reads) override;

private:
    std::uint32_t m_selected = 0;  // the last address written to 0xCF8; 0 before the first
};

}  // namespace pci
