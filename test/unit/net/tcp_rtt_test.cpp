#include <catch2/catch.hpp>

#include "net/tcp_rtt.hpp"

using namespace net;
using namespace std::chrono_literals;

TEST_CASE("tcp rtt: before any sample the RTO is the initial one, SRTT unknown", "[tcp][rtt]") {
    TcpRttEstimator rtt;
    CHECK(rtt.rto() == 1s);
    CHECK_FALSE(rtt.srtt().has_value());
    CHECK(rtt.min_rtt() == 0ns);
    CHECK(rtt.rttvar() == 0ns);
}

TEST_CASE("tcp rtt: the first sample sets SRTT and RTTVAR (RFC 6298 2.2)", "[tcp][rtt]") {
    TcpRttEstimator rtt({.min_rto = 200ms});
    rtt.sample(100ms);
    CHECK(rtt.srtt() == 100ms);
    CHECK(rtt.rttvar() == 50ms);
    CHECK(rtt.rto() == 300ms);  // 100 + 4 * 50
    CHECK(rtt.min_rtt() == 100ms);
}

TEST_CASE("tcp rtt: later samples are smoothed with 1/8 and 1/4 (RFC 6298 2.3)", "[tcp][rtt]") {
    TcpRttEstimator rtt({.min_rto = 1ms});
    rtt.sample(100ms);
    rtt.sample(200ms);
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
    CHECK(rtt.rttvar() == 62500us);
    CHECK(rtt.srtt() == 112500us);
    CHECK(rtt.rto() == 112500us + 4 * 62500us);
    rtt.sample(40ms);
    CHECK(rtt.min_rtt() == 40ms);
    // A steady RTT: RTTVAR decays, SRTT converges, the RTO approaches SRTT + G.
    for (int i = 0; i < 200; ++i) rtt.sample(40ms);
    CHECK(rtt.srtt() == 40ms);
    CHECK(rtt.rttvar() < 1ms);
    CHECK(rtt.rto() == 41ms);  // the granularity G (1 ms) is the floor of the variance term
}

TEST_CASE("tcp rtt: the RTO is clamped to the minimum and maximum (RFC 6298 2.4, 2.5)", "[tcp][rtt]") {
    TcpRttEstimator rtt;
    rtt.sample(1ms);
    CHECK(rtt.rto() == 200ms);
    TcpRttEstimator slow;
    slow.sample(50s);
    CHECK(slow.rto() == 60s);
}

TEST_CASE("tcp rtt: back-off doubles up to the maximum and a sample or new ACK ends it", "[tcp][rtt]") {
    TcpRttEstimator rtt({.min_rto = 200ms});
    rtt.sample(100ms);
    REQUIRE(rtt.rto() == 300ms);
    rtt.back_off();
    CHECK(rtt.rto() == 600ms);
    CHECK(rtt.back_off_count() == 1);
    rtt.back_off();
    CHECK(rtt.rto() == 1200ms);
    for (int i = 0; i < 100; ++i) rtt.back_off();
    CHECK(rtt.rto() == 60s);  // never past max_rto, and the count keeps counting
    CHECK(rtt.back_off_count() == 102);
    rtt.reset_back_off();
    CHECK(rtt.rto() == 300ms);
    CHECK(rtt.srtt() == 100ms);  // SRTT is kept
    rtt.back_off();
    rtt.sample(100ms);  // a valid sample recomputes the RTO (Karn: only for new data)
    CHECK(rtt.back_off_count() == 0);
}

TEST_CASE("tcp rtt: back-off before the first sample starts from the initial RTO", "[tcp][rtt]") {
    TcpRttEstimator rtt;
    rtt.back_off();
    rtt.back_off();
    CHECK(rtt.rto() == 4s);
}

TEST_CASE("tcp rtt: absurd samples and configurations do not overflow", "[tcp][rtt]") {
    TcpRttEstimator rtt({.min_rto = 0ns, .max_rto = runtime::Duration::max(), .clock_granularity = 0ns});
    rtt.sample(-5s);
    CHECK(rtt.srtt() == 0ns);
    CHECK(rtt.rto() == 0ns);
    for (int i = 0; i < 1000; ++i) rtt.back_off();
    CHECK(rtt.rto() == 0ns);  // zero doubled stays zero, and the loop ends
    rtt.sample(runtime::Duration::max());
    CHECK(*rtt.srtt() <= 1h);
    for (int i = 0; i < 1000; ++i) rtt.back_off();
    CHECK(rtt.rto() == runtime::Duration::max());
    TcpRttEstimator inverted({.min_rto = 10s, .max_rto = 1s});
    inverted.sample(1ms);
    CHECK(inverted.rto() == 10s);
}
