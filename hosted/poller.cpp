#include "hosted/poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <new>

namespace hosted {
namespace {

// A watch's slot and its descriptor travel in the event's data: a stale event (its slot
// emptied by an earlier handler in the same batch) is recognized and skipped.
std::uint64_t pack(std::size_t slot, int fd) {
    return (static_cast<std::uint64_t>(slot) << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

kernel::Result<Poller*, int> Poller::create() {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return kernel::err(errno);
    auto* poller = new (std::nothrow) Poller(fd);
    if (poller == nullptr) {
        close(fd);
        return kernel::err(ENOMEM);
    }
    return poller;
}

Poller::~Poller() { close(m_epoll_fd); }

Poller::Watch* Poller::find(int fd) {
    for (auto& watch : m_watches) {
        if (watch.handler != nullptr && watch.fd == fd) return &watch;
    }
    return nullptr;
}

kernel::Result<void, int> Poller::add(int fd, std::uint32_t events, Handler handler, void* context) {
    if (find(fd) != nullptr) return kernel::err(EEXIST);
    for (std::size_t slot = 0; slot < m_watches.size(); ++slot) {
        Watch& watch = m_watches[slot];
        if (watch.handler != nullptr) continue;
        epoll_event event{};
        event.events = events;
        event.data.u64 = pack(slot, fd);
        if (epoll_ctl(m_epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) return kernel::err(errno);
        watch = {fd, handler, context};
        return {};
    }
    return kernel::err(ENOSPC);
}

kernel::Result<void, int> Poller::modify(int fd, std::uint32_t events) {
    Watch* watch = find(fd);
    if (watch == nullptr) return kernel::err(ENOENT);
    epoll_event event{};
    event.events = events;
    event.data.u64 = pack(static_cast<std::size_t>(watch - m_watches.data()), fd);
    if (epoll_ctl(m_epoll_fd, EPOLL_CTL_MOD, fd, &event) != 0) return kernel::err(errno);
    return {};
}

void Poller::remove(int fd) {
    Watch* watch = find(fd);
    if (watch == nullptr) return;
    // Fails only if fd was closed already, which removed it from the set anyway.
    (void)epoll_ctl(m_epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    *watch = {};
}

kernel::Result<int, int> Poller::wait(int timeout_ms) {
    std::array<epoll_event, k_max_watches> events{};
    int ready = epoll_wait(m_epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (ready < 0) {
        if (errno == EINTR) return 0;
        return kernel::err(errno);
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(ready); ++i) {
        auto slot = static_cast<std::size_t>(events[i].data.u64 >> 32);
        auto fd = static_cast<int>(static_cast<std::uint32_t>(events[i].data.u64));
        if (slot >= m_watches.size()) continue;
        Watch& watch = m_watches[slot];
        if (watch.handler == nullptr || watch.fd != fd) continue;  // removed by an earlier handler
        watch.handler(watch.context, events[i].events);
    }
    return ready;
}

}  // namespace hosted
