#include "pci/port_config_space.hpp"

#include <algorithm>
#include <array>

#include "kernel/cpu.hpp"

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

std::uint16_t data_port(std::uint16_t offset) { return static_cast<std::uint16_t>(k_config_data + (offset & 3u)); }

}  // namespace

// The data port is CFC plus the offset's low two bits.
std::uint32_t PortConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) return kernel::cpu::in(port, width);
    m_selected = selector;
    return kernel::cpu::select_and_read(k_config_address, selector, port, width);
}

void PortConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) {
        kernel::cpu::out(port, width, value);
        return;
    }
    m_selected = selector;
    kernel::cpu::select_and_write(k_config_address, selector, port, width, value);
}

// The whole batch through one gate: CF8, then CFC, for each access.
void PortConfigSpace::run_raw(std::span<ConfigOp> ops) {
    constexpr std::size_t k_chunk = 32;
    std::array<kernel::cpu::SelectOp, k_chunk> batch;
    for (std::size_t start = 0; start < ops.size(); start += k_chunk) {
        std::size_t n = std::min(k_chunk, ops.size() - start);
        for (std::size_t i = 0; i < n; ++i) {
            const ConfigOp& op = ops[start + i];
            batch[i] = {config_address(op.address, op.offset), data_port(op.offset), op.width, op.write, op.value, 0};
        }
        m_selected = batch[n - 1].index;
        kernel::cpu::select_list(k_config_address, std::span(batch).first(n));
        for (std::size_t i = 0; i < n; ++i) {
            if (!ops[start + i].write) ops[start + i].value = batch[i].value;
        }
    }
}

}  // namespace pci
