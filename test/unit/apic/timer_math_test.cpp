#include "apic/timer_math.hpp"

#include <catch2/catch.hpp>

using namespace apic::timer_math;

TEST_CASE("timer math: nanoseconds to ticks round up and saturate") {
    CHECK(ns_to_ticks_ceil(0, 1'000'000'000) == 0);
    CHECK(ns_to_ticks_ceil(1'000'000, 1'000'000'000) == 1'000'000);
    CHECK(ns_to_ticks_ceil(1, 100'000'000) == 1);  // a tenth of a tick is a whole one
    CHECK(ns_to_ticks_ceil(11, 100'000'000) == 2);
    CHECK(ns_to_ticks_ceil(3'000'000'001, 25'000'000) == 75'000'001);
    CHECK(ns_to_ticks_ceil(~0ull, k_max_timer_hz) == ~0ull);
    static_assert(ns_to_ticks_ceil(2'500'000'000, 1'000'000'000) == 2'500'000'000);
}

TEST_CASE("timer math: one-shot counts are between 1 and 2^32 - 1") {
    CHECK(one_shot_count(5000, 4000, 1'000'000'000) == 1);  // the past fires at once
    CHECK(one_shot_count(5000, 5000, 1'000'000'000) == 1);  // so does now
    CHECK(one_shot_count(0, 1, 1'000) == 1);                // under one tick away
    CHECK(one_shot_count(1'000'000, 2'000'000, 1'000'000'000) == 1'000'000);
    CHECK(one_shot_count(0, 10'000'000'000, 1'000'000'000) == 0xFFFF'FFFF);  // clamped; the handler re-arms
    CHECK(one_shot_count(0, ~0ull, k_max_timer_hz) == 0xFFFF'FFFF);
}

TEST_CASE("timer math: calibration") {
    // 2 ms of a 1 GHz APIC timer against a 2.3 GHz TSC.
    CHECK(frequency_from(2'000'000, 4'600'000, 2'300'000'000) == 1'000'000'000);
    // A 25 MHz crystal over 1 ms of a 3 GHz TSC.
    CHECK(frequency_from(25'000, 3'000'000, 3'000'000'000) == 25'000'000);
    CHECK(frequency_from(100, 0, 2'300'000'000) == 0);
    // A long window: both counts are scaled down instead of overflowing.
    CHECK(frequency_from(0xFFFF'FFFF, 0x2'0000'0000, 0x2'0000'0000) == 0xFFFF'FFFC);  // 2 low bits lost
    // A counter apparently faster than any APIC timer: rejected.
    CHECK(frequency_from(0xFFFF'FFFF, 1, 3'000'000'000) == 0);
}
