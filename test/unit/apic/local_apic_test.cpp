#include "apic/local_apic.hpp"

#include <catch2/catch.hpp>

#include "test/unit/apic/fake_apic_access.hpp"

using namespace apic;
using apic::test::FakeLocalApic;

namespace {

constexpr std::uint32_t k_masked = 1u << 16;

FakeLocalApic with_version(std::uint32_t lvt_entries, bool x2apic = true) {
    FakeLocalApic fake(x2apic);
    fake.registers[lapic::k_version.offset] = ((lvt_entries - 1) << 16) | 0x14;
    fake.registers[lapic::k_spurious.offset] = 0x100F;  // disabled, vector 0x0F, EOI broadcast suppressed
    return fake;
}

}  // namespace

TEST_CASE("local apic: x2APIC MSRs are 0x800 + offset / 16 (SDM table 11-6)") {
    CHECK(x2apic_msr(lapic::k_id) == 0x802);
    CHECK(x2apic_msr(lapic::k_version) == 0x803);
    CHECK(x2apic_msr(lapic::k_task_priority) == 0x808);
    CHECK(x2apic_msr(lapic::k_eoi) == 0x80B);
    CHECK(x2apic_msr(lapic::k_spurious) == 0x80F);
    CHECK(x2apic_msr(lapic::k_error_status) == 0x828);
    CHECK(x2apic_msr(lapic::k_lvt_cmci) == 0x82F);
    CHECK(x2apic_msr(lapic::k_lvt_timer) == 0x832);
    CHECK(x2apic_msr(lapic::k_lvt_lint0) == 0x835);
    CHECK(x2apic_msr(lapic::k_lvt_lint1) == 0x836);
    CHECK(x2apic_msr(lapic::k_lvt_error) == 0x837);
    CHECK(x2apic_msr(lapic::k_timer_initial_count) == 0x838);
    CHECK(x2apic_msr(lapic::k_timer_current_count) == 0x839);
    CHECK(x2apic_msr(lapic::k_timer_divide) == 0x83E);
}

TEST_CASE("local apic: fields") {
    CHECK(lapic::lvt::k_timer_mode.mask() == 0x00060000);
    CHECK(lapic::lvt::k_timer_mode.with(0xFFFFFFFF, lapic::lvt::k_timer_tsc_deadline) == 0xFFFDFFFF);
    CHECK(lapic::lvt::k_vector.with(0x10000, 0x1F0) == 0x100F0);  // a value wider than the field is cut
    CHECK(lapic::version::k_max_lvt_entry.get(0x00050014) == 5);
    CHECK(Field{0, 32}.mask() == 0xFFFFFFFF);
}

TEST_CASE("local apic: enable sets the spurious vector, TPR, LINT pins and the error entry") {
    auto fake = with_version(6);
    LocalApic local_apic(fake);
    const LintNmi nmis[] = {{1, false}};
    local_apic.enable(0xFF, 0xFE, nmis);

    CHECK(fake.registers[lapic::k_task_priority.offset] == 0);
    CHECK(fake.registers[lapic::k_spurious.offset] == 0x1FF);  // software enable, vector 0xFF, nothing else
    CHECK(fake.registers[lapic::k_lvt_lint0.offset] == k_masked);
    CHECK(fake.registers[lapic::k_lvt_lint1.offset] == 0x400);  // NMI delivery, edge, active high, unmasked
    CHECK(fake.registers[lapic::k_lvt_timer.offset] == k_masked);
    CHECK(fake.registers[lapic::k_lvt_error.offset] == 0xFE);
    CHECK(fake.registers[lapic::k_lvt_performance.offset] == k_masked);
    CHECK(fake.registers[lapic::k_lvt_thermal.offset] == k_masked);
    CHECK(fake.writes_to(lapic::k_lvt_cmci).empty());  // 6 entries: no CMCI entry to touch
    CHECK(fake.writes_to(lapic::k_error_status).size() == 2);
    // The TPR goes down before the APIC is enabled, and the error entry is set before the
    // error status is cleared.
    CHECK(fake.writes.front().offset == lapic::k_task_priority.offset);
    CHECK(fake.writes.back().offset == lapic::k_error_status.offset);
}

TEST_CASE("local apic: NMI pins from the MADT, and only the optional entries that exist") {
    auto fake = with_version(4);
    LocalApic local_apic(fake);
    const LintNmi nmis[] = {{0, true}, {7, false}};  // LINT 7 does not exist: ignored
    local_apic.enable(0xFF, 0xFE, nmis);
    CHECK(fake.registers[lapic::k_lvt_lint0.offset] == (0x400 | 1u << 13));
    CHECK(fake.registers[lapic::k_lvt_lint1.offset] == k_masked);
    CHECK(fake.writes_to(lapic::k_lvt_performance).empty());
    CHECK(fake.writes_to(lapic::k_lvt_thermal).empty());

    auto seven = with_version(7);
    LocalApic nehalem(seven);
    nehalem.enable(0xFF, 0xFE, {});
    CHECK(seven.registers[lapic::k_lvt_cmci.offset] == k_masked);
    CHECK(nehalem.lvt_entries() == 7);
    CHECK(nehalem.version() == 0x14);
}

TEST_CASE("local apic: the ID is the whole register in x2APIC mode, bits 31:24 in xAPIC mode") {
    FakeLocalApic x2(true);
    x2.registers[lapic::k_id.offset] = 0x1234;
    CHECK(LocalApic(x2).id() == 0x1234);
    FakeLocalApic x1(false);
    x1.registers[lapic::k_id.offset] = 0x05000000;
    CHECK(LocalApic(x1).id() == 5);
}

TEST_CASE("local apic: EOI writes 0; errors are latched by a write, then read") {
    FakeLocalApic fake;
    LocalApic local_apic(fake);
    local_apic.eoi();
    REQUIRE(fake.writes.size() == 1);
    CHECK(fake.writes[0] == FakeLocalApic::Write{lapic::k_eoi.offset, 0});

    fake.registers[lapic::k_error_status.offset] = 0x80;  // the fake keeps what was written: 0
    CHECK(local_apic.take_errors() == 0);
    CHECK(fake.writes.back().offset == lapic::k_error_status.offset);
}

TEST_CASE("local apic: timer modes") {
    FakeLocalApic fake;
    LocalApic local_apic(fake);
    local_apic.timer_tsc_deadline_mode(0xF0);
    CHECK(fake.registers[lapic::k_lvt_timer.offset] == (0xF0u | 2u << 17));

    fake.writes.clear();
    local_apic.timer_one_shot_mode(0xF0, false);
    CHECK(fake.registers[lapic::k_lvt_timer.offset] == 0xF0);
    CHECK(fake.registers[lapic::k_timer_divide.offset] == 0b1011);  // divide by 1
    // The old count is stopped before the mode changes.
    CHECK(fake.writes.front() == FakeLocalApic::Write{lapic::k_timer_initial_count.offset, 0});

    local_apic.timer_one_shot_mode(0xF0, true);
    CHECK(fake.registers[lapic::k_lvt_timer.offset] == (0xF0 | k_masked));

    local_apic.timer_start(12345);
    CHECK(fake.registers[lapic::k_timer_initial_count.offset] == 12345);
    local_apic.timer_stop();
    CHECK(fake.registers[lapic::k_timer_initial_count.offset] == 0);
    fake.registers[lapic::k_timer_current_count.offset] = 77;
    CHECK(local_apic.timer_current() == 77);
}
