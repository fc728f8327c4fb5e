#pragma once
// PCI drivers register themselves; nothing keeps a list of them:
//
//     PCI_DRIVER(virtio, {.vendor = 0x1AF4, .device_first = 0x1000, .device_last = 0x107F}, probe_virtio);
//
// places a descriptor in the linker section .pci_drivers (boot/linker.ld keeps it, as it
// keeps .kernel_init). At boot (pci.cpp, a KERNEL_INIT stage 30 hook) every enumerated
// function is offered to the drivers that match it, in link order, until one probe says
// it is taken.

#include <cstdint>
#include <span>

#include "kernel/result.hpp"
#include "pci/config_space.hpp"
#include "pci/device.hpp"

namespace pci {

// What a driver handles: a vendor and a range of device IDs, and/or a class. k_any_vendor
// matches every vendor; a class_mask of 0 matches every class.
struct Match {
    static constexpr std::uint16_t k_any_vendor = 0xFFFF;
    std::uint16_t vendor = k_any_vendor;
    std::uint16_t device_first = 0x0000;
    std::uint16_t device_last = 0xFFFF;
    std::uint32_t class_triplet = 0;  // class << 16 | subclass << 8 | prog_if
    std::uint32_t class_mask = 0;

    [[nodiscard]] bool matches(const Device& device) const;
};

enum class ProbeError {
    NotMine,  // the driver looked closer and does not handle this device: try the next one
    Failed,   // the driver handles it but could not bring it up; it has said why
};

// What a probe gets: the device and the means to reach it, with the few things most
// drivers ask of the bus.
class Function {
public:
    Function(ConfigSpace& config, Device& device) : m_config(&config), m_device(&device) {}

    [[nodiscard]] Device& device() const { return *m_device; }
    [[nodiscard]] ConfigSpace& config() const { return *m_config; }
    [[nodiscard]] Address address() const { return m_device->address; }

    // Turns on memory and/or I/O decoding (for the BARs the device has) and bus mastering
    // (PCI 3.0 §6.2.2): drivers ask before touching registers or starting DMA.
    void enable(bool memory, bool io, bool bus_master);
    // Stops the function from asserting INTx (PCI 3.0 §6.2.2, bit 10).
    void disable_intx(bool disabled);

private:
    ConfigSpace* m_config;
    Device* m_device;
};

struct Driver {
    const char* name;
    Match match;
    kernel::Result<void, ProbeError> (*probe)(Function& function);
};

struct BindReport {
    std::size_t bound = 0;
    std::size_t failed = 0;
    std::size_t unclaimed = 0;
};

// Offers each device to the matching drivers in order; records who took it in the device.
BindReport bind_drivers(ConfigSpace& config, std::span<Device> devices, std::span<const Driver> drivers);

// The drivers the linker gathered (kernel only: pci.cpp reads the section's bounds).
std::span<const Driver> registered_drivers();

}  // namespace pci

#define PCI_DRIVER_CONCAT2(a, b) a##b
#define PCI_DRIVER_CONCAT(a, b) PCI_DRIVER_CONCAT2(a, b)
// Registers a driver: PCI_DRIVER(name, match, probe). `name` is an identifier; it also
// names the driver in the device table.
#define PCI_DRIVER(name, ...)                                                                                  \
    [[gnu::used, gnu::section(".pci_drivers"), gnu::aligned(8)]] static const ::pci::Driver PCI_DRIVER_CONCAT( \
        pci_driver_, name) = {#name, __VA_ARGS__}
