#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <vector>

#include "runtime/runtime.hpp"
#include "test/unit/runtime/fake_platform.hpp"

using namespace std::chrono_literals;
using runtime::Duration;
using runtime::EventLoop;
using runtime::Instant;
using runtime::Task;

namespace {

Task<int> add(int a, int b) {
    co_await runtime::sleep(1ms);
    co_return a + b;
}

Task<int> sum_to(int n) {
    int total = 0;
    for (int i = 1; i <= n; ++i) total = co_await add(total, i);
    co_return total;
}

Task<int> depth(int n) {
    if (n == 0) co_return 0;
    co_return 1 + co_await depth(n - 1);
}

// Counts live instances, to see destructors of frames that never finished.
struct Tracked {
    static inline int live = 0;
    Tracked() { ++live; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { --live; }
};

// Coroutines are free functions with parameters here, not capturing lambdas: a lambda
// coroutine reaches its captures through the closure object, which a temporary lambda
// destroys at the end of the full expression, long before the coroutine resumes.
Task<void> sleep_then_set(int& flag) {
    co_await runtime::sleep(1ms);
    flag = 1;
}

Task<void> tracked_sleep(Duration d) {
    Tracked t;
    co_await runtime::sleep(d);
}

Task<void> tracked_wait(runtime::Signal& signal) {
    Tracked t;
    co_await signal.wait();
}

}  // namespace

TEST_CASE("tasks await tasks and return values") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    Instant start = platform.now();
    CHECK(loop.run(sum_to(10)) == 55);
    CHECK(platform.now() - start == 10ms);  // ten sequential 1 ms sleeps on virtual time
}

TEST_CASE("a chain of ten thousand awaits does not grow the stack") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    CHECK(loop.run(depth(10000)) == 10000);
}

TEST_CASE("many sleepers wake in deadline order, each exactly on time") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    std::vector<std::pair<std::int64_t, std::int64_t>> woke;  // (deadline, woke at)
    auto sleeper = [&](Duration d) -> Task<void> {
        Instant deadline = runtime::now() + d;
        co_await runtime::sleep(d);
        woke.emplace_back(runtime::to_ns(deadline), runtime::to_ns(runtime::now()));
    };
    auto main = [&]() -> Task<int> {
        std::mt19937 random(3);
        std::vector<runtime::JoinHandle<void>> handles;
        handles.reserve(1000);
        for (int i = 0; i < 1000; ++i)
            handles.push_back(runtime::spawn(sleeper(Duration(1000 + random() % 5'000'000))));
        for (auto& h : handles) co_await h;
        co_return 0;
    };
    CHECK(loop.run(main()) == 0);
    REQUIRE(woke.size() == 1000);
    for (std::size_t i = 0; i < woke.size(); ++i) {
        CHECK(woke[i].second == woke[i].first);
        if (i > 0) CHECK(woke[i - 1].first <= woke[i].first);
    }
    CHECK(loop.stats().tasks_live == 0);
    // The loop slept once per distinct deadline at most, never spun.
    CHECK(loop.stats().sleeps <= 1001);
}

TEST_CASE("spawn and join: results, joining late, dropping the handle") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    int side_effect = 0;
    auto main = [&]() -> Task<int> {
        auto a = runtime::spawn(add(2, 3));
        auto b = runtime::spawn(add(10, 20));
        co_await runtime::sleep(5ms);  // both finish before they are joined
        CHECK(a.done());
        int total = co_await a + co_await b;
        { auto dropped = runtime::spawn(sleep_then_set(side_effect)); }
        co_await runtime::sleep(2ms);
        co_return total;
    };
    CHECK(loop.run(main()) == 35);
    CHECK(side_effect == 1);
}

TEST_CASE("unfinished tasks are destroyed with the loop, their frames freed") {
    test::FakePlatform platform;
    runtime::Signal never;
    {
        EventLoop loop(platform);
        auto main = [&]() -> Task<int> {
            for (int i = 0; i < 10; ++i) {
                (void)runtime::spawn(tracked_sleep(1h));
                (void)runtime::spawn(tracked_wait(never));
            }
            co_await runtime::sleep(1ms);
            co_return 0;
        };
        CHECK(loop.run(main()) == 0);
        CHECK(Tracked::live == 20);
        CHECK(loop.stats().tasks_live == 20);
        CHECK(loop.timers().size() == 10);
    }
    CHECK(Tracked::live == 0);  // and ASan sees no leak
}

TEST_CASE("destroying an unfinished Task cancels its sleep") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    auto main = [&]() -> Task<int> {
        {
            auto task = runtime::spawn(tracked_sleep(10ms));
            co_await runtime::sleep(1ms);
        }
        co_return static_cast<int>(loop.timers().size());
    };
    CHECK(loop.run(main()) == 1);  // the spawned task still runs on its own
}

TEST_CASE("signals: pending until waited, callbacks, interrupts at virtual times") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    runtime::Signal rx;
    runtime::Signal tick;
    int ticks = 0;
    tick.on_notify([&] { ++ticks; });
    rx.notify();  // before anyone waits: stays pending
    for (int i = 1; i <= 3; ++i) {
        platform.interrupt_at(platform.now() + i * 1ms, [&] { rx.notify(); });
        platform.interrupt_at(platform.now() + i * 1ms + 500us, [&] { tick.notify(); });
    }
    auto main = [&]() -> Task<int> {
        int received = 0;
        for (int i = 0; i < 4; ++i) {
            co_await rx.wait();
            ++received;
        }
        co_await runtime::sleep(1ms);
        co_return received;
    };
    CHECK(loop.run(main()) == 4);
    CHECK(ticks == 3);
}

TEST_CASE("callback timers: once, periodic on a fixed grid, cancel from inside") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    std::vector<std::int64_t> calls;
    runtime::Timer periodic;
    int once = 0;
    auto main = [&]() -> Task<int> {
        Instant start = runtime::now();
        runtime::Timer single = runtime::after(5ms, [&] { ++once; });
        periodic.start_every(10ms, [&] {
            calls.push_back((runtime::now() - start) / 1ms);
            if (calls.size() == 3) platform.advance(25ms);  // the loop falls behind
            if (calls.size() == 5) periodic.cancel();
        });
        co_await runtime::sleep(200ms);
        co_return 0;
    };
    CHECK(loop.run(main()) == 0);
    CHECK(once == 1);
    // 10, 20, 30; then the clock jumps to 55: the overdue call (due at 40) runs once, late,
    // the one due at 50 is skipped, and the next keeps to the grid at 60.
    CHECK(calls == std::vector<std::int64_t>{10, 20, 30, 55, 60});
    CHECK_FALSE(periodic.active());
}

TEST_CASE("a timer destroyed by its own callback") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    auto holder = std::make_unique<runtime::Timer>();
    int fired = 0;
    auto main = [&]() -> Task<int> {
        holder->start_after(1ms, [&] {
            ++fired;
            holder.reset();
        });
        co_await runtime::sleep(2ms);
        co_return 0;
    };
    CHECK(loop.run(main()) == 0);
    CHECK(fired == 1);
}

TEST_CASE("failures are reported: invalid tasks, deadlock, a second loop") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    auto main = [&]() -> Task<int> {
        auto handle = runtime::spawn(Task<int>());  // as if the frame could not be allocated
        co_return handle.valid() ? 1 : 0;
    };
    CHECK(loop.run(main()) == 0);
    CHECK(loop.stats().spawn_failures == 1);
    CHECK_THROWS_AS(EventLoop(platform), test::FatalError);

    runtime::Signal never;
    auto stuck = [&]() -> Task<int> {
        co_await never.wait();
        co_return 0;
    };
    CHECK_THROWS_AS(loop.run(stuck()), test::FatalError);
}

TEST_CASE("signals: wait_until wakes on the signal or on the deadline, never both") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    runtime::Signal device;
    platform.interrupt_at(platform.now() + 3ms, [&] { device.notify(); });
    auto main = [&]() -> Task<int> {
        Instant start = runtime::now();
        bool first = co_await device.wait_until(start + 1ms);  // times out
        CHECK((runtime::now() - start) == 1ms);
        bool second = co_await device.wait_until(start + 10ms);  // the interrupt at 3 ms
        CHECK((runtime::now() - start) == 3ms);
        device.notify();
        bool third = co_await device.wait_until(start);  // already pending: at once
        bool fourth = co_await device.wait_until(start + 20ms);
        CHECK((runtime::now() - start) == 20ms);
        co_await runtime::sleep(5ms);  // a stale timer or waiter would resume us twice here
        co_return (first ? 1 : 0) + (second ? 2 : 0) + (third ? 4 : 0) + (fourth ? 8 : 0);
    };
    CHECK(loop.run(main()) == 6);
    CHECK(loop.timers().empty());
}

TEST_CASE("signals: a wait whose deadline has passed yields, so a polling task cannot starve the others") {
    test::FakePlatform platform;
    EventLoop loop(platform);
    runtime::Signal ping;
    runtime::Signal poll;
    int woken = 0;
    bool stop = false;
    auto other = [&]() -> Task<int> {
        while (!stop) {
            co_await ping.wait();
            ++woken;
        }
        co_return woken;
    };
    auto main = [&]() -> Task<int> {
        auto handle = runtime::spawn(other());
        int ran_between = 0;
        for (int i = 0; i < 5; ++i) {
            int before = woken;
            ping.notify();
            bool notified = co_await poll.wait_until(runtime::now() - 1ms);  // due already
            CHECK_FALSE(notified);
            if (woken > before) ++ran_between;
        }
        stop = true;
        ping.notify();
        co_return ran_between + 10 * co_await handle;
    };
    CHECK(loop.run(main()) == 5 + 10 * 6);
    CHECK(loop.timers().empty());
}

namespace {

// A platform whose timer interrupt is taken the moment the timer is armed, before the loop
// gets to wait: the race helper-found on TCG with deadlines microseconds away.
class EagerTimerPlatform final : public runtime::Platform {
public:
    Instant now() override { return m_now; }
    void arm_timer(std::optional<Instant> deadline) override {
        if (deadline) m_now = std::max(m_now, *deadline);  // time passes; the interrupt is gone
    }
    void wait(bool (*has_work)(void*), void* context) override {
        if (!has_work(context)) throw test::FatalError("slept with a due timer: lost wake-up");
    }

private:
    Instant m_now = runtime::instant_from_ns(0);
};

}  // namespace

TEST_CASE("a timer interrupt taken before the loop sleeps is not lost") {
    EagerTimerPlatform platform;
    EventLoop loop(platform);
    auto main = [&]() -> Task<int> {
        for (int i = 0; i < 100; ++i) co_await runtime::sleep(3us);
        co_return 7;
    };
    CHECK(loop.run(main()) == 7);
}
