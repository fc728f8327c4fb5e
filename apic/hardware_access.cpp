#include "apic/hardware_access.hpp"

#include "kernel/cpu.hpp"

namespace apic {
namespace {
constexpr std::size_t k_ioregsel = 0x00;
constexpr std::size_t k_iowin = 0x10;
}  // namespace

void X2ApicMsrAccess::enter(std::uint64_t apic_base) {
    // §11.12.1: EXTD set (with EN) switches to x2APIC mode.
    if ((apic_base & msr::k_apic_base_x2apic_enable) == 0)
        kernel::cpu::wrmsr(msr::k_apic_base, apic_base | msr::k_apic_base_x2apic_enable);
    m_id = static_cast<std::uint32_t>(kernel::cpu::rdmsr(x2apic_msr(lapic::k_id)));
    m_version = static_cast<std::uint32_t>(kernel::cpu::rdmsr(x2apic_msr(lapic::k_version)));
    m_read_only_known = true;
}

std::uint32_t X2ApicMsrAccess::read(LocalApicRegister reg) {
    if (m_read_only_known && reg.offset == lapic::k_id.offset) return m_id;
    if (m_read_only_known && reg.offset == lapic::k_version.offset) return m_version;
    // Every register this kernel uses is 32 bits wide; only the ICR (unused) has 64.
    return static_cast<std::uint32_t>(kernel::cpu::rdmsr(x2apic_msr(reg)));
}

// Posted, as an xAPIC's MMIO store is: every register this kernel writes is 32 bits.
void X2ApicMsrAccess::write(LocalApicRegister reg, std::uint32_t value) {
    kernel::cpu::wrmsr_posted(x2apic_msr(reg), value);
}

std::uint32_t XApicMmioAccess::read(LocalApicRegister reg) { return m_window.read<std::uint32_t>(reg.offset); }

void XApicMmioAccess::write(LocalApicRegister reg, std::uint32_t value) {
    m_window.write<std::uint32_t>(reg.offset, value);
}

std::uint32_t IoApicMmioAccess::read(std::uint8_t index) {
    m_window.write<std::uint32_t>(k_ioregsel, index);
    return m_window.read<std::uint32_t>(k_iowin);
}

void IoApicMmioAccess::write(std::uint8_t index, std::uint32_t value) {
    m_window.write<std::uint32_t>(k_ioregsel, index);
    m_window.write<std::uint32_t>(k_iowin, value);
}

}  // namespace apic
