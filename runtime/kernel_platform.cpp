// The event loop's platform inside the unikernel: the TSC clock, the one hardware timer
// (installed by apic/), and `sti; hlt` to sleep without losing a wake-up.

#include <algorithm>

#include "kernel/clock.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/gates/gate.hpp"
#include "kernel/interrupts.hpp"
#include "kernel/panic.hpp"
#include "kernel/timer.hpp"
#include "runtime/balloon_service.hpp"
#include "runtime/runtime.hpp"

namespace runtime {

namespace detail {
void fatal(const char* message) { kernel::panic("runtime: {}", message); }
}  // namespace detail

namespace {

class KernelPlatform final : public Platform {
public:
    Instant now() override { return instant_from_ns(static_cast<std::int64_t>(kernel::clock::now_ns())); }

    void arm_timer(std::optional<Instant> deadline) override {
        m_deadline = deadline;
        kernel::timer::Device* timer = kernel::timer::device();
        if (timer == nullptr) return;
        if (deadline)
            timer->arm_at(static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_ns(*deadline))));
        else
            timer->disarm();
    }

    void wait(bool (*has_work)(void*), void* context) override {
        // An interrupt after this read moves the count, and the halt below is skipped: the
        // last look for work and the halt need no cli around them (one gate in ring 3, not
        // two; kernel/cpu.hpp).
        const volatile std::uint64_t* delivered = kernel::interrupts::delivered_counter();
        const std::uint64_t seen = *delivered;
        if (has_work(context)) return;
        if (kernel::timer::device() == nullptr && m_deadline) {
            // No timer to wake us: poll the clock instead of sleeping through the deadline.
            kernel::cpu::pause();
            return;
        }
        kernel::cpu::halt_unless_changed(delivered, seen);
    }

    void turn_done() override { kernel::gates::flush_deferred(); }

private:
    std::optional<Instant> m_deadline;
};

}  // namespace

int run(Task<int> main) {
    KernelPlatform platform;
    if (kernel::timer::device() == nullptr) kernel::println("runtime: no hardware timer; sleeping tasks will poll");
    int result;
    {
        EventLoop loop(platform);
        start_balloon_service();
        kernel::cpu::enable_interrupts();
        result = loop.run(std::move(main));
        kernel::cpu::disable_interrupts();
    }
    return result;
}

}  // namespace runtime
