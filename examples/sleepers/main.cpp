// Exercises timers and tasks in the booted kernel; the boot tests drive it.
//
//   (default)    300 concurrent sleeping tasks: they must wake in deadline order, late by
//                no more than tolerance_us (default 20000)
//   wall=S       prints "wall: start", sleeps S seconds, prints "wall: end"; the host
//                compares the interval with its own clock. A periodic callback timer
//                counts 100 ms ticks meanwhile.
//   idle=S       sleeps S seconds and exits: the host measures QEMU's CPU time

#include <array>
#include <cstdint>

#include "kernel/kernel.hpp"
#include "runtime/runtime.hpp"

namespace {

using runtime::Duration;
using runtime::Instant;
using runtime::Task;

constexpr int k_sleepers = 300;

struct Wake {
    int id;
    Instant deadline;
    Instant woke;
};

std::array<Wake, k_sleepers> g_wakes;
int g_woken = 0;

Task<void> sleeper(int id, Duration duration) {
    Instant deadline = runtime::now() + duration;
    co_await runtime::sleep_until(deadline);
    g_wakes[static_cast<std::size_t>(g_woken++)] = {id, deadline, runtime::now()};
}

Task<int> sleepers(std::int64_t tolerance_us) {
    // A fixed pseudo-random spread of durations from 1 to 200 ms, many of them equal.
    std::uint32_t seed = 12345;
    std::array<runtime::JoinHandle<void>, k_sleepers> handles;
    for (int i = 0; i < k_sleepers; ++i) {
        seed = seed * 1103515245 + 12345;
        auto ms = static_cast<std::int64_t>(1 + (seed >> 16) % 200);
        handles[static_cast<std::size_t>(i)] = runtime::spawn(sleeper(i, std::chrono::milliseconds(ms)));
    }
    for (auto& h : handles) co_await h;

    std::int64_t worst = 0;
    std::int64_t total = 0;
    int out_of_order = 0;
    for (int i = 0; i < k_sleepers; ++i) {
        const Wake& w = g_wakes[static_cast<std::size_t>(i)];
        std::int64_t late = (w.woke - w.deadline) / std::chrono::microseconds(1);
        if (late < 0) {
            kernel::println("sleepers: task {} woke {} us early", w.id, -late);
            co_return 1;
        }
        worst = late > worst ? late : worst;
        total += late;
        if (i > 0 && w.deadline < g_wakes[static_cast<std::size_t>(i - 1)].deadline) ++out_of_order;
    }
    kernel::println("sleepers: {} tasks woke, {} out of deadline order; lateness mean {} us, worst {} us", g_woken,
                    out_of_order, total / k_sleepers, worst);
    const auto& stats = runtime::EventLoop::current().stats();
    kernel::println("sleepers: loop turns {}, sleeps {}, timers fired {}", stats.iterations, stats.sleeps,
                    stats.timers_fired);
    if (g_woken != k_sleepers || out_of_order != 0) co_return 1;
    if (worst > tolerance_us) {
        kernel::println("sleepers: worst lateness {} us is over the tolerance of {} us", worst, tolerance_us);
        co_return 1;
    }
    co_return 0;
}

Task<int> wall(std::int64_t seconds) {
    int ticks = 0;
    runtime::Timer ticker;
    ticker.start_every(std::chrono::milliseconds(100), [&ticks] { ++ticks; });
    Instant start = runtime::now();
    kernel::println("wall: start");
    co_await runtime::sleep(std::chrono::seconds(seconds));
    Duration elapsed = runtime::now() - start;
    kernel::println("wall: end after {} us, {} ticks of 100 ms", elapsed / std::chrono::microseconds(1), ticks);
    co_return 0;
}

Task<int> idle(std::int64_t seconds) {
    co_await runtime::sleep(std::chrono::seconds(seconds));
    kernel::println("idle: slept {} s, loop slept {} times", seconds, runtime::EventLoop::current().stats().sleeps);
    co_return 0;
}

}  // namespace

int main() {
    const auto& options = kernel::command_line();
    if (auto s = options.get_u64("wall")) return runtime::run(wall(static_cast<std::int64_t>(*s)));
    if (auto s = options.get_u64("idle")) return runtime::run(idle(static_cast<std::int64_t>(*s)));
    auto tolerance = static_cast<std::int64_t>(options.get_u64("tolerance_us").value_or(20000));
    return runtime::run(sleepers(tolerance));
}
