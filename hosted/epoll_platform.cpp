#include "hosted/epoll_platform.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <new>

#include "runtime/task.hpp"

namespace hosted {

runtime::Instant monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return runtime::instant_from_ns(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

kernel::Result<EpollPlatform*, int> EpollPlatform::create(Poller& poller) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return kernel::err(errno);
    auto* platform = new (std::nothrow) EpollPlatform(poller, fd);
    if (platform == nullptr) {
        close(fd);
        return kernel::err(ENOMEM);
    }
    if (auto added = poller.add(fd, EPOLLIN, &timer_ready, platform); !added) {
        delete platform;
        return kernel::err(added.error());
    }
    return platform;
}

EpollPlatform::~EpollPlatform() {
    m_poller.remove(m_timer_fd);
    close(m_timer_fd);
}

void EpollPlatform::arm_timer(std::optional<runtime::Instant> deadline) {
    // The loop arms before every sleep, mostly with the deadline it armed last time.
    if (deadline == m_armed) return;
    itimerspec spec{};
    if (deadline) {
        // An all-zero it_value disarms (timerfd_settime(2)): a deadline at or before the
        // clock's start must still fire, so it becomes 1 ns.
        std::int64_t ns = std::max<std::int64_t>(1, runtime::to_ns(*deadline));
        spec.it_value.tv_sec = ns / 1'000'000'000;
        spec.it_value.tv_nsec = ns % 1'000'000'000;
    }
    if (timerfd_settime(m_timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
        // Only bad arguments make it fail, and ours are in range: an invariant broke.
        runtime::detail::fatal("hosted: timerfd_settime failed");
    }
    m_armed = deadline;
}

void EpollPlatform::timer_ready(void* context, std::uint32_t /*events*/) {
    auto* self = static_cast<EpollPlatform*>(context);
    std::uint64_t expirations = 0;
    // Reading resets the timerfd's readiness; EAGAIN means someone re-armed it meanwhile.
    if (read(self->m_timer_fd, &expirations, sizeof expirations) == sizeof expirations) ++self->m_timer_wakeups;
    // A one-shot timer that fired is disarmed: the next arm_timer must set it again.
    self->m_armed.reset();
}

void EpollPlatform::wait(bool (*has_work)(void*), void* context) {
    if (has_work(context)) return;
    if (auto waited = m_poller.wait(-1); !waited) runtime::detail::fatal("hosted: epoll_wait failed");
}

}  // namespace hosted
