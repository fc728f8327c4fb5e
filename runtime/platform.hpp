#pragma once
// What the event loop needs from the machine it runs on: a clock, one timer, and a way to
// sleep until something happens. The unikernel's platform uses the TSC, the local APIC
// timer and `sti; hlt`; the hosted target uses CLOCK_MONOTONIC and epoll; tests use a
// virtual clock that jumps to the next deadline.

#include <optional>

#include "runtime/time.hpp"

namespace runtime {

class Platform {
public:
    [[nodiscard]] virtual Instant now() = 0;
    // Arms the one timer for deadline, replacing any earlier arming; nullopt disarms.
    virtual void arm_timer(std::optional<Instant> deadline) = 0;
    // Sleeps until an interrupt, an event or the armed deadline. has_work(context) is
    // checked with wake-ups held off, so a wake-up that comes just before the sleep is
    // never lost: if it says true, wait returns at once.
    virtual void wait(bool (*has_work)(void* context), void* context) = 0;
    // Called after each turn of the loop: the kernel runs the device stores that wait
    // (kernel/gates/deferred.hpp), so none waits past the turn that made it.
    virtual void turn_done() {}

protected:
    Platform() = default;
    Platform(const Platform&) = default;
    Platform& operator=(const Platform&) = default;
    ~Platform() = default;
};

}  // namespace runtime
