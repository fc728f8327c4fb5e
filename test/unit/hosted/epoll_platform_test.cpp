// The hosted platform against the real clock: timers fire on time through the timerfd,
// and a sleeping loop wakes when a watched descriptor becomes ready.

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>

#include "hosted/epoll_platform.hpp"
#include "hosted/poller.hpp"
#include "runtime/runtime.hpp"

namespace {

using namespace std::chrono_literals;

struct Fixture {
    Fixture() {
        auto created_poller = hosted::Poller::create();
        REQUIRE(created_poller);
        poller.reset(created_poller.value());
        auto created_platform = hosted::EpollPlatform::create(*poller);
        REQUIRE(created_platform);
        platform.reset(created_platform.value());
    }
    std::unique_ptr<hosted::Poller> poller;
    std::unique_ptr<hosted::EpollPlatform> platform;
};

// A descriptor outside the loop that becomes readable after delay: stands in for a TAP
// device receiving a frame.
int readable_after(runtime::Duration delay) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    REQUIRE(fd >= 0);
    itimerspec spec{};
    spec.it_value.tv_nsec = static_cast<long>(delay.count());
    REQUIRE(timerfd_settime(fd, 0, &spec, nullptr) == 0);
    return fd;
}

}  // namespace

TEST_CASE("hosted: the clock is CLOCK_MONOTONIC in nanoseconds", "[hosted]") {
    Fixture f;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    std::int64_t before = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    std::int64_t now = runtime::to_ns(f.platform->now());
    clock_gettime(CLOCK_MONOTONIC, &ts);
    std::int64_t after = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    CHECK(before <= now);
    CHECK(now <= after);
}

TEST_CASE("hosted: sleeping tasks wake on time, in order, without spinning", "[hosted]") {
    Fixture f;
    runtime::EventLoop loop(*f.platform);
    runtime::Instant start = f.platform->now();
    std::array<runtime::Instant, 3> woke{};
    auto sleeper = [&](std::size_t i, runtime::Duration d) -> runtime::Task<void> {
        co_await runtime::sleep(d);
        woke[i] = runtime::now();
    };
    auto main = [&]() -> runtime::Task<int> {
        auto a = runtime::spawn(sleeper(0, 30ms));
        auto b = runtime::spawn(sleeper(1, 10ms));
        auto c = runtime::spawn(sleeper(2, 20ms));
        co_await a;
        co_await b;
        co_await c;
        co_return 0;
    };
    REQUIRE(loop.run(main()) == 0);
    // Never early; late by less than a generous bound (the machine is shared).
    CHECK(woke[1] - start >= 10ms);
    CHECK(woke[2] - start >= 20ms);
    CHECK(woke[0] - start >= 30ms);
    CHECK(woke[0] - start < 500ms);
    CHECK(woke[1] < woke[2]);
    CHECK(woke[2] < woke[0]);
    // Three deadlines: a few sleeps on the timerfd, not thousands of polls.
    CHECK(f.platform->timer_wakeups() >= 1);
    CHECK(loop.stats().sleeps <= 10);
}

TEST_CASE("hosted: a deadline already past fires at once", "[hosted]") {
    Fixture f;
    // Instant 0 would be an all-zero it_value, which disarms a timerfd: it must not.
    f.platform->arm_timer(runtime::instant_from_ns(0));
    runtime::Instant before = f.platform->now();
    f.platform->wait([](void*) { return false; }, nullptr);
    CHECK(f.platform->now() - before < 1s);
    CHECK(f.platform->timer_wakeups() == 1);
}

TEST_CASE("hosted: wait returns at once when there is work", "[hosted]") {
    Fixture f;
    f.platform->arm_timer(f.platform->now() + 10s);
    runtime::Instant before = f.platform->now();
    f.platform->wait([](void*) { return true; }, nullptr);
    CHECK(f.platform->now() - before < 1s);
    CHECK(f.platform->timer_wakeups() == 0);
}

TEST_CASE("hosted: a sleeping loop wakes when a watched descriptor is ready", "[hosted]") {
    Fixture f;
    runtime::EventLoop loop(*f.platform);
    runtime::Signal ready;
    int fd = readable_after(30ms);
    REQUIRE(f.poller->add(
        fd, EPOLLIN, [](void* signal, std::uint32_t) { static_cast<runtime::Signal*>(signal)->notify(); }, &ready));
    runtime::Instant start = f.platform->now();
    auto main = [&]() -> runtime::Task<int> {
        // Only the descriptor can end this wait early; the deadline is far off.
        bool notified = co_await ready.wait_until(runtime::now() + 10s);
        co_return notified ? 0 : 1;
    };
    CHECK(loop.run(main()) == 0);
    runtime::Duration waited = f.platform->now() - start;
    CHECK(waited >= 29ms);  // timerfd and CLOCK_MONOTONIC agree to well under a ms
    CHECK(waited < 5s);
    CHECK(f.platform->timer_wakeups() == 0);
    f.poller->remove(fd);
    close(fd);
}

TEST_CASE("hosted: the poller refuses a descriptor twice and forgets removed ones", "[hosted]") {
    auto created = hosted::Poller::create();
    REQUIRE(created);
    std::unique_ptr<hosted::Poller> poller(created.value());
    int fd = readable_after(1ms);
    int calls = 0;
    auto count = [](void* c, std::uint32_t) { ++*static_cast<int*>(c); };
    REQUIRE(poller->add(fd, EPOLLIN, count, &calls));
    auto again = poller->add(fd, EPOLLIN, count, &calls);
    REQUIRE_FALSE(again);
    CHECK(again.error() == EEXIST);
    auto waited = poller->wait(2000);
    REQUIRE(waited);
    CHECK(waited.value() == 1);
    CHECK(calls == 1);
    poller->remove(fd);
    auto after_remove = poller->wait(0);  // still readable, but no longer watched
    REQUIRE(after_remove);
    CHECK(after_remove.value() == 0);
    CHECK(calls == 1);
    CHECK_FALSE(poller->modify(fd, EPOLLIN));
    close(fd);
}
