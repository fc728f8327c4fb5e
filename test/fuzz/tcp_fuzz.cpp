// libFuzzer target: TCP segments from a peer that is half scripted, half fuzzed. Each input
// starts a fresh layer with a listener and completes a handshake (options and the SYN-cookie
// path chosen by the first byte), then the rest of the input is a program of operations:
// segments whose flags, window, options and payload length come from the input while the
// ports are right and the sequence and acknowledgment numbers sit near what the connection
// expects (so the fuzzer gets past the acceptability checks), time moving forward, the
// application's reads, writes, shutdowns, closes and aborts, and segments from other ports
// to the listener (SYNs, cookie ACKs).
//
// A finding is any crash or sanitizer report, a connection count or memory use past the
// configured bounds, a packet buffer that does not come back to its pool, or a segment we
// sent that does not parse.
//
// Input: byte 0 = setup bits (0 timestamps, 1 SACK, 2 window scale, 3 nodelay, 4 SYN
// cookies for the handshake); then operations, each an opcode byte and its arguments
// (missing bytes read as 0):
//   0-2  segment: flags, seq delta (int16), ack delta (int16), window (u16), option bits
//        (0 timestamp, 1 SACK block, 2 MSS, 3 window scale), payload length / 6,
//        then 1-4 argument bytes for the options that need them
//   3    time: 0 = the next timer, 1-199 = that many 5 ms, 200-255 = (n - 199) * 10 s
//   4    read
//   5    write n * 50 bytes
//   6    control: shutdown, close, abort, nodelay, keepalive, accept
//   7    another port: port offset, flags, then a SYN or an ACK guessing a cookie

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "net/tcp.hpp"
#include "test/unit/net/tcp_peer.hpp"

namespace {

using namespace net::tcp_flags;
using namespace std::chrono_literals;

constexpr std::uint32_t k_peer_isn = 0xFFFF'F000;  // wraps soon: sequence arithmetic gets tested
constexpr std::size_t k_buffers = 64;

class Input {
public:
    explicit Input(std::span<const std::uint8_t> data) : m_data(data) {}
    [[nodiscard]] bool empty() const { return m_offset >= m_data.size(); }
    std::uint8_t u8() { return m_offset < m_data.size() ? m_data[m_offset++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
    std::int32_t i16() { return static_cast<std::int16_t>(u16()); }

private:
    std::span<const std::uint8_t> m_data;
    std::size_t m_offset = 0;
};

net::TcpConfig config_for(std::uint8_t setup) {
    net::TcpConfig config;
    config.send_buffer = std::size_t{8} * 1024;
    config.receive_buffer = std::size_t{8} * 1024;
    config.max_connections = 8;
    config.memory_limit = std::size_t{4} * 16 * 1024;  // four connections
    config.syn_queue = (setup & 0x10) != 0 ? 0 : 2;
    config.nodelay = (setup & 0x08) != 0;
    config.keepalive_probes = 3;
    return config;
}

struct Fuzzer {
    explicit Fuzzer(std::uint8_t setup) : peer(config_for(setup), k_buffers) {}

    test::TcpPeer peer;
    net::TcpListener listener{peer.tcp};
    net::TcpStream stream;
    std::uint32_t their_next = k_peer_isn + 1;  // our RCV.NXT, as our ACKs say
    std::uint32_t our_next = 0;                 // the highest sequence number we sent, plus one
    std::uint32_t ts_value = 1000;
    std::uint32_t ts_echo = 0;
    bool timestamps = false;
    std::vector<std::byte> payload = std::vector<std::byte>(1460);

    void check_bounds() const {
        const net::TcpConfig& config = peer.tcp.config();
        if (peer.tcp.connection_count() > config.max_connections) std::abort();
        if (peer.tcp.memory_used() > config.memory_limit) std::abort();
    }

    // Collects what we sent, follows the connection's numbers, checks the invariants.
    void observe() {
        for (const auto& s : peer.take()) {
            if (s.destination_port != test::k_peer_port) continue;
            if (s.has(k_ack)) their_next = s.ack;
            if (net::seq_gt(s.seq + s.sequence_length(), our_next)) our_next = s.seq + s.sequence_length();
            if (s.options.timestamps) ts_echo = s.options.timestamps->value;
        }
        if (peer.malformed_sent != 0) std::abort();
        // Every buffer is back: transmitted frames are released at once, received ones
        // once handled, and packets waiting for ARP went out when take() answered it.
        if (peer.device.pool().stats().free != peer.device.pool().stats().buffers) std::abort();
        check_bounds();
    }

    void handshake(std::uint8_t setup) {
        if (!listener.listen(test::k_local_port)) std::abort();
        net::TcpOptions options;
        options.mss = 1460;
        options.sack_permitted = (setup & 0x02) != 0;
        if ((setup & 0x04) != 0) options.window_scale = 2;
        timestamps = (setup & 0x01) != 0;
        if (timestamps) options.timestamps = net::TcpTimestamps{ts_value, 0};
        peer.send({.seq = k_peer_isn, .flags = k_syn, .options = options});
        auto out = peer.take();
        if (out.size() != 1 || !out[0].is(static_cast<std::uint8_t>(k_syn | k_ack))) std::abort();
        our_next = out[0].seq + 1;
        if (out[0].options.timestamps) ts_echo = out[0].options.timestamps->value;
        timestamps = timestamps && out[0].options.timestamps.has_value();  // not with a cookie
        send_segment(k_peer_isn + 1, our_next, k_ack, 65535, {}, 0);
        auto accepted = listener.try_accept();
        if (!accepted) std::abort();
        stream = std::move(*accepted);
        observe();
    }

    void send_segment(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, std::uint16_t window,
                      net::TcpOptions options, std::size_t length) {
        if (timestamps && !options.timestamps) options.timestamps = net::TcpTimestamps{++ts_value, ts_echo};
        peer.send({.seq = seq,
                   .ack = ack,
                   .flags = flags,
                   .window = window,
                   .options = options,
                   .payload = std::span(payload).first(length)});
    }

    void segment(Input& in) {
        auto flags = in.u8();
        std::uint32_t seq = their_next + static_cast<std::uint32_t>(in.i16());
        std::uint32_t ack = our_next + static_cast<std::uint32_t>(in.i16());
        std::uint16_t window = in.u16();
        std::uint8_t option_bits = in.u8();
        std::size_t length = std::min<std::size_t>(std::size_t{in.u8()} * 6, payload.size());
        net::TcpOptions options;
        if ((option_bits & 0x01) != 0) {
            // A timestamp of our choosing: older, equal or newer than the last.
            ts_value += static_cast<std::uint32_t>(static_cast<std::int8_t>(in.u8()));
            options.timestamps = net::TcpTimestamps{ts_value, ts_echo};
        }
        if ((option_bits & 0x02) != 0) {
            std::uint32_t left = our_next + static_cast<std::uint32_t>(static_cast<std::int8_t>(in.u8()) * 64);
            std::uint32_t right = left + std::uint32_t{in.u8()} * 16;
            options.sack[0] = {left, right};
            options.sack_count = 1;
        }
        if ((option_bits & 0x04) != 0) options.mss = static_cast<std::uint16_t>(in.u8() * 8);
        if ((option_bits & 0x08) != 0) options.window_scale = static_cast<std::uint8_t>(in.u8() % 16);
        send_segment(seq, ack, flags, window, options, length);
    }

    void time(Input& in) {
        std::uint8_t n = in.u8();
        if (n == 0)
            (void)peer.run_next_timer();
        else if (n < 200)
            peer.advance(n * 5ms);
        else
            peer.advance((n - 199) * 10s);
    }

    void read() {
        std::array<std::byte, 2048> buffer{};
        if (stream) (void)stream.try_read(buffer);
    }

    void write(Input& in) {
        std::size_t n = std::min<std::size_t>(std::size_t{in.u8()} * 50, payload.size());
        if (stream) (void)stream.try_write(std::span(payload).first(n));
    }

    void control(Input& in) {
        std::uint8_t c = in.u8();
        switch (c % 6) {
            case 0: stream.shutdown(); break;
            case 1: stream.close(); break;
            case 2: stream.abort(); break;
            case 3: stream.set_nodelay((c & 0x08) != 0); break;
            case 4: stream.set_keepalive(std::chrono::seconds(1 + c / 8)); break;
            default:
                if (auto accepted = listener.try_accept()) stream = std::move(*accepted);
                break;
        }
    }

    // SYNs and cookie guesses from other ports: the SYN queue, cookies, the table's bounds.
    void other_port(Input& in) {
        auto port = static_cast<std::uint16_t>(test::k_peer_port + 1 + in.u8() % 16);
        std::uint8_t flags = in.u8();
        std::uint32_t value = in.u16();
        net::TcpOptions options;
        options.mss = 1460;
        options.sack_permitted = true;
        peer.send({.seq = value * 65536u,
                   .ack = our_next + value,
                   .flags = flags,
                   .options = options,
                   .payload = {},
                   .source_port = port});
        // A SYN-ACK back is answered with the ACK that completes it (cookie or not).
        for (const auto& s : peer.take()) {
            if (s.destination_port == test::k_peer_port) {
                if (s.has(k_ack)) their_next = s.ack;
                if (net::seq_gt(s.seq + s.sequence_length(), our_next)) our_next = s.seq + s.sequence_length();
                continue;
            }
            if (s.is(static_cast<std::uint8_t>(k_syn | k_ack)))
                peer.send({.seq = s.ack, .ack = s.seq + 1, .flags = k_ack, .source_port = s.destination_port});
        }
    }

    void run(Input& in) {
        for (int step = 0; step < 4096 && !in.empty(); ++step) {
            switch (in.u8() % 8) {
                case 3: time(in); break;
                case 4: read(); break;
                case 5: write(in); break;
                case 6: control(in); break;
                case 7: other_port(in); break;
                default: segment(in); break;
            }
            observe();
        }
        // Let every timer run out: whatever state the input left, everything ends and is
        // freed once the application lets go.
        stream.close();
        listener.close();
        for (int i = 0; i < 1000 && peer.run_next_timer(); ++i) observe();
        observe();
        if (peer.tcp.connection_count() != 0 || peer.tcp.memory_used() != 0) {
            (void)std::fprintf(stderr, "tcp_fuzz: %zu connections (%zu bytes) left after every timer ran out\n",
                               peer.tcp.connection_count(), peer.tcp.memory_used());
            std::abort();
        }
    }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(std::span(data, size));
    std::uint8_t setup = in.u8();
    Fuzzer fuzzer(setup);
    fuzzer.handshake(setup);
    fuzzer.run(in);
    return 0;
}
