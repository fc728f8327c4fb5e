// Crafted-segment tests, part 1: opening and receiving. One TcpLayer, and a peer played by
// hand: each segment is built with TcpSegment::emit and injected; what the layer answers
// is parsed and checked field by field, state by state (RFC 9293 §3.10.7). Time moves only
// when a test moves it. Part 2 (tcp_crafted_close_test.cpp): sending, timers, closing,
// RFC 5961, PAWS, SYN cookies and the memory bounds.

#include "test/unit/net/tcp_crafted.hpp"

using namespace test::crafted;

// --- LISTEN (RFC 9293 §3.10.7.2) ---

TEST_CASE("tcp crafted: LISTEN ignores a reset", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = 5, .flags = k_rst});
    f.inject({.seq = 5, .ack = 9, .flags = k_rst_ack});
    CHECK(f.take().empty());
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.stats().resets_sent == 0);
}

TEST_CASE("tcp crafted: LISTEN answers an ACK with <SEQ=SEG.ACK><CTL=RST>", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = 5, .ack = 77777, .flags = k_ack});
    SentSegment rst = f.take_one();
    CHECK(rst.is(k_rst));
    CHECK(rst.seq == 77777);
    CHECK(rst.source_port == test::k_local_port);
    CHECK(rst.destination_port == test::k_peer_port);
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.tcp.stats().syn_cookies_rejected == 1);
}

TEST_CASE("tcp crafted: a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>", "[tcp][crafted]") {
    Fixture f;
    f.inject({.seq = 4242, .flags = k_syn, .options = mss_only()});
    SentSegment rst = f.take_one();
    CHECK(rst.is(k_rst_ack));
    CHECK(rst.seq == 0);
    CHECK(rst.ack == 4243);
    CHECK(f.tcp.stats().no_connection == 1);
    // A reset for a closed port is never answered.
    f.inject({.seq = 4243, .flags = k_rst});
    CHECK(f.take().empty());
}

TEST_CASE("tcp crafted: LISTEN answers a bare SYN with a SYN-ACK offering nothing but MSS", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn});
    SentSegment s = f.take_one();
    CHECK(s.is(k_syn_ack));
    CHECK(s.ack == k_peer_isn + 1);
    CHECK(s.options.mss == std::optional<std::uint16_t>(1460));
    CHECK(!s.options.window_scale);
    CHECK(!s.options.sack_permitted);
    CHECK(!s.options.timestamps);
    CHECK(s.window == 65535);  // never scaled in a SYN (RFC 7323 §2.2)
    CHECK(f.listener.half_open() == 1);
    CHECK(f.tcp.connection_count() == 1);
    CHECK(f.tcp.memory_used() == 0);  // buffers only once established
}

TEST_CASE("tcp crafted: the options a SYN offered are agreed", "[tcp][crafted]") {
    Fixture f;
    f.open_passive(everything(5000));
    // Checked on the connection: what was agreed.
    CHECK(f.stream.connection().send_mss() == 1400 - 12);  // timestamps take 12 bytes
    CHECK(f.stream.connection().send_window_scale() == 7);
    CHECK(f.stream.connection().sack_enabled());
    CHECK(f.stream.connection().timestamps_enabled());
}

TEST_CASE("tcp crafted: the SYN-ACK answers each option the SYN offered, and only those", "[tcp][crafted]") {
    {
        Fixture g;
        REQUIRE(g.listener.listen(test::k_local_port));
        g.inject({.seq = k_peer_isn, .flags = k_syn, .options = everything(5000)});
        SentSegment s = g.take_one();
        CHECK(s.options.mss == std::optional<std::uint16_t>(1460));
        CHECK(s.options.window_scale == std::optional<std::uint8_t>(1));  // 64 KiB needs a shift of 1
        CHECK(s.options.sack_permitted);
        REQUIRE(s.options.timestamps);
        CHECK(s.options.timestamps->echo == 5000);
    }
    // Only SACK offered: only SACK answered.
    Fixture h;
    REQUIRE(h.listener.listen(test::k_local_port));
    TcpOptions sack_only = mss_only();
    sack_only.sack_permitted = true;
    h.inject({.seq = k_peer_isn, .flags = k_syn, .options = sack_only});
    SentSegment t = h.take_one();
    CHECK(t.options.sack_permitted);
    CHECK(!t.options.window_scale);
    CHECK(!t.options.timestamps);
}

// --- SYN-SENT (RFC 9293 §3.10.7.3) ---

TEST_CASE("tcp crafted: SYN-SENT sends a SYN with every option", "[tcp][crafted]") {
    Fixture f;
    auto connected = f.tcp.start_connect(test::k_peer_ip, test::k_peer_port);
    REQUIRE(connected);
    SentSegment syn = f.take_one();
    CHECK(syn.is(k_syn));
    CHECK(syn.destination_port == test::k_peer_port);
    CHECK(syn.source_port >= 49152);
    CHECK(syn.options.mss == std::optional<std::uint16_t>(1460));
    CHECK(syn.options.window_scale == std::optional<std::uint8_t>(1));
    CHECK(syn.options.sack_permitted);
    CHECK(syn.options.timestamps);
    CHECK(connected->state() == TcpState::SynSent);
}

TEST_CASE("tcp crafted: SYN-SENT answers an unacceptable ACK with a reset and stays", "[tcp][crafted]") {
    Fixture f;
    auto connected = f.tcp.start_connect(test::k_peer_ip, test::k_peer_port);
    REQUIRE(connected);
    f.stream = std::move(*connected);
    SentSegment syn = f.take_one();
    f.our_port = syn.source_port;
    for (std::uint32_t bad : {syn.seq, syn.seq + 2, syn.seq - 100}) {
        f.inject({.seq = k_peer_isn, .ack = bad, .flags = k_syn_ack, .options = mss_only()});
        SentSegment rst = f.take_one();
        CHECK(rst.is(k_rst));
        CHECK(rst.seq == bad);
        CHECK(f.stream.state() == TcpState::SynSent);
    }
    // A reset with a bad ACK is dropped without an answer.
    f.inject({.seq = k_peer_isn, .ack = syn.seq + 5, .flags = k_rst_ack});
    CHECK(f.take().empty());
    CHECK(f.stream.state() == TcpState::SynSent);
}

TEST_CASE("tcp crafted: SYN-SENT: a reset counts only with an acceptable ACK", "[tcp][crafted]") {
    Fixture f;
    auto connected = f.tcp.start_connect(test::k_peer_ip, test::k_peer_port);
    REQUIRE(connected);
    f.stream = std::move(*connected);
    SentSegment syn = f.take_one();
    f.our_port = syn.source_port;
    f.inject({.seq = 0, .flags = k_rst});  // RFC 5961 §3.2: no ACK, no effect
    CHECK(f.stream.state() == TcpState::SynSent);
    f.inject({.seq = 0, .ack = syn.seq + 1, .flags = k_rst_ack});
    CHECK(f.stream.state() == TcpState::Closed);
    CHECK(f.take().empty());
    std::array<std::byte, 8> buffer{};
    auto n = f.stream.try_read(buffer);
    REQUIRE(!n);
    CHECK(n.error() == TcpError::Refused);
    f.stream.close();
    CHECK(f.tcp.connection_count() == 0);
}

TEST_CASE("tcp crafted: SYN-SENT + SYN-ACK -> ESTABLISHED, and data flows", "[tcp][crafted]") {
    Fixture f;
    f.open_active();
    auto payload = bytes(100);
    REQUIRE(value_of(f.stream.try_write(payload)) == 100);
    SentSegment s = f.take_one();
    CHECK(s.is(k_ack_psh));
    CHECK(s.seq == f.snd);
    CHECK(s.payload == payload);
}

TEST_CASE("tcp crafted: simultaneous open via a bare SYN", "[tcp][crafted]") {
    Fixture f;
    auto connected = f.tcp.start_connect(test::k_peer_ip, test::k_peer_port);
    REQUIRE(connected);
    f.stream = std::move(*connected);
    SentSegment syn = f.take_one();
    f.our_port = syn.source_port;
    f.iss = syn.seq;
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});  // the SYNs cross
    CHECK(f.stream.state() == TcpState::SynReceived);
    SentSegment syn_ack = f.take_one();
    CHECK(syn_ack.is(k_syn_ack));
    CHECK(syn_ack.seq == f.iss);  // the same SYN, now with an ACK (RFC 9293 §3.5 figure 8)
    CHECK(syn_ack.ack == k_peer_isn + 1);
    // The peer's SYN-ACK repeats its SYN: below RCV.NXT, so it is answered with an ACK,
    // which completes the peer's side.
    f.inject({.seq = k_peer_isn, .ack = f.iss + 1, .flags = k_syn_ack, .options = mss_only()});
    SentSegment ack = f.take_one();
    CHECK(ack.is(k_ack));
    CHECK(ack.ack == k_peer_isn + 1);
    // The peer's ACK completes ours.
    f.inject({.seq = k_peer_isn + 1, .ack = f.iss + 1, .flags = k_ack});
    CHECK(f.stream.state() == TcpState::Established);
    CHECK(f.stream.writable());
}

// --- SYN-RECEIVED ---

TEST_CASE("tcp crafted: SYN-RECEIVED: bad ACK, repeated SYN, reset", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    f.rcv = k_peer_isn + 1;

    f.inject({.seq = f.rcv, .ack = iss + 5, .flags = k_ack});  // acknowledges what was never sent
    SentSegment rst = f.take_one();
    CHECK(rst.is(k_rst));
    CHECK(rst.seq == iss + 5);
    CHECK(f.listener.half_open() == 1);

    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});  // our SYN-ACK was lost
    SentSegment again = f.take_one();
    CHECK(again.is(k_syn_ack));
    CHECK(again.seq == iss);

    f.inject({.seq = f.rcv, .flags = k_rst});  // RFC 9293 §3.10.7.4: back to LISTEN
    CHECK(f.take().empty());
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.listener.half_open() == 0);
    CHECK(!f.listener.try_accept());
}

TEST_CASE("tcp crafted: SYN-RECEIVED retransmits the SYN-ACK with back-off, then gives up", "[tcp][crafted]") {
    Fixture f;
    REQUIRE(f.listener.listen(test::k_local_port));
    f.inject({.seq = k_peer_isn, .flags = k_syn, .options = mss_only()});
    std::uint32_t iss = f.take_one().seq;
    runtime::Instant start = f.now();
    runtime::Duration expected = 1s;
    for (unsigned i = 0; i < f.tcp.config().max_syn_retransmissions; ++i) {
        auto at = f.run_next_timer();
        REQUIRE(at);
        CHECK(*at - start == expected);
        SentSegment s = f.take_one();
        CHECK(s.is(k_syn_ack));
        CHECK(s.seq == iss);
        start = *at;
        expected = std::min<runtime::Duration>(expected * 2, 60s);  // RFC 6298 §2.5's cap
    }
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - start == expected);
    CHECK(f.take().empty());
    CHECK(f.tcp.connection_count() == 0);
    CHECK(f.listener.half_open() == 0);
    CHECK(!f.tcp.poll_at());
}

// --- ESTABLISHED: receiving ---

TEST_CASE("tcp crafted: in-order data, delayed ACK and every second segment", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto one = bytes(100, 1);
    runtime::Instant sent_at = f.now();
    f.data(f.rcv, one);
    CHECK(f.take().empty());  // delayed
    auto at = f.run_next_timer();
    REQUIRE(at);
    CHECK(*at - sent_at == f.tcp.config().delayed_ack);
    SentSegment ack = f.take_one();
    CHECK(ack.is(k_ack));
    CHECK(ack.ack == f.rcv + 100);
    f.rcv += 100;

    // Two segments: the second is acknowledged at once (RFC 5681 §4.2).
    auto two = bytes(1460, 2), three = bytes(1460, 3);
    f.data(f.rcv, two);
    CHECK(f.take().empty());
    f.data(f.rcv + 1460, three);
    SentSegment both = f.take_one();
    CHECK(both.ack == f.rcv + 2920);
    f.rcv += 2920;
    CHECK(!f.tcp.poll_at());  // no delayed ACK left behind

    std::vector<std::byte> expected = one;
    expected.insert(expected.end(), two.begin(), two.end());
    expected.insert(expected.end(), three.begin(), three.end());
    CHECK(f.read_all() == expected);
}

TEST_CASE("tcp crafted: out-of-order data is SACKed, newest block first, and reassembled", "[tcp][crafted]") {
    TcpOptions offer = mss_only();
    offer.sack_permitted = true;
    Fixture f;
    f.open_passive(offer);
    auto payload = bytes(400, 9);
    std::span<const std::byte> all(payload);
    std::uint32_t base = f.rcv;

    f.data(base + 100, all.subspan(100, 100));
    SentSegment a = f.take_one();  // out of order: acknowledged at once
    CHECK(a.ack == base);
    REQUIRE(a.options.sack_count == 1);
    CHECK(a.options.sack[0] == SackBlock{base + 100, base + 200});
    CHECK(f.stream.connection().stats().out_of_order_segments == 1);

    f.data(base + 300, all.subspan(300, 100));
    SentSegment b = f.take_one();
    CHECK(b.ack == base);
    REQUIRE(b.options.sack_count == 2);
    CHECK(b.options.sack[0] == SackBlock{base + 300, base + 400});  // RFC 2018 §4: the latest first
    CHECK(b.options.sack[1] == SackBlock{base + 100, base + 200});
    CHECK(!f.stream.readable());

    f.data(base, all.subspan(0, 100));  // fills the first hole
    SentSegment c = f.take_one();
    CHECK(c.ack == base + 200);
    REQUIRE(c.options.sack_count == 1);
    CHECK(c.options.sack[0] == SackBlock{base + 300, base + 400});

    f.data(base + 200, all.subspan(200, 100));
    SentSegment d = f.take_one();
    CHECK(d.ack == base + 400);
    CHECK(d.options.sack_count == 0);
    CHECK(f.read_all() == payload);

    // A duplicate is acknowledged at once and counted.
    f.data(base + 100, all.subspan(100, 100));
    SentSegment e = f.take_one();
    CHECK(e.ack == base + 400);
    CHECK(f.stream.connection().stats().duplicate_segments == 1);
}

TEST_CASE("tcp crafted: without SACK permitted, no SACK blocks", "[tcp][crafted]") {
    Fixture f;
    f.open_passive();
    auto payload = bytes(100);
    f.data(f.rcv + 100, payload);
    SentSegment a = f.take_one();
    CHECK(a.ack == f.rcv);
    CHECK(a.options.sack_count == 0);
}

TEST_CASE("tcp crafted: the receive window's edges, zero window and its probes", "[tcp][crafted]") {
    TcpConfig config = crafted_config();
    config.receive_buffer = 4096;
    Fixture f(config);
    f.open_passive();  // no window scale offered: none used
    std::uint32_t base = f.rcv;
    auto payload = bytes(5000, 4);
    std::span<const std::byte> all(payload);

    // Entirely beyond the right edge: not acceptable, an ACK and nothing kept.
    f.data(base + 4096, all.subspan(0, 100));
    SentSegment a = f.take_one();
    CHECK(a.ack == base);
    CHECK(a.window == 4096);
    CHECK(!f.stream.readable());

    // Straddling the right edge: trimmed to the window.
    f.data(base, all.subspan(0, 1460));
    f.data(base + 1460, all.subspan(1460, 1460));
    CHECK(f.take_one().ack == base + 2920);  // the second segment: at once
    f.data(base + 2920, all.subspan(2920, 1460));
    REQUIRE(f.run_next_timer());
    SentSegment b = f.take_one();
    CHECK(b.ack == base + 4096);
    CHECK(b.window == 0);
    f.rcv = base + 4096;

    // A zero-window probe (one byte at RCV.NXT) is answered with the same ACK, window 0.
    f.data(f.rcv, all.subspan(4096, 1));
    SentSegment probe_ack = f.take_one();
    CHECK(probe_ack.ack == f.rcv);
    CHECK(probe_ack.window == 0);
    // So is a bare ACK probe below RCV.NXT.
    f.inject({.seq = f.rcv - 1, .ack = f.snd, .flags = k_ack});
    SentSegment probe_ack2 = f.take_one();
    CHECK(probe_ack2.ack == f.rcv);
    CHECK(probe_ack2.window == 0);

    // Reading opens the window, and the peer is told.
    auto got = f.read_all();
    CHECK(got.size() == 4096);
    CHECK(std::equal(got.begin(), got.end(), payload.begin()));
    SentSegment update = f.take_one();
    CHECK(update.ack == f.rcv);
    CHECK(update.window == 4096);
}
