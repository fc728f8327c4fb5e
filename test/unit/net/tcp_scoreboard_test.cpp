// The sender's scoreboard (net/tcp_scoreboard), RACK's loss rule (net/tcp_rack) and PRR's
// window during recovery (net/tcp_prr), without a connection.

#include <catch2/catch.hpp>

#include "net/tcp_prr.hpp"
#include "net/tcp_rack.hpp"
#include "net/tcp_scoreboard.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

runtime::Instant at(runtime::Duration d) { return runtime::Instant{} + d; }

}  // namespace

TEST_CASE("tcp scoreboard: a TSO send is recorded as its segments; one lost frame is one entry", "[tcp][recovery]") {
    TcpScoreboard board;
    REQUIRE(board.allocate(TcpScoreboard::capacity_for(std::size_t{256} * 1024)));
    board.reset(1000);
    constexpr std::uint32_t mss = 1448;
    board.on_sent(1000, 1000 + 45 * mss, mss, at(0ms));  // a 64 KiB send, 45 frames
    REQUIRE(board.size() == 45);
    CHECK(board.in_flight() == 45 * mss);
    // Frame 7 lost: the peer acknowledges 0-6 and SACKs 8-44.
    std::size_t delivered = 0;
    CHECK(board.acknowledge(1000 + 7 * mss, [&](const ScoreboardEntry&) { ++delivered; }) == 7 * mss);
    CHECK(delivered == 7);
    CHECK(board.sack({1000 + 8 * mss, 1000 + 45 * mss}, [](const ScoreboardEntry&) {}) == 37 * mss);
    CHECK(board.sacked_segments() == 37);
    CHECK(board.in_flight() == mss);

    TcpRack rack;
    // The last frame's delivery 1 ms after the send: frame 7 is lost, nothing else.
    ScoreboardEntry last = board[board.size() - 1];
    rack.on_delivered(last, false, at(1ms));
    auto found = rack.detect_loss(board, rack.reo_wnd(false, board.sacked_segments(), 1ms, 1ms), at(1ms));
    CHECK(found.newly_lost == 1);
    REQUIRE(board.first_lost());
    CHECK(board[*board.first_lost()].start == 1000 + 7 * mss);
    CHECK(board.lost_bytes() == mss);
    CHECK(board.in_flight() == 0);
    // Resent: in flight again, once.
    board.on_sent(1000 + 7 * mss, 1000 + 8 * mss, mss, at(2ms));
    CHECK(board.in_flight() == mss);
    CHECK(board[0].retransmitted());
    CHECK(board.acknowledge(1000 + 45 * mss, [](const ScoreboardEntry&) {}) == mss);
    CHECK(board.empty());
}

TEST_CASE("tcp scoreboard: SACK edges inside an entry split it", "[tcp][recovery]") {
    TcpScoreboard board;
    REQUIRE(board.allocate(64));
    board.reset(0);
    board.on_sent(0, 3000, 1000, at(0ms));
    REQUIRE(board.size() == 3);
    CHECK(board.sack({1500, 2500}, [](const ScoreboardEntry&) {}) == 1000);
    CHECK(board.sacked_bytes() == 1000);
    CHECK(board.in_flight() == 2000);
    CHECK(board.find(1500).has_value());
    CHECK(board[*board.find(1500)].start == 1500);
    CHECK(board[*board.find(1500)].sacked);
    CHECK(!board[*board.find(1499)].sacked);
}

TEST_CASE("tcp rack: a reordering window holds off a loss until its timer (RFC 8985 §6.2)", "[tcp][recovery]") {
    TcpScoreboard board;
    REQUIRE(board.allocate(64));
    board.reset(0);
    board.on_sent(0, 1000, 1000, at(0ms));
    board.on_sent(1000, 2000, 1000, at(1ms));
    TcpRack rack;
    (void)board.sack({1000, 2000}, [&](const ScoreboardEntry& e) { rack.on_delivered(e, false, at(11ms)); });
    CHECK(rack.rtt() == 10ms);
    // One SACKed segment, no recovery: a window of min_RTT / 4 = 2.5 ms.
    runtime::Duration window = rack.reo_wnd(false, board.sacked_segments(), 10ms, 10ms);
    CHECK(window == 2500us);
    auto found = rack.detect_loss(board, window, at(11ms));
    CHECK(found.newly_lost == 0);
    REQUIRE(found.timeout);
    CHECK(*found.timeout == 1500us);  // 0 + 10 ms + 2.5 ms - 11 ms
    found = rack.detect_loss(board, window, at(11ms) + *found.timeout);
    CHECK(found.newly_lost == 1);
}

TEST_CASE("tcp prr: cwnd comes down to ssthresh in proportion to deliveries (RFC 6937)", "[tcp][recovery]") {
    constexpr std::uint32_t mss = 1000;
    TcpPrr prr;
    // Ten segments in flight, one lost; ssthresh 0.7 of the flight.
    std::uint32_t ssthresh = 7000;
    prr.start(ssthresh, 10 * mss);
    std::uint32_t in_flight = 9 * mss;  // the lost one is not in the pipe
    std::uint32_t sent = 0;
    std::vector<std::uint32_t> trace;
    for (int ack = 0; ack < 9; ++ack) {
        in_flight -= mss;  // one segment delivered per ACK
        std::uint32_t sndcnt = prr.on_ack(mss, in_flight, mss);
        trace.push_back(in_flight + sndcnt);  // cwnd
        // Send what is allowed, in whole segments.
        std::uint32_t segments = sndcnt / mss;
        prr.on_sent(segments * mss);
        sent += segments * mss;
        in_flight += segments * mss;
    }
    // The first ACK lets the retransmission out; after nine deliveries about 0.7 of them
    // went out again, never a burst.
    CHECK(sent >= 6 * mss);
    CHECK(sent <= 7 * mss);
    CHECK(prr.out() == sent);
    CHECK(prr.delivered() == std::uint64_t{9} * mss);
    for (std::uint32_t cwnd : trace) CHECK(cwnd <= 9 * mss);  // never above the flight at the start
    CHECK(trace.back() <= ssthresh + mss);
}
