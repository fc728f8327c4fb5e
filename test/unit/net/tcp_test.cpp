// TCP between two stacks over a fake wire, on the event loop with a virtual clock: the
// coroutine API end to end, with loss injected by a drop filter where a test says.

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <vector>

#include "net/stack.hpp"
#include "net/tcp.hpp"
#include "runtime/runtime.hpp"
#include "test/unit/net/fake_link.hpp"
#include "test/unit/runtime/fake_platform.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

const Ipv4Address k_a = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address k_b = Ipv4Address::from_octets(10, 0, 0, 2);

StackConfig config_for(Ipv4Address address, const TcpConfig& tcp) {
    StackConfig c;
    c.address = Ipv4Cidr{address, 24};
    c.tcp = tcp;
    return c;
}

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return v;
}

struct Net {
    explicit Net(const TcpConfig& tcp = {}, std::size_t buffers = 256)
        : device_a{netif::MacAddress{{2, 0, 0, 0, 0, 0xA}}, buffers},
          device_b{netif::MacAddress{{2, 0, 0, 0, 0, 0xB}}, buffers},
          a(device_a, signal_a, config_for(k_a, tcp), 1),
          b(device_b, signal_b, config_for(k_b, tcp), 2) {
        device_a.connect(device_b);
        device_b.connect(device_a);
    }
    test::FakePlatform platform;
    runtime::EventLoop loop{platform};
    test::FakeDevice device_a;
    test::FakeDevice device_b;
    runtime::Signal signal_a, signal_b;
    Stack a;
    Stack b;
};

// Echoes every connection until the peer closes.
runtime::Task<void> echo_connection(TcpStream stream) {
    std::vector<std::byte> buffer(4096);
    for (;;) {
        auto n = co_await stream.read(buffer);
        if (!n || *n == 0) break;
        auto w = co_await stream.write(std::span(buffer).first(*n));
        if (!w) break;
    }
    stream.close();
}

runtime::Task<void> echo_server(TcpListener& listener, int connections) {
    for (int i = 0; i < connections; ++i) {
        auto stream = co_await listener.accept();
        if (!stream) co_return;
        (void)runtime::spawn(echo_connection(std::move(*stream)));
    }
}

// Sends data and reads the echo back, writing and reading concurrently.
struct Client {
    TcpLayer& tcp;
    std::vector<std::byte> data;
    std::vector<std::byte> received;
    std::optional<TcpError> error;
    bool closed_cleanly = false;

    runtime::Task<void> writer(TcpStream& stream) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            std::size_t chunk = std::min<std::size_t>(3000, data.size() - sent);
            auto w = co_await stream.write(std::span(data).subspan(sent, chunk));
            if (!w) {
                error = w.error();
                co_return;
            }
            sent += *w;
        }
        stream.shutdown();
    }

    runtime::Task<int> run(Ipv4Address server, std::uint16_t port) {
        auto connected = co_await tcp.connect(server, port);
        if (!connected) {
            error = connected.error();
            co_return 1;
        }
        TcpStream stream = std::move(*connected);
        auto w = runtime::spawn(writer(stream));
        std::vector<std::byte> buffer(5000);
        for (;;) {
            auto n = co_await stream.read(buffer);
            if (!n) {
                error = n.error();
                break;
            }
            if (*n == 0) {
                closed_cleanly = true;
                break;
            }
            received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        co_await w;
        stream.close();
        co_return 0;
    }
};

runtime::Task<int> echo_test(Net& net, Client& client, int connections = 1) {
    TcpListener listener(net.b.tcp());
    if (!listener.listen(7)) co_return 2;
    auto stack_a = runtime::spawn(net.a.run());
    auto stack_b = runtime::spawn(net.b.run());
    auto server = runtime::spawn(echo_server(listener, connections));
    int result = co_await client.run(k_b, 7);
    co_await runtime::sleep(1s);  // let the closes finish
    net.a.stop();
    net.b.stop();
    co_await stack_a;
    co_await stack_b;
    co_return result;
}

}  // namespace

TEST_CASE("tcp: connect, echo 1 MiB, close cleanly") {
    Net net;
    Client client{net.a.tcp(), pattern(1 << 20, 1), {}, {}, false};
    REQUIRE(net.loop.run(echo_test(net, client)) == 0);
    CHECK(!client.error);
    CHECK(client.closed_cleanly);
    REQUIRE(client.received.size() == client.data.size());
    CHECK(client.received == client.data);
    CHECK(net.b.tcp().stats().malformed == 0);
}

TEST_CASE("tcp: the echo survives lost segments in both directions") {
    for (auto cc : {CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno}) {
        for (bool sack : {true, false}) {
            TcpConfig config;
            config.congestion = cc;
            config.sack = sack;
            Net net(config);
            int count = 0;
            // Every 37th frame from a and every 41st from b vanish.
            net.device_a.drop_filter = [&count](std::span<const std::byte>) { return ++count % 37 == 0; };
            int count_b = 0;
            net.device_b.drop_filter = [&count_b](std::span<const std::byte>) { return ++count_b % 41 == 0; };
            Client client{net.a.tcp(), pattern(300'000, 2), {}, {}, false};
            REQUIRE(net.loop.run(echo_test(net, client)) == 0);
            INFO("sack " << sack << " cc " << static_cast<int>(cc) << " error "
                         << (client.error ? to_string(*client.error) : "none"));
            CHECK(!client.error);
            UNSCOPED_INFO("no_buffer " << net.a.tcp().stats().no_buffer << " " << net.b.tcp().stats().no_buffer
                                       << " free " << net.device_a.pool().stats().free << " "
                                       << net.device_b.pool().stats().free << " arp "
                                       << net.a.interface().stats().tx_no_buffer);
            REQUIRE(client.received.size() == client.data.size());
            CHECK(client.received == client.data);
        }
    }
}

TEST_CASE("tcp: connecting to a closed port is refused") {
    Net net;
    auto test = [](Net& n) -> runtime::Task<int> {
        auto stack_a = runtime::spawn(n.a.run());
        auto stack_b = runtime::spawn(n.b.run());
        auto connected = co_await n.a.tcp().connect(k_b, 9);
        int result = !connected && connected.error() == TcpError::Refused ? 0 : 1;
        n.a.stop();
        n.b.stop();
        co_await stack_a;
        co_await stack_b;
        co_return result;
    };
    CHECK(net.loop.run(test(net)) == 0);
    CHECK(net.b.tcp().stats().resets_sent == 1);
}

namespace {

runtime::Task<int> parallel_test(Net& net, std::vector<Client>& clients) {
    TcpListener listener(net.b.tcp());
    if (!listener.listen(7)) co_return 2;
    auto stack_a = runtime::spawn(net.a.run());
    auto stack_b = runtime::spawn(net.b.run());
    auto server = runtime::spawn(echo_server(listener, static_cast<int>(clients.size())));
    std::vector<runtime::JoinHandle<int>> running;
    running.reserve(clients.size());
    for (auto& c : clients) running.push_back(runtime::spawn(c.run(k_b, 7)));
    int failures = 0;
    for (auto& r : running) failures += co_await r;
    co_await runtime::sleep(1s);
    net.a.stop();
    net.b.stop();
    co_await stack_a;
    co_await stack_b;
    co_return failures;
}

}  // namespace

TEST_CASE("tcp: 32 parallel connections through a small buffer pool with loss") {
    for (bool sack : {true, false}) {
        TcpConfig config;
        config.sack = sack;
        Net net(config, 96);
        int count_a = 0, count_b = 0;
        net.device_a.drop_filter = [&count_a](std::span<const std::byte>) { return ++count_a % 53 == 0; };
        net.device_b.drop_filter = [&count_b](std::span<const std::byte>) { return ++count_b % 47 == 0; };
        std::vector<Client> clients;
        for (std::uint32_t i = 0; i < 32; ++i)
            clients.push_back(Client{net.a.tcp(), pattern(100'000 + i * 997, i), {}, {}, false});
        CHECK(net.loop.run(parallel_test(net, clients)) == 0);
        for (auto& c : clients) {
            INFO("sack " << sack << " error " << (c.error ? to_string(*c.error) : "none"));
            CHECK(!c.error);
            CHECK(c.received == c.data);
        }
    }
}

TEST_CASE("tcp: connections nobody accepted are reset and freed when the listener goes") {
    Net net;
    auto test = [](Net& n) -> runtime::Task<int> {
        auto stack_a = runtime::spawn(n.a.run());
        auto stack_b = runtime::spawn(n.b.run());
        int result = 0;
        {
            TcpListener listener(n.b.tcp());
            if (!listener.listen(7)) result |= 1;
            auto first = co_await n.a.tcp().connect(k_b, 7);
            auto second = co_await n.a.tcp().connect(k_b, 7);
            if (!first || !second) result |= 2;
            co_await runtime::sleep(10ms);
            if (listener.queued() != 2 || n.b.tcp().connection_count() != 2) result |= 4;
            // The peer resets the first one while it waits in the queue.
            first->abort();
            co_await runtime::sleep(10ms);
            if (listener.queued() != 1 || n.b.tcp().connection_count() != 1) result |= 8;
            // The listener goes with the second still queued.
        }
        co_await runtime::sleep(10ms);
        if (n.b.tcp().connection_count() != 0 || n.b.tcp().memory_used() != 0) result |= 16;
        n.a.stop();
        n.b.stop();
        co_await stack_a;
        co_await stack_b;
        co_return result;
    };
    CHECK(net.loop.run(test(net)) == 0);
}

namespace {

// The callback form: an echo server with no coroutines, driven by on_accept, on_readable
// and on_writable. Data that does not fit the send buffer waits in `pending`.
struct CallbackEcho {
    struct Session {
        TcpStream stream;
        std::vector<std::byte> pending;
        bool done = false;
    };
    TcpListener listener;
    std::vector<std::unique_ptr<Session>> sessions;
    std::size_t echoed = 0;

    explicit CallbackEcho(TcpLayer& tcp) : listener(tcp) {
        REQUIRE(listener.listen(7));
        listener.on_accept([this] {
            while (auto stream = listener.try_accept()) {
                auto session = std::make_unique<Session>(Session{std::move(*stream), {}, false});
                Session* s = session.get();
                s->stream.on_readable([this, s] { pump(*s); });
                s->stream.on_writable([this, s] { pump(*s); });
                sessions.push_back(std::move(session));
            }
        });
    }
    void pump(Session& s) {
        if (s.done) return;
        std::array<std::byte, 4096> buffer{};
        for (;;) {
            while (!s.pending.empty()) {
                auto w = s.stream.try_write(s.pending);
                if (!w || *w == 0) {
                    if (!w) s.done = true;
                    return;  // on_writable brings us back
                }
                echoed += *w;
                s.pending.erase(s.pending.begin(), s.pending.begin() + static_cast<std::ptrdiff_t>(*w));
            }
            if (!s.stream.readable()) return;
            auto n = s.stream.try_read(buffer);
            if (!n || *n == 0) {
                s.stream.close();  // end of stream (or an error): finish and let go
                s.done = true;
                return;
            }
            s.pending.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
        }
    }
};

runtime::Task<int> callback_test(Net& net, Client& client) {
    CallbackEcho server(net.b.tcp());
    auto stack_a = runtime::spawn(net.a.run());
    auto stack_b = runtime::spawn(net.b.run());
    int result = co_await client.run(k_b, 7);
    co_await runtime::sleep(1s);
    if (server.echoed != client.data.size()) result = 3;
    net.a.stop();
    net.b.stop();
    co_await stack_a;
    co_await stack_b;
    co_return result;
}

}  // namespace

TEST_CASE("tcp: the callback form echoes 300 KB") {
    Net net;
    Client client{net.a.tcp(), pattern(300'000, 9), {}, {}, false};
    REQUIRE(net.loop.run(callback_test(net, client)) == 0);
    CHECK(!client.error);
    CHECK(client.closed_cleanly);
    CHECK(client.received == client.data);
    CHECK(net.b.tcp().connection_count() == 0);
}
