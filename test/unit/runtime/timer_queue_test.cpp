#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <vector>

#include "runtime/timer_queue.hpp"

using runtime::Instant;
using runtime::TimerEntry;
using runtime::TimerQueue;

namespace {

std::vector<int> g_fired;

struct Numbered : TimerEntry {
    explicit Numbered(int n) : TimerEntry(&fire), number(n) {}
    static void fire(TimerEntry& e) { g_fired.push_back(static_cast<Numbered&>(e).number); }
    int number;
};

Instant at(std::int64_t ns) { return runtime::instant_from_ns(ns); }

}  // namespace

TEST_CASE("timer queue: fires in deadline order, equal deadlines first-armed first") {
    g_fired.clear();
    TimerQueue queue;
    Numbered a(1), b(2), c(3), d(4);
    REQUIRE(queue.arm(c, at(30)));
    REQUIRE(queue.arm(a, at(10)));
    REQUIRE(queue.arm(b, at(20)));
    REQUIRE(queue.arm(d, at(20)));
    CHECK(queue.earliest() == at(10));
    CHECK(queue.fire_due(at(5)) == 0);
    CHECK(queue.fire_due(at(20)) == 3);
    CHECK(g_fired == std::vector<int>{1, 2, 4});
    CHECK(queue.size() == 1);
    CHECK(c.armed());
    CHECK_FALSE(a.armed());
}

TEST_CASE("timer queue: cancel and re-arm anywhere in the heap") {
    g_fired.clear();
    TimerQueue queue;
    std::vector<std::unique_ptr<Numbered>> timers;
    for (int i = 0; i < 10; ++i) {
        timers.push_back(std::make_unique<Numbered>(i));
        REQUIRE(queue.arm(*timers.back(), at(100 - i * 10)));
    }
    timers[3]->cancel();
    queue.cancel(*timers[7]);
    REQUIRE(queue.arm(*timers[0], at(5)));  // re-arm: 0 moves from last to first
    timers[5].reset();                      // destroying an armed entry cancels it
    queue.fire_due(at(1000));
    CHECK(g_fired == std::vector<int>{0, 9, 8, 6, 4, 2, 1});
    CHECK(queue.empty());
}

TEST_CASE("timer queue: a firing entry may arm others that are also due") {
    g_fired.clear();
    TimerQueue queue;
    Numbered later(2);
    struct Chain : TimerEntry {
        Chain(TimerQueue& q, Numbered& n) : TimerEntry(&fire), queue(q), next(n) {}
        static void fire(TimerEntry& e) {
            auto& self = static_cast<Chain&>(e);
            g_fired.push_back(1);
            (void)self.queue.arm(self.next, at(15));
        }
        TimerQueue& queue;
        Numbered& next;
    } chain(queue, later);
    REQUIRE(queue.arm(chain, at(10)));
    CHECK(queue.fire_due(at(20)) == 2);
    CHECK(g_fired == std::vector<int>{1, 2});
}

TEST_CASE("timer queue: random arms and cancels match a sorted reference") {
    g_fired.clear();
    std::mt19937 random(7);
    TimerQueue queue;
    std::vector<std::unique_ptr<Numbered>> timers;
    std::vector<std::pair<std::int64_t, int>> expected;
    timers.reserve(2000);
    for (int i = 0; i < 2000; ++i) timers.push_back(std::make_unique<Numbered>(i));
    std::vector<std::int64_t> deadline(2000, -1);
    for (int step = 0; step < 20000; ++step) {
        int i = static_cast<int>(random() % 2000);
        if (random() % 4 == 0) {
            timers[static_cast<std::size_t>(i)]->cancel();
            deadline[static_cast<std::size_t>(i)] = -1;
        } else {
            std::int64_t d = static_cast<std::int64_t>(random() % 100000);
            REQUIRE(queue.arm(*timers[static_cast<std::size_t>(i)], at(d)));
            deadline[static_cast<std::size_t>(i)] = d;
        }
    }
    for (int i = 0; i < 2000; ++i) {
        if (deadline[static_cast<std::size_t>(i)] >= 0) expected.emplace_back(deadline[static_cast<std::size_t>(i)], i);
    }
    std::sort(expected.begin(), expected.end());
    queue.fire_due(at(100000));
    REQUIRE(g_fired.size() == expected.size());
    // Same multiset of deadlines, in non-decreasing order.
    for (std::size_t k = 0; k < g_fired.size(); ++k) {
        CHECK(deadline[static_cast<std::size_t>(g_fired[k])] == expected[k].first);
    }
}
