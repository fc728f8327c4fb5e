#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>

#include "net/tcp_congestion.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t k_mss = 1460;
const runtime::Instant k_start = runtime::instant_from_ns(1'000'000'000);

// A sender that always fills its window: each round trip, one ACK per segment of the
// window, spread evenly over the RTT, each with the whole window in flight.
void run_until(TcpCongestion& cc, runtime::Instant& now, runtime::Duration rtt, runtime::Instant until) {
    while (now < until) {
        std::uint32_t segments = std::max<std::uint32_t>(1, cc.cwnd() / k_mss);
        runtime::Duration spacing = rtt / segments;
        for (std::uint32_t i = 0; i < segments && now < until; ++i) {
            now += spacing;
            cc.on_ack(k_mss, cc.cwnd(), now, rtt, rtt);
        }
    }
}

void run_rounds(TcpCongestion& cc, runtime::Instant& now, runtime::Duration rtt, int rounds) {
    for (int round = 0; round < rounds; ++round) {
        std::uint32_t segments = std::max<std::uint32_t>(1, cc.cwnd() / k_mss);
        for (std::uint32_t i = 0; i < segments; ++i) {
            now += rtt / segments;
            cc.on_ack(k_mss, cc.cwnd(), now, rtt, rtt);
        }
    }
}

// Slow start, one MSS per ACK, until cwnd is exactly `segments` segments.
void grow_to(TcpCongestion& cc, runtime::Instant now, std::uint32_t segments) {
    while (cc.cwnd() < segments * k_mss) cc.on_ack(k_mss, cc.cwnd(), now, 0ns, 0ns);
    REQUIRE(cc.cwnd() == segments * k_mss);
}

// RFC 9438 Figure 1 in floating point (the test's independent reference), in bytes.
double w_cubic(double t_seconds, double w_max_bytes, double k_seconds) {
    return 0.4 * std::pow(t_seconds - k_seconds, 3) * k_mss + w_max_bytes;
}

}  // namespace

TEST_CASE("tcp congestion: the initial window is min(10*MSS, max(2*MSS, 14600))", "[tcp][congestion]") {
    CHECK(TcpCongestion(CongestionAlgorithm::Cubic, 1460, k_start).cwnd() == 14600);
    CHECK(TcpCongestion(CongestionAlgorithm::Cubic, 536, k_start).cwnd() == 5360);
    CHECK(TcpCongestion(CongestionAlgorithm::NewReno, 9000, k_start).cwnd() == 18000);
    TcpCongestion cc(CongestionAlgorithm::Cubic, 536, k_start);
    CHECK(cc.ssthresh() == TcpCongestion::k_infinite);
    CHECK(cc.in_slow_start());
    CHECK(cc.algorithm() == CongestionAlgorithm::Cubic);
    cc.set_mss(1460);  // the handshake agreed on more: still the initial window, recomputed
    CHECK(cc.cwnd() == 14600);
    cc.on_ack(1460, cc.cwnd(), k_start, 0ns, 0ns);
    cc.set_mss(1000);  // later MSS changes leave the window alone
    CHECK(cc.cwnd() == 14600 + 1460);
    cc.set_mss(0);  // nonsense is clamped, not a division by zero later
    CHECK(cc.mss() == 1);
}

TEST_CASE("tcp congestion: slow start doubles per RTT, ABC counts at most 2 MSS per ACK", "[tcp][congestion]") {
    for (auto algorithm : {CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno}) {
        TcpCongestion cc(algorithm, k_mss, k_start);
        runtime::Instant now = k_start;
        // One ACK per segment.
        run_rounds(cc, now, 10ms, 1);
        CHECK(cc.cwnd() == 20 * k_mss);
        // Delayed ACKs, one per two segments: ABC (RFC 3465) still doubles.
        std::uint32_t window = cc.cwnd();
        for (std::uint32_t i = 0; i < window / (2 * k_mss); ++i) cc.on_ack(2 * k_mss, cc.cwnd(), now, 0ns, 0ns);
        CHECK(cc.cwnd() == 40 * k_mss);
        // A stretch ACK for ten segments grows by two (L = 2).
        cc.on_ack(10 * k_mss, cc.cwnd(), now, 0ns, 0ns);
        CHECK(cc.cwnd() == 42 * k_mss);
        CHECK(cc.in_slow_start());
    }
}

TEST_CASE("tcp congestion: slow start stops at ssthresh", "[tcp][congestion]") {
    TcpCongestion cc(CongestionAlgorithm::NewReno, k_mss, k_start);
    cc.on_retransmission_timeout(20 * k_mss, k_start);  // ssthresh 10 MSS, cwnd 1 MSS
    REQUIRE(cc.ssthresh() == 10 * k_mss);
    REQUIRE(cc.cwnd() == k_mss);
    for (int i = 0; i < 9; ++i) cc.on_ack(k_mss, cc.cwnd(), k_start, 0ns, 0ns);
    CHECK(cc.cwnd() == 10 * k_mss);
    CHECK_FALSE(cc.in_slow_start());
    cc.on_ack(k_mss, cc.cwnd(), k_start, 0ns, 0ns);  // now congestion avoidance: a fraction
    CHECK(cc.cwnd() == 10 * k_mss);
}

TEST_CASE("tcp congestion: an application-limited flow does not grow its window", "[tcp][congestion]") {
    for (auto algorithm : {CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno}) {
        TcpCongestion cc(algorithm, k_mss, k_start);
        runtime::Instant now = k_start;
        // Slow start with one segment in flight at a time (a request-response flow).
        for (int i = 0; i < 1000; ++i) cc.on_ack(k_mss, k_mss, now += 10ms, 10ms, 10ms);
        CHECK(cc.cwnd() == 14600);
        // Congestion avoidance with room left in the window.
        cc.on_congestion_event(cc.cwnd(), now);
        cc.on_recovery_exit(now);
        std::uint32_t window = cc.cwnd();
        for (int i = 0; i < 10000; ++i) cc.on_ack(k_mss, window - k_mss, now += 10ms, 10ms, 10ms);
        CHECK(cc.cwnd() == window);
    }
}

TEST_CASE("tcp congestion: NewReno halves on loss and grows one MSS per RTT", "[tcp][congestion]") {
    TcpCongestion cc(CongestionAlgorithm::NewReno, k_mss, k_start);
    runtime::Instant now = k_start;
    grow_to(cc, now, 100);
    CHECK(cc.on_congestion_event(100 * k_mss, now) == 50 * k_mss);  // RFC 5681 (4)
    CHECK(cc.ssthresh() == 50 * k_mss);
    cc.on_recovery_exit(now);
    CHECK(cc.cwnd() == 50 * k_mss);
    for (std::uint32_t rtt = 1; rtt <= 20; ++rtt) {
        run_rounds(cc, now, 50ms, 1);
        CHECK(cc.cwnd() == (50 + rtt) * k_mss);
    }
    // The floor is two segments, whatever the flight.
    CHECK(cc.on_congestion_event(k_mss, now) == 2 * k_mss);
}

TEST_CASE("tcp congestion: a retransmission timeout goes to one MSS", "[tcp][congestion]") {
    SECTION("NewReno") {
        TcpCongestion cc(CongestionAlgorithm::NewReno, k_mss, k_start);
        grow_to(cc, k_start, 64);
        cc.on_retransmission_timeout(64 * k_mss, k_start);
        CHECK(cc.cwnd() == k_mss);
        CHECK(cc.ssthresh() == 32 * k_mss);
        // The same segment timing out again (no ACK in between) keeps ssthresh.
        cc.on_retransmission_timeout(64 * k_mss, k_start);
        CHECK(cc.ssthresh() == 32 * k_mss);
        cc.on_ack(k_mss, k_mss, k_start, 0ns, 0ns);
        CHECK(cc.cwnd() == 2 * k_mss);
    }
    SECTION("CUBIC: beta 0.7, then the first epoch has K = 0 and W_max = cwnd_epoch (RFC 9438 4.8)") {
        TcpCongestion cc(CongestionAlgorithm::Cubic, k_mss, k_start);
        runtime::Instant now = k_start;
        grow_to(cc, now, 100);
        cc.on_retransmission_timeout(100 * k_mss, now);
        CHECK(cc.cwnd() == k_mss);
        CHECK(cc.ssthresh() == 70 * k_mss);
        run_rounds(cc, now, 20ms, 8);  // slow start back to ssthresh, then avoidance
        REQUIRE_FALSE(cc.in_slow_start());
        REQUIRE(cc.cubic_k().has_value());
        CHECK(*cc.cubic_k() == 0ns);
        CHECK(cc.cubic_w_max() == 70 * k_mss);
    }
}

TEST_CASE("tcp congestion: CUBIC follows W_cubic(t) = C(t-K)^3 + W_max after a loss", "[tcp][congestion][cubic]") {
    TcpCongestion cc(CongestionAlgorithm::Cubic, k_mss, k_start);
    runtime::Instant now = k_start;
    grow_to(cc, now, 1000);
    CHECK(cc.on_congestion_event(1000 * k_mss, now) == 700 * k_mss);  // beta_cubic = 0.7
    CHECK(cc.cubic_w_max() == 1000 * k_mss);
    cc.on_recovery_exit(now);
    const runtime::Instant epoch = now;

    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(300 / 0.4) s.
    const double k = std::cbrt(300 / 0.4);
    REQUIRE(cc.cubic_k().has_value());
    CHECK(std::abs(std::chrono::duration<double>(*cc.cubic_k()).count() - k) < 1e-5);

    // The integer curve against the floating-point one: within two bytes everywhere.
    for (int step = 0; step < 55; ++step) {
        double t = step * 0.37;
        auto w = cc.cubic_window_at(std::chrono::duration_cast<runtime::Duration>(std::chrono::duration<double>(t)));
        CHECK(std::abs(double(*w) - std::max(0.0, w_cubic(t, 1000.0 * k_mss, k))) <= 2.0);
    }

    // The window itself, driven by ACKs over a 100 ms path, stays within one segment of
    // the curve (it aims at W_cubic(t + RTT) and closes the gap over one RTT; the worst
    // case seen is 0.16 segments, at the steep start).
    const runtime::Duration rtt = 100ms;
    std::uint32_t previous = cc.cwnd();
    std::uint32_t previous_growth = 0;
    int concave_steps = 0;
    int convex_steps = 0;
    for (double t : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, k, 10.0, 11.0, 12.0, 13.0}) {
        auto until = epoch + std::chrono::duration_cast<runtime::Duration>(std::chrono::duration<double>(t));
        run_until(cc, now, rtt, until);
        double expected = w_cubic(t, 1000.0 * k_mss, k);
        INFO("t = " << t << " s: cwnd " << cc.cwnd() << ", W_cubic " << expected);
        CHECK(std::abs(double(cc.cwnd()) - expected) < k_mss);
        if (t == k) CHECK(std::abs(double(cc.cwnd()) - 1000.0 * k_mss) < k_mss);  // W_max at t = K
        std::uint32_t growth = cc.cwnd() - previous;
        if (t <= 8.0 && previous_growth != 0 && growth < previous_growth) ++concave_steps;  // slowing down
        if (t > 10.5 && growth > previous_growth) ++convex_steps;                           // speeding up
        previous = cc.cwnd();
        previous_growth = growth;
    }
    CHECK(concave_steps == 7);
    CHECK(convex_steps == 3);
    CHECK(cc.cwnd() > 1000 * k_mss);  // probing beyond the old maximum
}

TEST_CASE("tcp congestion: CUBIC on a short path is Reno-friendly (RFC 9438 4.3)", "[tcp][congestion][cubic]") {
    TcpCongestion cc(CongestionAlgorithm::Cubic, k_mss, k_start);
    runtime::Instant now = k_start;
    grow_to(cc, now, 100);
    cc.on_congestion_event(100 * k_mss, now);
    cc.on_recovery_exit(now);
    const runtime::Instant epoch = now;
    // 1 ms RTT: 40 round trips take 40 ms, when the cubic curve has barely moved (K = 4.2 s).
    run_rounds(cc, now, 1ms, 40);
    auto cubic_now = cc.cubic_window_at(now - epoch);
    REQUIRE(cubic_now.has_value());
    CHECK(*cubic_now < 71 * k_mss);
    // W_est grew alpha = 9/17 MSS per round trip, and cwnd is W_est.
    CHECK(cc.cwnd() == cc.cubic_reno_estimate());
    CHECK(std::abs(double(cc.cwnd()) - (70 + 40 * 9.0 / 17) * k_mss) < k_mss);
    // Past cwnd_prior (100 MSS) alpha becomes 1: plain Reno growth of one MSS per round trip.
    run_rounds(cc, now, 1ms, 60);
    REQUIRE(cc.cwnd() > 100 * k_mss);
    std::uint32_t before = cc.cwnd();
    run_rounds(cc, now, 1ms, 10);
    CHECK(std::abs(double(cc.cwnd() - before) - 10.0 * k_mss) < k_mss);
}

TEST_CASE("tcp congestion: CUBIC fast convergence lowers W_max (RFC 9438 4.7)", "[tcp][congestion][cubic]") {
    TcpCongestion cc(CongestionAlgorithm::Cubic, k_mss, k_start);
    runtime::Instant now = k_start;
    grow_to(cc, now, 1000);
    cc.on_congestion_event(cc.cwnd(), now);
    cc.on_recovery_exit(now);
    REQUIRE(cc.cubic_w_max() == 1000 * k_mss);
    run_until(cc, now, 100ms, now + 3s);
    std::uint32_t at_loss = cc.cwnd();
    REQUIRE(at_loss < 1000 * k_mss);
    cc.on_congestion_event(at_loss, now);
    CHECK(cc.cubic_w_max() == std::uint64_t{at_loss} * 17 / 20);  // cwnd * (1 + beta) / 2
    CHECK(cc.ssthresh() == std::uint64_t{at_loss} * 7 / 10);
    // A loss above the previous W_max just remembers the window.
    cc.on_recovery_exit(now);
    run_until(cc, now, 100ms, now + 20s);
    std::uint32_t high = cc.cwnd();
    REQUIRE(high > cc.cubic_w_max());
    cc.on_congestion_event(high, now);
    CHECK(cc.cubic_w_max() == high);
}

TEST_CASE("tcp congestion: CUBIC's clock does not run while the flow is application limited",
          "[tcp][congestion][cubic]") {
    auto after_loss = [] {
        TcpCongestion cc(CongestionAlgorithm::Cubic, k_mss, k_start);
        grow_to(cc, k_start, 1000);
        cc.on_congestion_event(cc.cwnd(), k_start);
        cc.on_recovery_exit(k_start);
        return cc;
    };
    TcpCongestion busy = after_loss();
    runtime::Instant busy_now = k_start;
    run_until(busy, busy_now, 100ms, k_start + 2s);

    TcpCongestion paused = after_loss();
    runtime::Instant now = k_start;
    run_until(paused, now, 100ms, k_start + 1s);
    std::uint32_t before_pause = paused.cwnd();
    for (int i = 0; i < 100; ++i) paused.on_ack(k_mss, 10 * k_mss, now += 100ms, 100ms, 100ms);  // 10 s
    CHECK(paused.cwnd() == before_pause);
    paused.on_idle_restart(800ms, 1s);  // and a silence shorter than the RTO: only the clock moves
    now += 800ms;
    CHECK(paused.cwnd() == before_pause);
    run_until(paused, now, 100ms, now + 1s);
    // One more second of cwnd-limited sending lands where two seconds without pause did.
    CHECK(std::abs(double(paused.cwnd()) - double(busy.cwnd())) < 5 * k_mss);
}

TEST_CASE("tcp congestion: an idle restart falls back to the restart window (RFC 5681 4.1)", "[tcp][congestion]") {
    for (auto algorithm : {CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno}) {
        TcpCongestion cc(algorithm, k_mss, k_start);
        grow_to(cc, k_start, 50);
        cc.on_idle_restart(500ms, 1s);  // shorter than the RTO: nothing changes
        CHECK(cc.cwnd() == 50 * k_mss);
        cc.on_idle_restart(2s, 1s);
        CHECK(cc.cwnd() == 14600);
        TcpCongestion small(algorithm, k_mss, k_start);
        small.on_retransmission_timeout(0, k_start);
        small.on_idle_restart(2s, 1s);  // min(IW, cwnd): a small window is not raised
        CHECK(small.cwnd() == k_mss);
    }
}

TEST_CASE("tcp congestion: recovery exit deflates NewReno to ssthresh and never inflates", "[tcp][congestion]") {
    TcpCongestion cc(CongestionAlgorithm::NewReno, k_mss, k_start);
    grow_to(cc, k_start, 40);
    cc.on_congestion_event(40 * k_mss, k_start);
    cc.on_retransmission_timeout(40 * k_mss, k_start);  // a timeout during recovery
    cc.on_recovery_exit(k_start);
    CHECK(cc.cwnd() == k_mss);
    CHECK(cc.in_slow_start());
}

TEST_CASE("tcp congestion: huge windows saturate and never wrap", "[tcp][congestion]") {
    for (auto algorithm : {CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno}) {
        TcpCongestion cc(algorithm, 65535, k_start);
        runtime::Instant now = k_start;
        std::uint32_t previous = cc.cwnd();
        for (int i = 0; i < 200000; ++i) {
            cc.on_ack(TcpCongestion::k_infinite, TcpCongestion::k_infinite, now += 1ms, 1ms, 1ms);
            REQUIRE(cc.cwnd() >= previous);
            previous = cc.cwnd();
        }
        CHECK(cc.cwnd() == TcpCongestion::k_infinite);
        CHECK(cc.on_congestion_event(TcpCongestion::k_infinite, now) >= 2 * 65535U);
        cc.on_recovery_exit(now);
        previous = cc.cwnd();
        // An hour between cwnd-limited ACKs, for years (past the 52 days CUBIC's clock
        // counts), then a century: the window saturates.
        for (int i = 0; i < 40000; ++i) {
            cc.on_ack(TcpCongestion::k_infinite, TcpCongestion::k_infinite, now += 1h, 1h, 1h);
            REQUIRE(cc.cwnd() >= previous);
            previous = cc.cwnd();
        }
        cc.on_ack(65535, TcpCongestion::k_infinite, now += std::chrono::hours(24 * 365 * 100), 0ns, 0ns);
        CHECK(cc.cwnd() == TcpCongestion::k_infinite);
        // A clock that runs backwards does no harm either.
        cc.on_ack(65535, TcpCongestion::k_infinite, k_start, 0ns, 0ns);
        CHECK(cc.cwnd() == TcpCongestion::k_infinite);
    }
}
