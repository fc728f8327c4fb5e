#pragma once
// The hosted target's sleep: one epoll instance (epoll(7)) that the event loop waits on.
// Each watched file descriptor has a handler, called from Poller::wait when the
// descriptor is ready: the hosted counterpart of an interrupt handler, and held to the
// same rule (record work, notify a runtime::Signal, nothing more).

#include <array>
#include <cstdint>

#include "kernel/result.hpp"

namespace hosted {

class Poller {
public:
    // The ready events (EPOLLIN, EPOLLERR, ...) are passed on.
    using Handler = void (*)(void* context, std::uint32_t events);
    static constexpr std::size_t k_max_watches = 16;

    // Errors are errno values.
    static kernel::Result<Poller*, int> create();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;
    ~Poller();

    // Watches fd for events (EPOLLIN, EPOLLONESHOT, ...); ENOSPC when k_max_watches are
    // in use, EEXIST when fd is already watched.
    kernel::Result<void, int> add(int fd, std::uint32_t events, Handler handler, void* context);
    // Changes the events (re-arms an EPOLLONESHOT watch).
    kernel::Result<void, int> modify(int fd, std::uint32_t events);
    void remove(int fd);

    // Sleeps until a watched descriptor is ready or timeout_ms passes (-1: no limit), then
    // calls the handlers of the ready ones. Returns how many were ready (0 on timeout or
    // when a POSIX signal interrupted the sleep), or errno.
    kernel::Result<int, int> wait(int timeout_ms);

private:
    struct Watch {
        int fd = -1;
        Handler handler = nullptr;
        void* context = nullptr;
    };
    explicit Poller(int epoll_fd) : m_epoll_fd(epoll_fd) {}
    Watch* find(int fd);

    int m_epoll_fd;
    std::array<Watch, k_max_watches> m_watches{};
};

// The process's poller, made on first use; the hosted platform and the TAP device share
// it. Panics if epoll cannot be had at all.
Poller& poller();

}  // namespace hosted
