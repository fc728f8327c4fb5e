#pragma once
// The local APIC's registers as typed constants (Intel SDM vol. 3A ch. 11). Portable: no
// hardware access here, only where each register is and what its fields mean.

#include <cstdint>

#include "kernel/register_field.hpp"

namespace apic {

using Field = kernel::RegisterField;

enum class Access : std::uint8_t { ReadOnly, WriteOnly, ReadWrite };

// A 32-bit local APIC register, named by its xAPIC MMIO offset (SDM vol. 3A §11.4.1,
// table 11-1). In x2APIC mode the same register is MSR 0x800 + offset / 16 (§11.12.1.2,
// table 11-6).
struct LocalApicRegister {
    std::uint16_t offset;
    Access access;
};

constexpr std::uint32_t k_x2apic_msr_base = 0x800;
constexpr std::uint32_t x2apic_msr(LocalApicRegister r) { return k_x2apic_msr_base + r.offset / 16u; }

namespace lapic {

constexpr LocalApicRegister k_id{0x020, Access::ReadOnly};  // writable in xAPIC mode; we never move it
constexpr LocalApicRegister k_version{0x030, Access::ReadOnly};
constexpr LocalApicRegister k_task_priority{0x080, Access::ReadWrite};
constexpr LocalApicRegister k_eoi{0x0B0, Access::WriteOnly};
constexpr LocalApicRegister k_spurious{0x0F0, Access::ReadWrite};
constexpr LocalApicRegister k_error_status{0x280, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_cmci{0x2F0, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_timer{0x320, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_thermal{0x330, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_performance{0x340, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_lint0{0x350, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_lint1{0x360, Access::ReadWrite};
constexpr LocalApicRegister k_lvt_error{0x370, Access::ReadWrite};
constexpr LocalApicRegister k_timer_initial_count{0x380, Access::ReadWrite};
constexpr LocalApicRegister k_timer_current_count{0x390, Access::ReadOnly};
constexpr LocalApicRegister k_timer_divide{0x3E0, Access::ReadWrite};

static_assert(x2apic_msr(k_eoi) == 0x80B && x2apic_msr(k_timer_divide) == 0x83E);  // table 11-6

// §11.4.8, figure 11-7.
namespace version {
constexpr Field k_version{0, 8};
constexpr Field k_max_lvt_entry{16, 8};  // the number of LVT entries minus one
}  // namespace version

// §11.9, figure 11-23: spurious-interrupt vector register.
namespace spurious {
constexpr Field k_vector{0, 8};
constexpr Field k_software_enable{8, 1};
}  // namespace spurious

// §11.5.1, figure 11-8: local vector table entries.
namespace lvt {
constexpr Field k_vector{0, 8};
constexpr Field k_delivery_mode{8, 3};
constexpr Field k_active_low{13, 1};       // LINT0/LINT1 only
constexpr Field k_level_triggered{15, 1};  // LINT0/LINT1 only, and only with fixed delivery
constexpr Field k_masked{16, 1};
constexpr Field k_timer_mode{17, 2};  // the timer entry only (§11.5.4)

constexpr std::uint32_t k_delivery_fixed = 0b000;
constexpr std::uint32_t k_delivery_nmi = 0b100;
constexpr std::uint32_t k_delivery_extint = 0b111;

constexpr std::uint32_t k_timer_one_shot = 0b00;
constexpr std::uint32_t k_timer_periodic = 0b01;
constexpr std::uint32_t k_timer_tsc_deadline = 0b10;

// Number of LVT entries (max LVT entry + 1) needed before an optional entry exists (§11.5.1).
constexpr std::uint32_t k_entries_with_performance = 5;
constexpr std::uint32_t k_entries_with_thermal = 6;
constexpr std::uint32_t k_entries_with_cmci = 7;
}  // namespace lvt

// §11.5.4, figure 11-10: divide configuration; bits 0, 1 and 3 encode the divisor.
namespace divide {
constexpr std::uint32_t k_by_1 = 0b1011;
}

}  // namespace lapic

// Model-specific registers that belong with the local APIC.
namespace msr {
constexpr std::uint32_t k_apic_base = 0x1B;                      // IA32_APIC_BASE, §11.4.4, figure 11-5
constexpr std::uint64_t k_apic_base_x2apic_enable = 1ull << 10;  // EXTD
constexpr std::uint64_t k_apic_base_global_enable = 1ull << 11;  // EN
constexpr std::uint64_t k_apic_base_address_mask = 0x000F'FFFF'FFFF'F000ull;
constexpr std::uint32_t k_tsc_deadline = 0x6E0;  // IA32_TSC_DEADLINE, §11.5.4.1
}  // namespace msr

}  // namespace apic
