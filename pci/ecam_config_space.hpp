#pragma once
// Enhanced configuration access (PCIe 6.0 §7.2.2): each function's 4 KiB of configuration
// space is memory at base + (bus << 20 | device << 15 | function << 12), over the buses
// that the ACPI MCFG table lists (kernel/acpi_mcfg.hpp). QEMU's q35 machine has it; pc
// does not. Portable: the region is reached through an IoWindow.

#include "kernel/acpi_mcfg.hpp"
#include "pci/config_space.hpp"
#include "pci/io_window.hpp"

namespace pci {

class EcamConfigSpace final : public ConfigSpace {
public:
    // `window` covers the region's buses: region.size() bytes from region.first_address().
    EcamConfigSpace(const kernel::acpi::EcamRegion& region, IoWindow& window) : m_region(region), m_window(&window) {}

    [[nodiscard]] std::uint16_t extent() const override { return 4096; }
    [[nodiscard]] bool reaches(std::uint8_t bus) const override { return m_region.contains(m_region.segment, bus); }
    [[nodiscard]] const kernel::acpi::EcamRegion& region() const { return m_region; }

protected:
    std::uint32_t read_raw(Address address, std::uint16_t offset, unsigned width) override;
    void write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) override;

private:
    [[nodiscard]] std::size_t offset_of(Address address, std::uint16_t offset) const {
        return (std::size_t{address.bus} - m_region.start_bus) << 20 | std::size_t{address.device} << 15 |
               std::size_t{address.function} << 12 | offset;
    }

    kernel::acpi::EcamRegion m_region;
    IoWindow* m_window;
};

}  // namespace pci
