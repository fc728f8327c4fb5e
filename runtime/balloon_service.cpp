#include "runtime/balloon_service.hpp"

#include "balloon/driver.hpp"
#include "kernel/console.hpp"
#include "runtime/runtime.hpp"

namespace runtime {
namespace {

Signal& balloon_signal() {
    static Signal signal;
    return signal;
}

Task<void> follow(balloon::Balloon& balloon) {
    Signal& signal = balloon_signal();
    for (;;) {
        auto next = balloon.poll(static_cast<std::uint64_t>(to_ns(now())));
        // An interrupt since poll() began left the signal pending: the wait returns at once.
        if (next)
            co_await signal.wait_until(instant_from_ns(static_cast<std::int64_t>(*next)));
        else
            co_await signal.wait();
    }
}

}  // namespace

bool start_balloon_service() {
    balloon::Balloon* balloon = balloon::instance();
    if (balloon == nullptr) return false;
    balloon->set_wake([](void* signal) { static_cast<Signal*>(signal)->notify(); }, &balloon_signal());
    auto handle = spawn(follow(*balloon));
    if (!handle.valid()) {
        kernel::println("runtime: out of memory for the balloon's task; the balloon stays where it is");
        return false;
    }
    return true;
}

}  // namespace runtime
