#pragma once
// The local APIC (Intel SDM vol. 3A ch. 11), in xAPIC or x2APIC mode. Portable: registers
// are reached through a LocalApicAccess (MMIO or MSRs on the machine, a fake in host
// tests), so the bring-up sequence and the timer programming are tested on the host.

#include <cstdint>
#include <span>

#include "apic/local_apic_registers.hpp"

namespace apic {

class LocalApicAccess {
public:
    virtual std::uint32_t read(LocalApicRegister reg) = 0;
    virtual void write(LocalApicRegister reg, std::uint32_t value) = 0;
    // x2APIC mode: the ID register holds all 32 bits of the ID (§11.12.5.1).
    [[nodiscard]] virtual bool x2apic() const = 0;

protected:
    LocalApicAccess() = default;
    LocalApicAccess(const LocalApicAccess&) = default;
    LocalApicAccess& operator=(const LocalApicAccess&) = default;
    ~LocalApicAccess() = default;
};

// How a LINT pin is wired, from the MADT's local APIC NMI entries (ACPI 6.5 §5.2.12.7).
struct LintNmi {
    std::uint8_t lint;  // 0 or 1
    bool active_low;
};

class LocalApic {
public:
    explicit LocalApic(LocalApicAccess& access) : m_access(&access) {}

    // Software-enables the APIC (§11.4.3) with the given spurious vector (§11.9), accepts
    // every priority (TPR 0, §11.8.3.1), masks LINT0 (the 8259's ExtINT path: the PICs
    // must never deliver), sets the LINT pins the firmware names as NMIs, sends internal
    // errors to error_vector (§11.5.3) and clears the error status. Masks the timer and
    // the optional thermal, performance and CMCI entries.
    void enable(std::uint8_t spurious_vector, std::uint8_t error_vector, std::span<const LintNmi> nmis);

    [[nodiscard]] std::uint32_t id();
    [[nodiscard]] std::uint8_t version();
    [[nodiscard]] std::uint32_t lvt_entries();
    // §11.8.5: a write of 0 to the EOI register (a non-zero write faults in x2APIC mode).
    void eoi();
    // §11.5.3: a write latches the errors seen since the last one, then the read returns them.
    std::uint32_t take_errors();

    // The timer (§11.5.4). TSC-deadline mode: the deadline itself goes to IA32_TSC_DEADLINE,
    // an MSR outside the APIC's register set. One-shot mode counts down from the initial
    // count at the APIC timer's frequency (divide by 1) and stops at zero.
    void timer_tsc_deadline_mode(std::uint8_t vector);
    void timer_one_shot_mode(std::uint8_t vector, bool masked);
    void timer_start(std::uint32_t count);  // 0 stops the timer
    void timer_stop() { timer_start(0); }
    [[nodiscard]] std::uint32_t timer_current();

private:
    template <LocalApicRegister R>
    std::uint32_t read() {
        static_assert(R.access != Access::WriteOnly, "a write-only local APIC register");
        return m_access->read(R);
    }
    template <LocalApicRegister R>
    void write(std::uint32_t value) {
        static_assert(R.access != Access::ReadOnly, "a read-only local APIC register");
        m_access->write(R, value);
    }

    LocalApicAccess* m_access;
};

}  // namespace apic
