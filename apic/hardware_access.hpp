#pragma once
// The machine's side of the APIC access objects: x2APIC registers as MSRs, xAPIC and I/O
// APIC registers through MMIO. Kernel only; host tests use fakes of the same interfaces.

#include <cstdint>

#include "apic/io_apic.hpp"
#include "apic/local_apic.hpp"
#include "kernel/mmio.hpp"

namespace apic {

// SDM vol. 3A §11.12.1.2: in x2APIC mode each register is an MSR, 0x800 + offset / 16.
class X2ApicMsrAccess final : public LocalApicAccess {
public:
    // Enters x2APIC mode (IA32_APIC_BASE as read: its EXTD bit is set here when clear) and
    // reads the ID and version registers; read() answers those two from then on (they are
    // read-only, and each MSR read may be a gate: kernel/gates/).
    void enter(std::uint64_t apic_base);
    std::uint32_t read(LocalApicRegister reg) override;
    void write(LocalApicRegister reg, std::uint32_t value) override;
    [[nodiscard]] bool x2apic() const override { return true; }

private:
    std::uint32_t m_id = 0;
    std::uint32_t m_version = 0;
    bool m_read_only_known = false;
};

// SDM vol. 3A §11.4.1: in xAPIC mode the registers are 16-byte aligned 32-bit words in a
// 4 KiB page at IA32_APIC_BASE's address.
class XApicMmioAccess final : public LocalApicAccess {
public:
    XApicMmioAccess() = default;
    explicit XApicMmioAccess(kernel::MmioWindow window) : m_window(window) {}
    std::uint32_t read(LocalApicRegister reg) override;
    void write(LocalApicRegister reg, std::uint32_t value) override;
    [[nodiscard]] bool x2apic() const override { return false; }

private:
    kernel::MmioWindow m_window;
};

// 82093AA §3.1: IOREGSEL at offset 0 picks a register, IOWIN at offset 0x10 reads or
// writes it. Both take 32-bit accesses.
class IoApicMmioAccess final : public IoApicAccess {
public:
    static constexpr std::uint64_t k_window_size = 0x20;

    IoApicMmioAccess() = default;
    explicit IoApicMmioAccess(kernel::MmioWindow window) : m_window(window) {}
    std::uint32_t read(std::uint8_t index) override;
    void write(std::uint8_t index, std::uint32_t value) override;

private:
    kernel::MmioWindow m_window;
};

}  // namespace apic
