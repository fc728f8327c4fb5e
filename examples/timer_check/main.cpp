// Proves that interrupts work: the boot tests run this under KVM and TCG, on the pc and
// q35 machines.
//
//   1. The kernel's one-shot timer (kernel::timer::device(), the local APIC) is armed for
//      20 deadlines 1-5 ms apart; between them the CPU halts (`sti; hlt`). Each interrupt
//      must come no earlier than its deadline; the lateness is reported.
//   2. A deadline already past fires at once; a disarmed timer stays quiet; arming again
//      replaces the earlier deadline.
//   3. A device interrupt through the I/O APIC: the PIT's IRQ 0, routed with the MADT's
//      source override (GSI 2 on PCs), fires once in one-shot mode.
//
// Exits 0 when all hold, 1 with a message otherwise.
//
//   max_late_us=N   fail if an interrupt is later than N us (default 50000: catches a
//                   timer at the wrong rate, not the scheduling noise of a busy host)

#include <algorithm>
#include <cstdint>

#include "apic/apic.hpp"
#include "kernel/clock.hpp"
#include "kernel/cpu.hpp"
#include "kernel/interrupts.hpp"
#include "kernel/kernel.hpp"
#include "kernel/timer.hpp"

namespace {

constexpr int k_deadlines = 20;
constexpr std::uint64_t k_ms = 1'000'000;

struct Lateness {
    std::uint64_t min = ~0ull;
    std::uint64_t max = 0;
    std::uint64_t total = 0;
    int count = 0;

    void add(std::uint64_t ns) {
        min = std::min(min, ns);
        max = std::max(max, ns);
        total += ns;
        ++count;
    }
};

// Halts, interrupts enabled only inside `sti; hlt`, until the timer has fired once more
// than `fired`. Returns when it did, with interrupts disabled.
std::uint64_t halt_until_fired(std::uint64_t fired) {
    while (apic::timer_stats().fired == fired) {
        kernel::cpu::enable_interrupts_and_halt();
        kernel::cpu::disable_interrupts();
    }
    return kernel::clock::now_ns();
}

void spin_until(std::uint64_t ns) {
    while (kernel::clock::now_ns() < ns) kernel::cpu::pause();
}

bool check_deadlines(kernel::timer::Device& timer, std::uint64_t max_late_ns) {
    Lateness lateness;
    for (int i = 0; i < k_deadlines; ++i) {
        kernel::cpu::disable_interrupts();
        std::uint64_t deadline = kernel::clock::now_ns() + static_cast<std::uint64_t>(1 + i % 5) * k_ms;
        std::uint64_t fired = apic::timer_stats().fired;
        timer.arm_at(deadline);
        std::uint64_t woke = halt_until_fired(fired);
        if (woke < deadline) {
            kernel::println("timer_check: FAIL: interrupt {} came {} ns before its deadline", i, deadline - woke);
            return false;
        }
        if (woke - deadline > max_late_ns) {
            kernel::println("timer_check: FAIL: interrupt {} came {} us late (limit {} us)", i,
                            (woke - deadline) / 1000, max_late_ns / 1000);
            return false;
        }
        lateness.add(woke - deadline);
    }
    kernel::println("timer_check: {} deadlines met; late by min {} us, mean {} us, max {} us", lateness.count,
                    lateness.min / 1000, lateness.total / static_cast<std::uint64_t>(lateness.count) / 1000,
                    lateness.max / 1000);
    return true;
}

bool check_past_disarm_rearm(kernel::timer::Device& timer, std::uint64_t max_late_ns) {
    kernel::cpu::disable_interrupts();
    // A deadline in the past fires at once.
    std::uint64_t fired = apic::timer_stats().fired;
    std::uint64_t armed = kernel::clock::now_ns();
    timer.arm_at(armed - std::min<std::uint64_t>(armed, k_ms));
    std::uint64_t past_took = halt_until_fired(fired) - armed;
    if (past_took > max_late_ns) {
        kernel::println("timer_check: FAIL: a past deadline took {} us to fire", past_took / 1000);
        return false;
    }

    // Disarmed: nothing comes, even with interrupts on past the old deadline.
    fired = apic::timer_stats().fired;
    std::uint64_t now = kernel::clock::now_ns();
    timer.arm_at(now + k_ms);
    timer.disarm();
    kernel::cpu::enable_interrupts();
    spin_until(now + 5 * k_ms);
    kernel::cpu::disable_interrupts();
    if (apic::timer_stats().fired != fired) {
        kernel::println("timer_check: FAIL: the timer fired after disarm()");
        return false;
    }

    // Arming again replaces the earlier deadline: one interrupt, at the second one.
    now = kernel::clock::now_ns();
    timer.arm_at(now + 30 * k_ms);
    std::uint64_t deadline = now + 2 * k_ms;
    timer.arm_at(deadline);
    std::uint64_t woke = halt_until_fired(fired);
    if (woke < deadline || woke >= now + 30 * k_ms) {
        kernel::println("timer_check: FAIL: re-arming did not replace the deadline (woke {} us after arming)",
                        (woke - now) / 1000);
        return false;
    }
    kernel::cpu::enable_interrupts();
    spin_until(now + 40 * k_ms);
    kernel::cpu::disable_interrupts();
    if (apic::timer_stats().fired != fired + 1) {
        kernel::println("timer_check: FAIL: the replaced deadline fired too");
        return false;
    }
    kernel::println("timer_check: a past deadline fired after {} us; disarm and re-arm hold", past_took / 1000);
    return true;
}

// The 8254 PIT (Intel 8254 datasheet): counter 0, LSB then MSB, mode 0 (the output rises
// once, at terminal count), binary.
constexpr kernel::cpu::IoPort<std::uint8_t> k_pit_control{0x43};
constexpr kernel::cpu::IoPort<std::uint8_t> k_pit_counter0{0x40};
constexpr std::uint16_t k_pit_one_ms = 1193;  // 1.193182 MHz

std::uint64_t g_pit_interrupts = 0;

bool check_io_apic_route() {
    std::uint8_t vector = kernel::interrupts::allocate_vector();
    if (vector == 0 || !kernel::interrupts::set_handler(
                           vector, [](kernel::InterruptFrame&, void*) { ++g_pit_interrupts; }, nullptr)) {
        kernel::println("timer_check: FAIL: no free vector");
        return false;
    }
    kernel::cpu::disable_interrupts();
    auto gsi = apic::route_legacy_irq(0, vector);
    if (!gsi) {
        kernel::println("timer_check: FAIL: cannot route IRQ 0: {}", apic::to_string(gsi.error()));
        return false;
    }
    k_pit_control.write(0x30);
    k_pit_counter0.write(static_cast<std::uint8_t>(k_pit_one_ms & 0xFF));
    k_pit_counter0.write(static_cast<std::uint8_t>(k_pit_one_ms >> 8));
    std::uint64_t start = kernel::clock::now_ns();
    // Halts until the PIT's interrupt; the APIC timer bounds the wait at 200 ms.
    kernel::timer::Device* timer = kernel::timer::device();
    timer->arm_at(start + 200 * k_ms);
    while (g_pit_interrupts == 0 && kernel::clock::now_ns() < start + 200 * k_ms) {
        kernel::cpu::enable_interrupts_and_halt();
        kernel::cpu::disable_interrupts();
    }
    timer->disarm();
    std::uint64_t took = kernel::clock::now_ns() - start;
    if (!apic::mask_gsi(*gsi)) return false;
    if (g_pit_interrupts != 1) {
        kernel::println("timer_check: FAIL: IRQ 0 (GSI {}) gave {} interrupts in {} us, wanted 1", *gsi,
                        g_pit_interrupts, took / 1000);
        return false;
    }
    kernel::println("timer_check: IRQ 0 arrived through the I/O APIC on GSI {}, vector {:#x}, after {} us", *gsi,
                    vector, took / 1000);
    return true;
}

}  // namespace

int main() {
    kernel::timer::Device* timer = kernel::timer::device();
    if (timer == nullptr) {
        kernel::println("timer_check: FAIL: no timer device installed");
        return 1;
    }
    std::uint64_t max_late_ns = kernel::command_line().get_u64("max_late_us").value_or(50'000) * 1000;
    kernel::println("timer_check: {} on {}", timer->name(), apic::x2apic_mode() ? "x2APIC" : "xAPIC");
    bool ok =
        check_deadlines(*timer, max_late_ns) && check_past_disarm_rearm(*timer, max_late_ns) && check_io_apic_route();
    kernel::cpu::disable_interrupts();
    auto stats = apic::timer_stats();
    kernel::println("timer_check: {} timer interrupts, {} early (re-armed), {} stale; {} unhandled, {} APIC errors",
                    stats.fired, stats.early, stats.stale, kernel::interrupts::unhandled_count(), apic::error_count());
    if (ok && kernel::interrupts::unhandled_count() != 0) {
        kernel::println("timer_check: FAIL: interrupts arrived on vectors nobody claimed");
        ok = false;
    }
    if (ok && apic::error_count() != 0) {
        kernel::println("timer_check: FAIL: local APIC error status {:#x}", apic::last_error_status());
        ok = false;
    }
    kernel::println("timer_check: {}", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
