// runtime::run on the hosted target: the event loop over EpollPlatform, sharing the
// process's Poller with the TAP device. The counterpart of runtime/kernel_platform.cpp.

#include <cstring>
#include <memory>

#include "hosted/epoll_platform.hpp"
#include "kernel/panic.hpp"
#include "runtime/runtime.hpp"

namespace runtime {

namespace detail {
void fatal(const char* message) { kernel::panic("runtime: {}", message); }
}  // namespace detail

int run(Task<int> main) {
    auto created = hosted::EpollPlatform::create(hosted::poller());
    if (!created) kernel::panic("hosted: cannot make the event loop's timer: {}", std::strerror(created.error()));
    std::unique_ptr<hosted::EpollPlatform> platform(created.value());
    EventLoop loop(*platform);
    return loop.run(std::move(main));
}

}  // namespace runtime
