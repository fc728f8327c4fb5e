#include "pci/driver.hpp"

#include "pci/registers.hpp"

namespace pci {

bool Match::matches(const Device& device) const {
    if (vendor != k_any_vendor &&
        (device.vendor_id != vendor || device.device_id < device_first || device.device_id > device_last)) {
        return false;
    }
    return (device.class_triplet() & class_mask) == (class_triplet & class_mask);
}

void Function::enable(bool memory, bool io, bool bus_master) {
    std::uint16_t value = m_config->read(address(), regs::k_command);
    if (memory) value |= command::k_memory_space;
    if (io) value |= command::k_io_space;
    if (bus_master) value |= command::k_bus_master;
    m_config->write(address(), regs::k_command, value);
}

void Function::disable_intx(bool disabled) {
    std::uint16_t value = m_config->read(address(), regs::k_command);
    value = disabled ? value | command::k_interrupt_disable
                     : static_cast<std::uint16_t>(value & ~command::k_interrupt_disable);
    m_config->write(address(), regs::k_command, value);
}

BindReport bind_drivers(ConfigSpace& config, std::span<Device> devices, std::span<const Driver> drivers) {
    BindReport report;
    for (Device& device : devices) {
        device.driver = nullptr;
        device.driver_name = nullptr;
        device.driver_state = DriverState::None;
        for (const Driver& driver : drivers) {
            if (driver.probe == nullptr || !driver.match.matches(device)) continue;
            Function function(config, device);
            auto result = driver.probe(function);
            if (!result && result.error() == ProbeError::NotMine) {
                device.driver_name = nullptr;
                continue;
            }
            device.driver = &driver;
            if (device.driver_name == nullptr) device.driver_name = driver.name;
            device.driver_state = result ? DriverState::Bound : DriverState::Failed;
            break;
        }
        if (device.driver_state == DriverState::Bound)
            ++report.bound;
        else if (device.driver_state == DriverState::Failed)
            ++report.failed;
        else
            ++report.unclaimed;
    }
    return report;
}

}  // namespace pci
