#include "apic/local_apic.hpp"

namespace apic {

using namespace lapic;

void LocalApic::enable(std::uint8_t spurious_vector, std::uint8_t error_vector, std::span<const LintNmi> nmis) {
    // Intel SDM vol. 3A §11.4.7.1 (software enable), §11.5.1 (the LVT), §11.5.3 (errors).
    const std::uint32_t entries = lvt_entries();
    write<k_task_priority>(0);
    // Written whole rather than updated: a firmware's EOI-broadcast suppression (bit 12)
    // would leave level-triggered I/O APIC inputs waiting for an EOI that never comes.
    write<k_spurious>(spurious::k_software_enable.with(spurious::k_vector.with(0, spurious_vector), 1));

    const std::uint32_t masked = lvt::k_masked.with(0, 1);
    write<k_lvt_timer>(masked);
    write<k_lvt_lint0>(masked);
    write<k_lvt_lint1>(masked);
    for (const auto& nmi : nmis) {
        // NMIs are always edge triggered; only the polarity comes from the wiring (§11.5.1).
        std::uint32_t value = lvt::k_delivery_mode.with(0, lvt::k_delivery_nmi);
        value = lvt::k_active_low.with(value, nmi.active_low ? 1 : 0);
        if (nmi.lint == 0)
            write<k_lvt_lint0>(value);
        else if (nmi.lint == 1)
            write<k_lvt_lint1>(value);
    }
    if (entries >= lvt::k_entries_with_performance) write<k_lvt_performance>(masked);
    if (entries >= lvt::k_entries_with_thermal) write<k_lvt_thermal>(masked);
    if (entries >= lvt::k_entries_with_cmci) write<k_lvt_cmci>(masked);

    write<k_lvt_error>(lvt::k_vector.with(0, error_vector));
    // Twice: the first write latches errors from before the error entry was set, the
    // second clears them (as Linux's setup_local_APIC does).
    write<k_error_status>(0);
    write<k_error_status>(0);
}

std::uint32_t LocalApic::id() {
    std::uint32_t value = read<k_id>();
    // xAPIC: the ID is bits 31:24 (§11.4.6); x2APIC: the whole register (§11.12.5.1).
    return m_access->x2apic() ? value : value >> 24;
}

std::uint8_t LocalApic::version() { return static_cast<std::uint8_t>(version::k_version.get(read<k_version>())); }

std::uint32_t LocalApic::lvt_entries() { return version::k_max_lvt_entry.get(read<k_version>()) + 1; }

void LocalApic::eoi() { write<k_eoi>(0); }

std::uint32_t LocalApic::take_errors() {
    write<k_error_status>(0);
    return read<k_error_status>();
}

void LocalApic::timer_tsc_deadline_mode(std::uint8_t vector) {
    std::uint32_t value = lvt::k_vector.with(0, vector);
    write<k_lvt_timer>(lvt::k_timer_mode.with(value, lvt::k_timer_tsc_deadline));
}

void LocalApic::timer_one_shot_mode(std::uint8_t vector, bool masked) {
    write<k_timer_initial_count>(0);
    write<k_timer_divide>(divide::k_by_1);
    std::uint32_t value = lvt::k_vector.with(0, vector);
    value = lvt::k_masked.with(value, masked ? 1 : 0);
    write<k_lvt_timer>(lvt::k_timer_mode.with(value, lvt::k_timer_one_shot));
}

void LocalApic::timer_start(std::uint32_t count) { write<k_timer_initial_count>(count); }

std::uint32_t LocalApic::timer_current() { return read<k_timer_current_count>(); }

}  // namespace apic
