#pragma once
// The event loop's platform on Linux: the clock is CLOCK_MONOTONIC, the one timer is a
// timerfd (armed at an absolute CLOCK_MONOTONIC time, like the unikernel's TSC-deadline
// timer) and sleeping is epoll_wait on the process's Poller, which also holds the TAP
// device. The hosted counterpart of runtime/kernel_platform.cpp.

#include <optional>

#include "hosted/poller.hpp"
#include "kernel/result.hpp"
#include "runtime/platform.hpp"

namespace hosted {

// Nanoseconds of CLOCK_MONOTONIC: the Instant the runtime uses on the hosted target.
runtime::Instant monotonic_now();

class EpollPlatform final : public runtime::Platform {
public:
    // Errors are errno values (no timerfd, or the poller is full).
    static kernel::Result<EpollPlatform*, int> create(Poller& poller);
    EpollPlatform(const EpollPlatform&) = delete;
    EpollPlatform& operator=(const EpollPlatform&) = delete;
    ~EpollPlatform();

    runtime::Instant now() override { return monotonic_now(); }
    void arm_timer(std::optional<runtime::Instant> deadline) override;
    // Nothing but the poller's handlers can make work while we sleep (one thread, no
    // interrupts), so checking has_work once before epoll_wait loses no wake-up.
    void wait(bool (*has_work)(void* context), void* context) override;

    // How often the timerfd woke the loop (for tests and statistics).
    [[nodiscard]] std::uint64_t timer_wakeups() const { return m_timer_wakeups; }

private:
    EpollPlatform(Poller& poller, int timer_fd) : m_poller(poller), m_timer_fd(timer_fd) {}
    static void timer_ready(void* context, std::uint32_t events);

    Poller& m_poller;
    int m_timer_fd;
    std::optional<runtime::Instant> m_armed;
    std::uint64_t m_timer_wakeups = 0;
};

}  // namespace hosted
