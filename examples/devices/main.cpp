// Shows what PCI enumeration found and what became of each virtio device. The device table
// itself is printed at boot by the PCI layer; this prints each virtio device's status as
// it is now and, with check=1, drives one buffer through each device and waits for its
// interrupt (interrupt_check.cpp).
//
//   check=1     exercise the queues and interrupts of net and balloon devices
//   expect=N    exit 1 unless N virtio devices reached DRIVER_OK

#include <cstdint>

#include "examples/devices/interrupt_check.hpp"
#include "kernel/kernel.hpp"
#include "pci/pci.hpp"
#include "virtio/features.hpp"
#include "virtio/virtio.hpp"

int main() {
    const auto& options = kernel::command_line();
    kernel::println("devices: {} PCI functions, configuration space through {}", pci::devices().size(),
                    pci::config_access_name());
    std::uint64_t running = 0;
    bool checks_passed = true;
    for (const virtio::DeviceInfo& info : virtio::devices()) {
        std::uint8_t status = info.device != nullptr ? info.device->status() : 0;
        std::uint64_t features = info.device != nullptr ? info.device->features() : 0;
        kernel::println("devices: {} {}: {}, status {:#04x} {}, features {:#x}", info.driver, info.address,
                        virtio::to_string(info.transport), status, virtio::describe_status(status), features);
        if (!info.running) continue;
        ++running;
        if (options.get_bool("check").value_or(false) && !devices::check_interrupts(info)) checks_passed = false;
    }
    kernel::println("devices: {} of {} virtio devices at DRIVER_OK", running, virtio::devices().size());
    if (!checks_passed) return 1;
    if (auto expected = options.get_u64("expect"); expected && *expected != running) return 1;
    return 0;
}
