// Loss recovery with hand-played peers: RACK finding a lost retransmission (RFC 8985),
// resending only the lost segment of a flight, the Eifel undo of a spurious timeout
// (RFC 3522, RFC 4015), and the receiver's D-SACK and SACK block order (RFC 2883, RFC 2018).

#include "test/unit/net/tcp_crafted.hpp"

using namespace test::crafted;

namespace {

TcpOptions with_sack() {
    TcpOptions o = mss_only();
    o.sack_permitted = true;
    return o;
}

TcpOptions sack_of(std::initializer_list<SackBlock> blocks) {
    TcpOptions o;
    for (const SackBlock& b : blocks) o.sack[o.sack_count++] = b;
    return o;
}

}  // namespace

TEST_CASE("tcp recovery: RACK finds a lost retransmission without a timeout (RFC 8985)", "[tcp][recovery]") {
    Fixture f;
    f.open_passive(with_sack());
    const auto& stats = f.stream.connection().stats();
    std::uint32_t mss = f.stream.connection().send_mss();
    REQUIRE(f.stream.try_write(bytes(std::size_t{4} * mss, 1)).value() == std::size_t{4} * mss);
    CHECK(f.take().size() == 4);
    // 5 ms later (before the tail loss probe's 10 ms) the peer SACKs segments 2-4: the
    // first is lost.
    f.advance(std::chrono::milliseconds(5));
    f.inject({.seq = f.rcv,
              .ack = f.snd,
              .flags = k_ack,
              .window = 65535,
              .options = sack_of({{f.snd + mss, f.snd + 4 * mss}})});
    SentSegment first = f.take_one();
    CHECK(first.seq == f.snd);
    CHECK(first.payload.size() == mss);
    CHECK(stats.fast_retransmits == 1);
    // A fifth segment goes out after that retransmission, which is lost as well.
    REQUIRE(f.stream.try_write(bytes(mss, 2)).value() == mss);
    SentSegment fifth = f.take_one();
    CHECK(fifth.seq == f.snd + 4 * mss);
    // The fifth is SACKed a round trip later: sent after the retransmission and delivered,
    // so the retransmission is lost too, and goes again at once.
    f.advance(std::chrono::milliseconds(5));
    f.inject({.seq = f.rcv,
              .ack = f.snd,
              .flags = k_ack,
              .window = 65535,
              .options = sack_of({{f.snd + mss, f.snd + 5 * mss}})});
    SentSegment again = f.take_one();
    CHECK(again.seq == f.snd);
    CHECK(again.payload.size() == mss);
    CHECK(stats.lost_retransmissions == 1);
    CHECK(stats.retransmitted_segments == 2);
    CHECK(stats.timeouts == 0);
    f.ack(f.snd + 5 * mss);
    CHECK(f.take().empty());
    CHECK(stats.fast_retransmits == 1);  // one recovery for both losses
}

TEST_CASE("tcp recovery: one lost segment of a flight is the only one resent", "[tcp][recovery]") {
    Fixture f;
    f.open_passive(with_sack());
    std::uint32_t mss = f.stream.connection().send_mss();
    REQUIRE(f.stream.try_write(bytes(std::size_t{10} * mss, 3)).value() == std::size_t{10} * mss);
    CHECK(f.take().size() == 10);
    f.advance(std::chrono::milliseconds(5));
    // Everything but the fourth segment arrived.
    f.inject({.seq = f.rcv,
              .ack = f.snd + 3 * mss,
              .flags = k_ack,
              .window = 65535,
              .options = sack_of({{f.snd + 4 * mss, f.snd + 10 * mss}})});
    auto out = f.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].seq == f.snd + 3 * mss);
    CHECK(out[0].payload.size() == mss);
    f.ack(f.snd + 10 * mss);
    CHECK(f.take().empty());
    CHECK(f.stream.connection().stats().retransmitted_segments == 1);
}

TEST_CASE("tcp recovery: a spurious timeout is undone by the Eifel algorithm (RFC 3522)", "[tcp][recovery]") {
    for (bool spurious : {true, false}) {
        TcpConfig config = crafted_config();
        config.tail_loss_probe = false;  // so that the first timer is the retransmission timeout
        Fixture f(config);
        f.open_passive(everything(500));
        const auto& connection = f.stream.connection();
        REQUIRE(connection.timestamps_enabled());
        std::uint32_t mss = connection.send_mss();
        REQUIRE(f.stream.try_write(bytes(std::size_t{4} * mss, 4)).value() == std::size_t{4} * mss);
        auto sent = f.take();
        REQUIRE(sent.size() == 4);
        REQUIRE(sent[0].options.timestamps);
        std::uint32_t original_ts = sent[0].options.timestamps->value;
        std::uint32_t cwnd_before = connection.cwnd();
        // The ACK is late: the timer fires and resends the first segment.
        REQUIRE(f.run_next_timer());
        SentSegment resent = f.take_one();
        CHECK(resent.seq == f.snd);
        REQUIRE(resent.options.timestamps);
        CHECK(connection.stats().timeouts == 1);
        CHECK(connection.cwnd() == mss);
        // The ACK for everything echoes the original's timestamp (spurious) or the
        // retransmission's (a real loss).
        std::uint32_t echo = spurious ? original_ts : resent.options.timestamps->value;
        f.inject({.seq = f.rcv, .ack = f.snd + 4 * mss, .flags = k_ack, .window = 65535, .options = [&] {
                      TcpOptions o;
                      o.timestamps = TcpTimestamps{++*f.ts_value, echo};
                      return o;
                  }()});
        if (spurious) {
            CHECK(connection.stats().spurious_timeouts == 1);
            CHECK(connection.cwnd() >= cwnd_before);
        } else {
            CHECK(connection.stats().spurious_timeouts == 0);
            CHECK(connection.cwnd() < cwnd_before);
        }
    }
}

TEST_CASE("tcp recovery: SACK blocks most recent first, and a D-SACK for a duplicate (RFC 2018 §4, RFC 2883)",
          "[tcp][recovery]") {
    Fixture f;
    f.open_passive(with_sack());
    auto piece = bytes(100, 5);
    // Three segments above a hole, arriving out of their order.
    f.data(f.rcv + 1000, piece);
    f.data(f.rcv + 3000, piece);
    f.data(f.rcv + 2000, piece);
    auto acks = f.take();
    REQUIRE(acks.size() == 3);  // each at once
    const TcpOptions& last = acks[2].options;
    REQUIRE(last.sack_count == 3);
    CHECK(last.sack[0] == SackBlock{f.rcv + 2000, f.rcv + 2100});  // the latest
    CHECK(last.sack[1] == SackBlock{f.rcv + 3000, f.rcv + 3100});  // then the one reported before
    CHECK(last.sack[2] == SackBlock{f.rcv + 1000, f.rcv + 1100});
    CHECK(acks[2].ack == f.rcv);

    // The segment at 3000 comes again: the ACK's first block reports the duplicate.
    f.data(f.rcv + 3000, piece);
    SentSegment dup = f.take_one();
    REQUIRE(dup.options.sack_count >= 2);
    CHECK(dup.options.sack[0] == SackBlock{f.rcv + 3000, f.rcv + 3100});
    // Reported once: the next ACK is back to the ordinary blocks.
    f.data(f.rcv + 5000, piece);
    SentSegment next = f.take_one();
    CHECK(next.options.sack[0] == SackBlock{f.rcv + 5000, f.rcv + 5100});

    // Data below RCV.NXT: a D-SACK block under the cumulative ACK.
    f.data(f.rcv, bytes(1000, 6));
    (void)f.take();
    f.data(f.rcv, bytes(1000, 6));
    SentSegment below = f.take_one();
    REQUIRE(below.options.sack_count >= 1);
    CHECK(below.options.sack[0] == SackBlock{f.rcv, f.rcv + 1000});
    CHECK(f.stream.connection().stats().dsacks_sent == 2);
}
