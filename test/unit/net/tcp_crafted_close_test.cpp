// Crafted-segment tests, part 2: sending and its timers (RFC 6298), closing, RFC 5961's
// defences, PAWS, SYN cookies and the memory bounds. Part 1: tcp_crafted_test.cpp.

#include "net/tcp_scoreboard.hpp"
#include "test/unit/net/tcp_crafted.hpp"

using namespace test::crafted;
// --- ESTABLISHED: sending ---

TEST_CASE("tcp crafted: a zero send window is probed with back-off until it opens", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.ack(f.snd, 0);  // the peer's window closes
    CHECK(f.take().empty());
    auto payload = bytes(100, 5);
    REQUIRE(f.stream.try_write(payload));
    CHECK(f.take().empty());  // nothing may go

    runtime::Instant last = f.now();
    runtime::Duration interval = 200ms;  // the RTO (its 200 ms minimum), doubled per probe
    for (int i = 0; i < 3; ++i) {
        auto at = f.run_next_timer();
        REQUIRE(at);
        CHECK(*at - last == interval);
        SentSegment probe = f.take_one();
        CHECK(probe.is(k_ack));
        CHECK(probe.seq == f.snd - 1);  // an old number: the peer must answer
        CHECK(probe.payload.empty());
        last = *at;
        interval *= 2;
    }
    CHECK(f.stream.connection().stats().zero_window_probes == 3);
    f.ack(f.snd, 1000);  // the answer opens the window
    SentSegment s = f.take_one();
    CHECK(s.seq == f.snd);
    CHECK(s.payload == payload);
}

TEST_CASE("tcp crafted: Nagle holds small segments while data is unacknowledged", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto a = bytes(10, 1), b = bytes(10, 2), c = bytes(10, 3);
    REQUIRE(f.stream.try_write(a));
    CHECK(f.take_one().payload == a);  // nothing in flight: goes at once
    REQUIRE(f.stream.try_write(b));
    REQUIRE(f.stream.try_write(c));
    CHECK(f.take().empty());  // held
    f.ack(f.snd + 10);
    SentSegment s = f.take_one();
    CHECK(s.seq == f.snd + 10);
    CHECK(s.payload.size() == 20);  // coalesced

    f.snd += 30;
    f.ack(f.snd);
    f.stream.set_nodelay(true);
    REQUIRE(f.stream.try_write(a));
    REQUIRE(f.stream.try_write(b));
    auto out = f.take();
    REQUIRE(out.size() == 2);
    CHECK(out[0].payload == a);
    CHECK(out[1].payload == b);
    CHECK(out[1].seq == f.snd + 10);
}

TEST_CASE("tcp crafted: retransmission timeout values and back-off (RFC 6298)", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto payload = bytes(100, 6);
    REQUIRE(f.stream.try_write(payload));
    CHECK(f.take_one().payload == payload);
    runtime::Instant last = f.now();
    // §2.4: at least min_rto (200 ms by default); §5.5: doubled per timeout; §2.5: capped
    // at 60 s.
    std::vector<runtime::Duration> expected = {200ms,   400ms,   800ms,   1600ms, 3200ms, 6400ms,
                                               12800ms, 25600ms, 51200ms, 60s,    60s,    60s};
    REQUIRE(expected.size() == f.tcp.config().max_retransmissions);
    for (auto interval : expected) {
        auto at = f.run_next_timer();
        REQUIRE(at);
        CHECK(*at - last == interval);
        SentSegment s = f.take_one();
        CHECK(s.seq == f.snd);
        CHECK(s.payload == payload);
        last = *at;
    }
    CHECK(f.stream.connection().stats().timeouts == 12);
    // One more timeout: the connection is reset and times out.
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - last == 60s);
    SentSegment rst = f.take_one();
    CHECK(rst.has(k_rst));
    CHECK(f.stream.state() == TcpState::Closed);
    std::array<std::byte, 8> buffer{};
    auto n = f.stream.try_read(buffer);
    REQUIRE(!n);
    CHECK(n.error() == TcpError::TimedOut);
}

TEST_CASE("tcp crafted: a tail loss probe resends the last segment after two round trips (RFC 8985)",
          "[tcp][crafted]") {
    Fixture f;
    TcpOptions offer = mss_only();
    offer.sack_permitted = true;
    f.open_passive(offer);
    const TcpRttEstimator& rtt = f.stream.connection().rtt();
    REQUIRE(f.stream.try_write(bytes(100, 1)));
    (void)f.take();
    f.advance(100ms);    // within the RTO (200 ms at least)
    f.ack(f.snd + 100);  // an RTT sample
    f.snd += 100;
    REQUIRE(rtt.srtt());
    runtime::Duration pto = std::max<runtime::Duration>(2 * *rtt.srtt(), 10ms);

    // Four segments, no ACK: after the PTO the last goes out again, once.
    std::uint32_t mss = f.stream.connection().send_mss();
    auto payload = bytes(std::size_t{4} * mss, 2);
    REQUIRE(f.stream.try_write(payload).value() == payload.size());
    CHECK(f.take().size() == 4);
    runtime::Instant sent = f.now();
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - sent == pto);
    SentSegment probe = f.take_one();
    CHECK(probe.seq == f.snd + 3 * mss);
    CHECK(probe.payload.size() == mss);
    CHECK(f.stream.connection().stats().tail_loss_probes == 1);
    // The answer to the probe SACKs all but the first segment: that one is the hole, and
    // fast recovery (RFC 6675) resends it at once instead of after the retransmission
    // timeout.
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_ack, .window = 65535, .options = [&] {
                  TcpOptions o;
                  o.sack[0] = SackBlock{f.snd + mss, f.snd + 4 * mss};
                  o.sack_count = 1;
                  return o;
              }()});
    SentSegment repair = f.take_one();
    CHECK(repair.seq == f.snd);
    CHECK(repair.payload.size() == mss);
    CHECK(f.stream.connection().stats().fast_retransmits == 1);
    CHECK(f.stream.connection().stats().timeouts == 0);
}

TEST_CASE("tcp crafted: without SACK there is no tail loss probe", "[tcp][crafted]") {
    Fixture g;
    g.open_passive();
    REQUIRE(g.stream.try_write(bytes(100, 3)));
    (void)g.take();
    runtime::Instant start = g.now();
    auto rto = g.run_next_timer();
    REQUIRE(rto);
    CHECK(*rto - start == 200ms);
    CHECK(g.stream.connection().stats().tail_loss_probes == 0);
}

TEST_CASE("tcp crafted: Karn: no RTT sample from a retransmitted segment, back-off ends", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    const TcpRttEstimator& rtt = f.stream.connection().rtt();
    REQUIRE(rtt.sample_count() == 1);  // the handshake

    auto payload = bytes(100, 7);
    REQUIRE(f.stream.try_write(payload));
    (void)f.take();
    f.advance(150ms);
    f.ack(f.snd + 100);  // timed, not retransmitted: a sample
    CHECK(rtt.sample_count() == 2);
    REQUIRE(rtt.srtt());
    CHECK(rtt.srtt()->count() == (std::chrono::nanoseconds(150ms) / 8).count());  // §2.3, from SRTT 0
    f.snd += 100;

    REQUIRE(f.stream.try_write(payload));
    (void)f.take();
    REQUIRE(f.run_next_timer());
    CHECK(f.take_one().seq == f.snd);  // retransmitted
    CHECK(rtt.back_off_count() == 1);
    f.advance(500ms);
    f.ack(f.snd + 100);
    CHECK(rtt.sample_count() == 2);  // Karn: ambiguous, not sampled
    CHECK(rtt.back_off_count() == 0);
    CHECK(rtt.rto() == 200ms);
}

TEST_CASE("tcp crafted: keepalive probes after idle, answered or not", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.stream.set_keepalive(10s);
    runtime::Instant start = f.now();
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - start == 10s);
    SentSegment probe = f.take_one();
    CHECK(probe.is(k_ack));
    CHECK(probe.seq == f.snd - 1);
    CHECK(probe.payload.empty());
    f.ack(f.snd);  // alive: the idle time starts again
    start = f.now();
    at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - start == 10s);
    (void)f.take_one();
    // Silence: keepalive_probes probes keepalive_interval apart, then a reset.
    runtime::Instant last = *at;
    for (unsigned i = 1; i < f.tcp.config().keepalive_probes; ++i) {
        at = f.run_next_timer();
        REQUIRE(at);
        CHECK(*at - last == f.tcp.config().keepalive_interval);
        CHECK(f.take_one().seq == f.snd - 1);
        last = *at;
    }
    at = f.run_next_timer();
    REQUIRE(at);
    SentSegment rst = f.take_one();
    CHECK(rst.has(k_rst));
    CHECK(f.stream.state() == TcpState::Closed);
    std::array<std::byte, 8> buffer{};
    auto n = f.stream.try_read(buffer);
    REQUIRE(!n);
    CHECK(n.error() == TcpError::TimedOut);
}

// --- closing ---

TEST_CASE("tcp crafted: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2 MSL", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.stream.shutdown();
    SentSegment fin = f.take_one();
    CHECK(fin.is(k_fin_ack));
    CHECK(fin.seq == f.snd);
    CHECK(f.stream.state() == TcpState::FinWait1);
    f.ack(f.snd + 1);
    CHECK(f.stream.state() == TcpState::FinWait2);
    CHECK(f.take().empty());
    f.snd += 1;
    // Data still arrives in FIN-WAIT-2, then the peer's FIN.
    auto payload = bytes(10);
    f.data(f.rcv, payload, static_cast<std::uint8_t>(k_ack | k_fin));
    CHECK(f.stream.state() == TcpState::TimeWait);
    SentSegment ack = f.take_one();
    CHECK(ack.ack == f.rcv + 11);
    f.rcv += 11;
    CHECK(f.read_all() == payload);
    std::array<std::byte, 8> buffer{};
    CHECK(value_of(f.stream.try_read(buffer)) == 0);  // end of stream

    runtime::Instant entered = f.now();
    f.advance(10s);
    // A retransmitted FIN is acknowledged again.
    f.inject({.seq = f.rcv - 1, .ack = f.snd, .flags = k_fin_ack});
    SentSegment again = f.take_one();
    CHECK(again.is(k_ack));
    CHECK(again.ack == f.rcv);
    // RFC 1337: a reset does not end TIME-WAIT, even one with the exact number.
    f.inject({.seq = f.rcv, .flags = k_rst});
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_rst_ack});
    CHECK(f.take().empty());
    CHECK(f.stream.state() == TcpState::TimeWait);

    f.stream.close();
    CHECK(f.tcp.connection_count() == 1);  // TIME-WAIT holds the four-tuple
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - entered >= 2 * f.tcp.config().msl);
    CHECK(*at - entered <= 2 * f.tcp.config().msl + 10s);
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.memory_used() == 0);
}

TEST_CASE("tcp crafted: FIN-WAIT-2 gives up after its timeout once the application closed", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.stream.close();
    SentSegment fin = f.take_one();
    CHECK(fin.has(k_fin));
    f.ack(f.snd + 1);
    CHECK(f.tcp.connection_count() == 1);
    runtime::Instant start = f.now();
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - start == f.tcp.config().fin_wait_2_timeout);
    CHECK(f.tcp.connection_count() == 0);
}

TEST_CASE("tcp crafted: CLOSING on a simultaneous close", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.stream.shutdown();
    SentSegment fin = f.take_one();
    CHECK(fin.has(k_fin));
    // The peer's FIN crosses ours: it does not acknowledge our FIN.
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_fin_ack});
    CHECK(f.stream.state() == TcpState::Closing);
    SentSegment ack = f.take_one();
    CHECK(ack.ack == f.rcv + 1);
    f.rcv += 1;
    f.ack(f.snd + 1);
    CHECK(f.stream.state() == TcpState::TimeWait);
}

TEST_CASE("tcp crafted: CLOSE-WAIT and LAST-ACK", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_fin_ack});
    CHECK(f.stream.state() == TcpState::CloseWait);
    SentSegment ack = f.take_one();  // a FIN is acknowledged at once
    CHECK(ack.ack == f.rcv + 1);
    f.rcv += 1;
    std::array<std::byte, 8> buffer{};
    CHECK(value_of(f.stream.try_read(buffer)) == 0);

    // This side may still send.
    auto payload = bytes(20);
    REQUIRE(f.stream.try_write(payload));
    CHECK(f.take_one().payload == payload);
    f.ack(f.snd + 20);
    f.snd += 20;

    f.stream.shutdown();
    CHECK(f.stream.state() == TcpState::LastAck);
    SentSegment fin = f.take_one();
    CHECK(fin.is(k_fin_ack));
    CHECK(fin.seq == f.snd);
    f.ack(f.snd + 1);
    CHECK(f.stream.state() == TcpState::Closed);
    f.stream.close();
    CHECK(f.tcp.connection_count() == 0);
}

// --- RFC 5961 ---

TEST_CASE("tcp crafted: RFC 5961 §3: only a reset at RCV.NXT resets", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.inject({.seq = f.rcv + 1000, .flags = k_rst});  // in the window, not exact
    SentSegment challenge = f.take_one();
    CHECK(challenge.is(k_ack));
    CHECK(challenge.seq == f.snd);
    CHECK(challenge.ack == f.rcv);
    CHECK(f.stream.state() == TcpState::Established);
    CHECK(f.stream.connection().stats().challenge_acks == 1);

    f.inject({.seq = f.rcv + 70000, .flags = k_rst});  // outside the window
    f.inject({.seq = f.rcv - 1, .flags = k_rst});      // below it
    CHECK(f.take().empty());
    CHECK(f.stream.state() == TcpState::Established);

    f.inject({.seq = f.rcv, .flags = k_rst});
    CHECK(f.take().empty());
    CHECK(f.stream.state() == TcpState::Closed);
    std::array<std::byte, 8> buffer{};
    auto n = f.stream.try_read(buffer);
    REQUIRE(!n);
    CHECK(n.error() == TcpError::Reset);
}

TEST_CASE("tcp crafted: RFC 5961 §4: a SYN in ESTABLISHED gets a challenge ACK", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.inject({.seq = f.rcv + 5, .flags = k_syn, .options = mss_only()});
    SentSegment challenge = f.take_one();
    CHECK(challenge.is(k_ack));
    CHECK(challenge.ack == f.rcv);
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_syn_ack});
    CHECK(f.take_one().is(k_ack));
    CHECK(f.stream.state() == TcpState::Established);
    // The connection still works.
    auto payload = bytes(30);
    f.data(f.rcv, payload);
    CHECK(f.read_all() == payload);
}

TEST_CASE("tcp crafted: RFC 5961 §5: an ACK too old gets a challenge ACK and its data is dropped", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto payload = bytes(50);
    // Acceptable: SND.UNA - MAX.SND.WND <= SEG.ACK (an old duplicate).
    f.inject({.seq = f.rcv, .ack = f.snd - 60000, .flags = k_ack, .payload = payload});
    CHECK(f.read_all() == payload);
    (void)f.take();
    f.rcv += 50;
    f.inject({.seq = f.rcv, .ack = f.snd - 70000, .flags = k_ack, .payload = payload});
    SentSegment challenge = f.take_one();
    CHECK(challenge.is(k_ack));
    CHECK(challenge.ack == f.rcv);
    CHECK(!f.stream.readable());
    CHECK(f.stream.connection().stats().challenge_acks == 1);
}

TEST_CASE("tcp crafted: an ACK above SND.NXT is answered with an ACK and dropped", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto payload = bytes(50);
    f.inject({.seq = f.rcv, .ack = f.snd + 10, .flags = k_ack, .payload = payload});
    SentSegment ack = f.take_one();
    CHECK(ack.is(k_ack));
    CHECK(ack.ack == f.rcv);
    CHECK(!f.stream.readable());
    CHECK(f.stream.state() == TcpState::Established);
}

TEST_CASE("tcp crafted: RFC 5961 §7: challenge ACKs are rate limited", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.challenge_acks_per_second = 2;
    Fixture f(config);
    f.open_passive();
    for (int i = 0; i < 5; ++i) f.inject({.seq = f.rcv + 1, .flags = k_syn});
    CHECK(f.take().size() == 2);
    CHECK(f.tcp.stats().challenge_acks_limited == 3);
    f.advance(1s);
    f.inject({.seq = f.rcv + 1, .flags = k_syn});
    CHECK(f.take().size() == 1);
    CHECK(f.stream.state() == TcpState::Established);
}

TEST_CASE("tcp crafted: PAWS drops a segment with an old timestamp", "[tcp][crafted]") {
    Fixture f;
    f.open_passive(everything(5000));
    auto payload = bytes(40);
    f.data(f.rcv, payload);  // TSval 5002: fine
    CHECK(f.read_all() == payload);
    f.rcv += 40;
    (void)f.take();
    TcpOptions old;
    old.timestamps = TcpTimestamps{4000, f.ts_echo};
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_ack, .options = old, .payload = payload});
    SentSegment ack = f.take_one();
    CHECK(ack.ack == f.rcv);
    CHECK(!f.stream.readable());
    CHECK(f.stream.connection().stats().paws_rejected == 1);
}

// --- SYN cookies ---

TEST_CASE("tcp crafted: SYN cookies carry MSS, window scale and SACK to ESTABLISHED", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.syn_queue = 0;
    Fixture f(config);
    REQUIRE(f.listener.listen(test::k_local_port));
    TcpOptions offer = everything(5000);
    offer.mss = 1300;
    offer.window_scale = 5;
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = offer});
    SentSegment syn_ack = f.take_one();
    CHECK(syn_ack.is(k_syn_ack));
    CHECK(syn_ack.ack == k_peer_isn + 1);
    CHECK(syn_ack.options.mss == std::optional<std::uint16_t>(1460));
    CHECK(syn_ack.options.window_scale == std::optional<std::uint8_t>(1));
    CHECK(syn_ack.options.sack_permitted);
    CHECK(!syn_ack.options.timestamps);  // nowhere to keep them
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.stats().syn_cookies_sent == 1);

    f.snd = syn_ack.seq + 1;
    f.rcv = k_peer_isn + 1;
    auto payload = bytes(25);
    f.inject({.seq = f.rcv, .ack = f.snd, .flags = k_ack, .window = 1000, .payload = payload});
    CHECK(f.tcp.stats().syn_cookies_accepted == 1);
    CHECK(f.tcp.connection_count() == 1);
    auto accepted = f.listener.try_accept();
    REQUIRE(accepted);
    f.stream = std::move(*accepted);
    CHECK(f.stream.state() == TcpState::Established);
    CHECK(f.stream.connection().send_mss() == 1200);  // 1300 rounded down to the cookie's table
    CHECK(f.stream.connection().send_window_scale() == 5);
    CHECK(f.stream.connection().sack_enabled());
    CHECK(!f.stream.connection().timestamps_enabled());
    CHECK(f.read_all() == payload);  // data on the final ACK is kept
    f.rcv += 25;

    auto reply = bytes(10);
    REQUIRE(f.stream.try_write(reply));
    auto out = f.take();
    REQUIRE(!out.empty());
    CHECK(out.back().seq == f.snd);
    CHECK(out.back().ack == f.rcv);
    CHECK(out.back().payload == reply);
}

TEST_CASE("tcp crafted: a forged cookie ACK gets a reset", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.syn_queue = 0;
    Fixture f(config);
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t cookie = f.take_one().seq;
    f.inject({.seq = k_peer_isn + 1, .ack = cookie + 2, .flags = k_ack});
    SentSegment rst = f.take_one();
    CHECK(rst.is(k_rst));
    CHECK(rst.seq == cookie + 2);
    f.inject({.seq = k_peer_isn + 2, .ack = cookie + 1, .flags = k_ack});  // wrong peer ISN
    CHECK(f.take_one().is(k_rst));
    CHECK(f.tcp.stats().syn_cookies_rejected == 2);
    CHECK(f.tcp.connection_count() == 0);
    CHECK(!f.listener.try_accept());
}

// --- memory and table bounds ---

TEST_CASE("tcp crafted: memory_limit refuses connections cleanly", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.memory_limit = std::size_t{100} * 1024;  // less than one connection's 128 KiB
    Fixture f(config);
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    f.inject({.seq = k_peer_isn + 1, .ack = iss + 1, .flags = k_ack});
    SentSegment rst = f.take_one();
    CHECK(rst.has(k_rst));
    CHECK(rst.seq == iss + 1);
    CHECK(!f.listener.try_accept());
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.listener.half_open() == 0);
    CHECK(f.tcp.stats().no_memory >= 1);
    CHECK(f.tcp.memory_used() == 0);

    auto connected = f.tcp.start_connect(test::k_peer_ip, 9);
    REQUIRE(!connected);
    CHECK(connected.error() == TcpError::NoMemory);
    CHECK(f.tcp.connection_count() == 0);
}

TEST_CASE("tcp crafted: near memory_limit a connection gets smaller buffers, down to min_buffer", "[tcp][crafted]") {
    // Each connection's buffers and its scoreboard.
    auto cost = [](std::size_t each_way) {
        return 2 * each_way + TcpScoreboard::bytes_for(TcpScoreboard::capacity_for(each_way));
    };
    TcpConfig config;
    config.send_buffer = config.receive_buffer = std::size_t{256} * 1024;
    config.min_buffer = std::size_t{64} * 1024;
    config.memory_limit = cost(std::size_t{256} * 1024) + cost(std::size_t{64} * 1024);
    Fixture f(config);
    auto first = f.tcp.start_connect(test::k_peer_ip, 9);
    REQUIRE(first);
    CHECK(f.tcp.memory_used() == cost(std::size_t{256} * 1024));                 // the full 256 KiB each way
    CHECK(f.take_one().options.window_scale == std::optional<std::uint8_t>(3));  // 256 KiB needs a shift of 3
    // 128 KiB left: halved twice, to 64 KiB each way.
    auto second = f.tcp.start_connect(test::k_peer_ip, 10);
    REQUIRE(second);
    CHECK(f.tcp.memory_used() == config.memory_limit);
    CHECK(f.take_one().options.window_scale == std::optional<std::uint8_t>(1));  // sized for its 64 KiB
    // Nothing left, and min_buffer is the floor: refused.
    auto third = f.tcp.start_connect(test::k_peer_ip, 11);
    REQUIRE(!third);
    CHECK(third.error() == TcpError::NoMemory);
    CHECK(f.tcp.memory_used() == config.memory_limit);
}

TEST_CASE("tcp crafted: max_connections refuses connections cleanly", "[tcp][crafted]") {
    for (bool cookies : {false, true}) {
        TcpConfig config = crafted_config();
        config.max_connections = 1;
        config.syn_cookies = cookies;
        Fixture f(config);
        REQUIRE(f.listener.listen(test::k_local_port));
        f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
        CHECK(f.take_one().is(k_syn_ack));
        f.their_port = test::k_peer_port + 1;
        f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
        auto out = f.take();
        CHECK(f.tcp.connection_count() == 1);
        if (cookies) {
            REQUIRE(out.size() == 1);
            CHECK(out[0].is(k_syn_ack));
            CHECK(f.tcp.stats().syn_cookies_sent == 1);
        } else {
            CHECK(out.empty());
            CHECK(f.tcp.stats().table_full == 1);
        }
        auto connected = f.tcp.start_connect(test::k_peer_ip, 9);
        REQUIRE(!connected);
        CHECK(connected.error() == TcpError::TooManyConnections);
    }
}

TEST_CASE("tcp crafted: a flood of 10000 SYNs costs bounded memory", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.syn_queue = 16;
    Fixture f(config);
    REQUIRE(f.listener.listen(test::k_local_port));
    std::vector<std::uint16_t> ports(65536 - 1024);
    std::iota(ports.begin(), ports.end(), std::uint16_t{1024});
    std::mt19937 random(12345);
    std::shuffle(ports.begin(), ports.end(), random);
    std::size_t syn_acks = 0;
    std::uint16_t cookie_port = 0;
    std::uint32_t cookie = 0, cookie_isn = 0;
    for (std::size_t i = 0; i < 10000; ++i) {
        f.their_port = ports[i];
        auto isn = static_cast<std::uint32_t>(random());
        f.inject({.seq = isn, .flags = k_syn, .options = mss_only()});
        for (const auto& s : f.take()) {
            if (!s.is(k_syn_ack)) continue;
            ++syn_acks;
            if (i == 5000) {
                cookie_port = ports[i];
                cookie = s.seq;
                cookie_isn = isn;
            }
        }
        REQUIRE(f.tcp.connection_count() <= 16);
    }
    CHECK(syn_acks == 10000);
    CHECK(f.listener.half_open() == 16);
    CHECK(f.tcp.stats().syn_cookies_sent == 10000 - 16);
    CHECK(f.tcp.memory_used() == 0);
    CHECK(f.device.pool().stats().free == f.device.pool().stats().buffers);
    // A cookie from the middle of the flood still completes.
    f.their_port = cookie_port;
    f.inject({.seq = cookie_isn + 1, .ack = cookie + 1, .flags = k_ack});
    CHECK(f.listener.try_accept());
    CHECK(f.tcp.stats().syn_cookies_accepted == 1);
}

TEST_CASE("tcp crafted: closing a listener resets its half-open connections", "[tcp][crafted]") {
    // Found by these tests: aborting a SYN-RECEIVED connection, whose buffers are not yet
    // allocated, divided by the send ring's zero capacity.
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    f.listener.close();
    SentSegment rst = f.take_one();
    CHECK(rst.has(k_rst));
    CHECK(rst.seq == iss + 1);
    CHECK(rst.ack == k_peer_isn + 1);
    CHECK(f.tcp.connection_count() == 0);
}

TEST_CASE("tcp crafted: closing a listener resets and frees connections nobody accepted", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    f.inject({.seq = k_peer_isn + 1, .ack = iss + 1, .flags = k_ack});
    CHECK(f.listener.queued() == 1);
    CHECK(f.tcp.memory_used() > 0);
    f.listener.close();
    SentSegment rst = f.take_one();
    CHECK(rst.has(k_rst));
    CHECK(rst.seq == iss + 1);
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.memory_used() == 0);
}

TEST_CASE("tcp crafted: a connection reset in the accept queue is freed", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    f.inject({.seq = k_peer_isn + 1, .ack = iss + 1, .flags = k_ack});
    CHECK(f.listener.queued() == 1);
    f.inject({.seq = k_peer_isn + 1, .flags = k_rst});
    CHECK(f.listener.queued() == 0);
    CHECK(!f.listener.try_accept());
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.memory_used() == 0);
}

TEST_CASE("tcp crafted: a new SYN for a TIME-WAIT four-tuple whose stream is still held", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    f.stream.shutdown();
    (void)f.take_one();
    f.inject({.seq = f.rcv, .ack = f.snd + 1, .flags = k_fin_ack});
    REQUIRE(f.stream.state() == TcpState::TimeWait);
    CHECK(f.take_one().ack == f.rcv + 1);
    // RFC 6191: a SYN above the old connection's numbers may start a new one at once.
    f.inject({.seq = f.rcv + 100'000, .flags = k_syn, .options = mss_only()});
    SentSegment syn_ack = f.take_one();
    CHECK(syn_ack.is(k_syn_ack));
    CHECK(syn_ack.ack == f.rcv + 100'001);
    // The old stream still works as a handle: it reads the end of its stream.
    std::array<std::byte, 8> buffer{};
    CHECK(value_of(f.stream.try_read(buffer)) == 0);
    CHECK(f.stream.state() == TcpState::Closed);
    f.stream.close();
    CHECK(f.tcp.connection_count() == 1);  // the new, half-open one
}

TEST_CASE("tcp crafted: a window too small for SWS avoidance is used after the override timeout", "[tcp][crafted]") {
    // Found by the fuzz target: a peer offering 15 bytes left data waiting with no timer
    // at all (the persist timer ran only for a zero window), for ever.
    Fixture f;
    f.open_passive();
    f.ack(f.snd, 15);
    auto payload = bytes(40, 8);
    REQUIRE(f.stream.try_write(payload));
    CHECK(f.take().empty());  // RFC 1122 §4.2.3.4: 15 bytes is under half the largest window
    runtime::Instant start = f.now();
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - start == 200ms);
    SentSegment s = f.take_one();
    CHECK(s.seq == f.snd);
    CHECK(s.payload == std::vector<std::byte>(payload.begin(), payload.begin() + 15));
    f.ack(f.snd + 15, 15);
    f.snd += 15;
    CHECK(f.take().empty());
    REQUIRE(f.run_next_timer());
    SentSegment t = f.take_one();
    CHECK(t.seq == f.snd);
    CHECK(t.payload.size() == 15);
    f.ack(f.snd + 15, 1000);  // room for the rest: sent at once
    SentSegment u = f.take_one();
    CHECK(u.seq == f.snd + 15);
    CHECK(u.payload.size() == 10);
}
