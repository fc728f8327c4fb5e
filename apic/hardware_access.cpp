#include "apic/hardware_access.hpp"

#include <algorithm>
#include <array>

#include "kernel/cpu.hpp"

namespace apic {
namespace {
constexpr std::size_t k_ioregsel = 0x00;
constexpr std::size_t k_iowin = 0x10;
}  // namespace

void X2ApicMsrAccess::enter(std::uint64_t apic_base) {
    std::array<kernel::cpu::MsrOp, 3> ops;
    std::size_t count = 0;
    if ((apic_base & msr::k_apic_base_x2apic_enable) == 0)
        ops[count++] = kernel::cpu::MsrOp::write(msr::k_apic_base, apic_base | msr::k_apic_base_x2apic_enable);
    ops[count++] = kernel::cpu::MsrOp::read_of(x2apic_msr(lapic::k_id));
    ops[count++] = kernel::cpu::MsrOp::read_of(x2apic_msr(lapic::k_version));
    kernel::cpu::msr_list(std::span(ops).first(count));
    m_id = static_cast<std::uint32_t>(ops[count - 2].value);
    m_version = static_cast<std::uint32_t>(ops[count - 1].value);
    m_read_only_known = true;
}

std::uint32_t X2ApicMsrAccess::read(LocalApicRegister reg) {
    if (m_read_only_known && reg.offset == lapic::k_id.offset) return m_id;
    if (m_read_only_known && reg.offset == lapic::k_version.offset) return m_version;
    // Every register this kernel uses is 32 bits wide; only the ICR (unused) has 64.
    return static_cast<std::uint32_t>(kernel::cpu::rdmsr(x2apic_msr(reg)));
}

void X2ApicMsrAccess::write(LocalApicRegister reg, std::uint32_t value) { kernel::cpu::wrmsr(x2apic_msr(reg), value); }

void X2ApicMsrAccess::write_list(std::span<const Write> writes) {
    std::array<kernel::cpu::MsrOp, 16> batch;
    while (!writes.empty()) {
        std::size_t count = std::min(writes.size(), batch.size());
        for (std::size_t i = 0; i < count; ++i)
            batch[i] = kernel::cpu::MsrOp::write(x2apic_msr(writes[i].reg), writes[i].value);
        kernel::cpu::msr_list(std::span(batch).first(count));
        writes = writes.subspan(count);
    }
}

std::uint32_t XApicMmioAccess::read(LocalApicRegister reg) { return m_window.read<std::uint32_t>(reg.offset); }

void XApicMmioAccess::write(LocalApicRegister reg, std::uint32_t value) {
    m_window.write<std::uint32_t>(reg.offset, value);
}

void XApicMmioAccess::write_list(std::span<const Write> writes) {
    kernel::mmio::Batch batch;  // the stores run in ring 0 together (kernel/mmio.hpp)
    LocalApicAccess::write_list(writes);
}

std::uint32_t IoApicMmioAccess::read(std::uint8_t index) {
    m_window.write<std::uint32_t>(k_ioregsel, index);
    return m_window.read<std::uint32_t>(k_iowin);
}

void IoApicMmioAccess::write(std::uint8_t index, std::uint32_t value) {
    m_window.write<std::uint32_t>(k_ioregsel, index);
    m_window.write<std::uint32_t>(k_iowin, value);
}

void IoApicMmioAccess::write_list(std::span<const Write> writes) {
    kernel::mmio::Batch batch;
    IoApicAccess::write_list(writes);
}

}  // namespace apic
