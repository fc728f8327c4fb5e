#include "pci/device.hpp"

#include "pci/registers.hpp"

namespace pci {

bool Device::is_bridge() const { return header_layout == header_type::k_bridge; }

bool Device::is_host_bridge() const {
    return class_code == class_code::k_bridge && subclass == class_code::k_subclass_host_bridge;
}

bool Device::decodes(std::uint16_t command) { return (command & (command::k_io_space | command::k_memory_space)) != 0; }

Device* DeviceTable::find(Address address) {
    for (auto& device : all()) {
        if (device.address == address) return &device;
    }
    return nullptr;
}

const char* class_name(std::uint8_t class_code, std::uint8_t subclass) {
    // PCI Code and ID Assignment 1.11 §1.
    switch (class_code) {
        case 0x00: return "unclassified";
        case 0x01:
            switch (subclass) {
                case 0x01: return "IDE";
                case 0x06: return "SATA";
                case 0x08: return "NVM";
                default: return "storage";
            }
        case 0x02: return subclass == 0x00 ? "ethernet" : "network";
        case 0x03: return "display";
        case 0x04: return "multimedia";
        case 0x05: return "memory";
        case 0x06:
            switch (subclass) {
                case 0x00: return "host bridge";
                case 0x01: return "ISA bridge";
                case 0x04: return "PCI bridge";
                default: return "bridge";
            }
        case 0x07: return "communication";
        case 0x08: return "system";
        case 0x0C: return subclass == 0x05 ? "SMBus" : "serial bus";
        case 0xFF: return "unassigned";
        default: return "other";
    }
}

}  // namespace pci
