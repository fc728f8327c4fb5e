#include "pci/port_config_space.hpp"

#include <algorithm>
#include <array>

#include "kernel/cpu.hpp"
#include "kernel/gates/gate.hpp"

namespace pci {
namespace {

constexpr std::uint16_t k_config_address = 0xCF8;
constexpr std::uint16_t k_config_data = 0xCFC;

// §3.2.2.3.2, figure 3-2: enable bit, bus, device, function, dword-aligned register.
constexpr std::uint32_t k_enable = 1u << 31;

std::uint32_t config_address(Address address, std::uint16_t offset) {
    return k_enable | std::uint32_t{address.bus} << 16 | std::uint32_t{address.device} << 11 |
           std::uint32_t{address.function} << 8 | (offset & 0xFCu);
}

// The data port is CFC plus the offset's low two bits.
std::uint16_t data_port(std::uint16_t offset) { return static_cast<std::uint16_t>(k_config_data + (offset & 3u)); }

kernel::gates::DeviceAccess as_device_access(Address address, std::uint16_t offset, unsigned width, bool load,
                                             std::uint32_t value = 0) {
    return kernel::gates::DeviceAccess::select(k_config_address, config_address(address, offset), data_port(offset),
                                               static_cast<std::uint8_t>(width), load, value);
}

}  // namespace

std::uint32_t PortConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    std::uint32_t selector = config_address(address, offset);
    if (kernel::gates::gated() && !kernel::gates::g_deferred.empty()) {
        m_selected = selector;
        return kernel::gates::load_after_deferred(as_device_access(address, offset, width, true));
    }
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) return kernel::cpu::in(port, width);
    m_selected = selector;
    return kernel::cpu::select_and_read(k_config_address, selector, port, width);
}

void PortConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    std::uint32_t selector = config_address(address, offset);
    if (kernel::gates::gated()) {
        // Waits with the other device stores (kernel/gates/deferred.hpp); the index port
        // is written again in the gate, which QEMU does not exit for.
        m_selected = selector;
        kernel::gates::defer_store(as_device_access(address, offset, width, false, value));
        return;
    }
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) {
        kernel::cpu::out(port, width, value);
        return;
    }
    m_selected = selector;
    kernel::cpu::select_and_write(k_config_address, selector, port, width, value);
}

// Where gated, CF8 then CFC for each read, all in one gate (after the stores that wait).
void PortConfigSpace::read_each_raw(std::span<ConfigRead> reads) {
    if (reads.empty()) return;
    if (!kernel::gates::gated()) {
        ConfigSpace::read_each_raw(reads);
        return;
    }
    kernel::gates::flush_deferred();
    constexpr std::size_t k_chunk = 32;
    std::array<kernel::gates::DeviceAccess, k_chunk> loads;
    for (std::size_t start = 0; start < reads.size(); start += k_chunk) {
        std::size_t n = std::min(k_chunk, reads.size() - start);
        for (std::size_t i = 0; i < n; ++i) {
            const ConfigRead& read = reads[start + i];
            loads[i] = as_device_access(read.address, read.offset, read.width, true);
        }
        kernel::gates::run_device_list(std::span(loads).first(n));
        for (std::size_t i = 0; i < n; ++i) reads[start + i].value = loads[i].value;
    }
    m_selected = config_address(reads.back().address, reads.back().offset);
}

}  // namespace pci
