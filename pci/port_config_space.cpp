#include "pci/port_config_space.hpp"

#include <algorithm>
#include <array>

#include "kernel/cpu.hpp"
#include "kernel/mmio.hpp"

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

// Inside a kernel::mmio::Batch, in ring 3, accesses join the queue of device accesses
// (kernel/mmio.hpp): a write waits there, in order with MMIO stores, for the next read or
// gate, and a read runs what is queued in its own gate.
bool queueing() { return kernel::MmioWindow::g_batch_depth != 0 && !kernel::cpu::in_ring0(); }

kernel::cpu::MmioOp as_device_op(const ConfigOp& op) {
    return kernel::cpu::MmioOp::select(k_config_address, config_address(op.address, op.offset), data_port(op.offset),
                                       op.width, !op.write, op.value);
}

}  // namespace

// The data port is CFC plus the offset's low two bits.
std::uint32_t PortConfigSpace::read_raw(Address address, std::uint16_t offset, unsigned width) {
    if (queueing() && kernel::cpu::mmio_queued != 0) {
        ConfigOp op = ConfigOp::read(address, offset, static_cast<std::uint8_t>(width));
        run_raw({&op, 1});
        return op.value;
    }
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) return kernel::cpu::in(port, width);
    m_selected = selector;
    return kernel::cpu::select_and_read(k_config_address, selector, port, width);
}

void PortConfigSpace::write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) {
    if (queueing()) {
        ConfigOp op = ConfigOp::write_value(address, offset, value, static_cast<std::uint8_t>(width));
        run_raw({&op, 1});
        return;
    }
    std::uint32_t selector = config_address(address, offset);
    std::uint16_t port = data_port(offset);
    if (selector == m_selected) {
        kernel::cpu::out(port, width, value);
        return;
    }
    m_selected = selector;
    kernel::cpu::select_and_write(k_config_address, selector, port, width, value);
}

// The whole batch as one device list: CF8, then CFC, for each access. Inside a Batch in
// ring 3 it joins the queue (cpu::queue_list); otherwise the queue is empty and the list
// runs at once (one gate from ring 3).
void PortConfigSpace::run_raw(std::span<ConfigOp> ops) {
    if (ops.empty()) return;
    const bool queue = queueing();
    constexpr std::size_t k_chunk = 32;
    std::array<kernel::cpu::MmioOp, k_chunk> batch;
    for (std::size_t start = 0; start < ops.size(); start += k_chunk) {
        std::size_t n = std::min(k_chunk, ops.size() - start);
        for (std::size_t i = 0; i < n; ++i) batch[i] = as_device_op(ops[start + i]);
        if (queue)
            kernel::cpu::queue_list(std::span(batch).first(n));
        else
            kernel::cpu::run_mmio(std::span(batch).first(n));
        for (std::size_t i = 0; i < n; ++i) {
            if (!ops[start + i].write) ops[start + i].value = batch[i].value;
        }
    }
    m_selected = config_address(ops.back().address, ops.back().offset);
}

}  // namespace pci
