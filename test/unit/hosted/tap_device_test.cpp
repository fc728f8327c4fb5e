// The TAP device's data path over a SOCK_SEQPACKET socket pair, which keeps frame
// boundaries as a TAP descriptor does: the peer end plays Linux.

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <vector>

#include "hosted/poller.hpp"
#include "hosted/tap_device.hpp"

namespace {

struct Fixture {
    explicit Fixture(std::size_t rx_buffers = 256) {
        auto created_poller = hosted::Poller::create();
        REQUIRE(created_poller);
        poller.reset(created_poller.value());
        std::array<int, 2> fds{};
        REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()) == 0);
        peer = fds[1];
        hosted::TapConfig config;
        config.mac = {{0x02, 0, 0, 0, 0, 2}};
        config.rx_buffers = rx_buffers;
        config.tx_buffers = 4;
        auto created = hosted::TapDevice::adopt(fds[0], config, *poller);
        REQUIRE(created);
        device.reset(created.value());
        device->set_receive_hook([](void* c) { ++*static_cast<int*>(c); }, &hook_calls);
    }
    ~Fixture() {
        device.reset();
        if (peer >= 0) close(peer);
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // Linux sends a frame of length bytes, each byte its offset plus tag.
    void send(std::size_t length, std::uint8_t tag = 0) const {
        std::vector<std::uint8_t> frame(length);
        for (std::size_t i = 0; i < length; ++i) frame[i] = static_cast<std::uint8_t>(i + tag);
        REQUIRE(write(peer, frame.data(), frame.size()) == static_cast<ssize_t>(length));
    }
    void poll() const { REQUIRE(poller->wait(0)); }

    std::unique_ptr<hosted::Poller> poller;
    std::unique_ptr<hosted::TapDevice> device;
    int peer = -1;
    int hook_calls = 0;
};

bool holds_frame(netif::PacketBuffer* buffer, std::size_t length, std::uint8_t tag) {
    if (buffer == nullptr || buffer->size() != length) return false;
    for (std::size_t i = 0; i < length; ++i) {
        if (buffer->bytes()[i] != static_cast<std::byte>(i + tag)) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("tap: readiness calls the hook once; receive drains and re-arms", "[hosted]") {
    Fixture f;
    f.poll();
    CHECK(f.hook_calls == 0);
    f.send(60, 1);
    f.send(1514, 2);
    f.poll();
    CHECK(f.hook_calls == 1);
    f.poll();  // one-shot: still readable, but no second call until the stack drained it
    CHECK(f.hook_calls == 1);

    netif::BufferOwner first(f.device->receive());
    netif::BufferOwner second(f.device->receive());
    CHECK(holds_frame(first.get(), 60, 1));
    CHECK(holds_frame(second.get(), 1514, 2));
    CHECK(f.device->receive() == nullptr);
    CHECK(f.device->tap_stats().rearms == 1);
    CHECK(f.device->stats().rx_packets == 2);
    CHECK(f.device->stats().rx_bytes == 60 + 1514);

    f.poll();
    CHECK(f.hook_calls == 1);  // drained: nothing to say
    f.send(100, 3);
    f.poll();
    CHECK(f.hook_calls == 2);
    netif::BufferOwner third(f.device->receive());
    CHECK(holds_frame(third.get(), 100, 3));
}

TEST_CASE("tap: frames that came before the hook are announced when it is set", "[hosted]") {
    Fixture f;
    f.device->set_receive_hook(nullptr, nullptr);
    f.send(64);
    f.poll();
    int calls = 0;
    f.device->set_receive_hook([](void* c) { ++*static_cast<int*>(c); }, &calls);
    CHECK(calls == 1);
    netif::BufferOwner frame(f.device->receive());
    CHECK(holds_frame(frame.get(), 64, 0));
}

TEST_CASE("tap: runts and frames that fill a buffer are dropped and counted", "[hosted]") {
    Fixture f;
    f.send(13);
    f.send(hosted::TapDevice::k_buffer_size + 100);  // cut to the buffer's size by the read
    f.send(hosted::TapDevice::k_buffer_size);
    f.send(42, 7);
    netif::BufferOwner frame(f.device->receive());
    CHECK(holds_frame(frame.get(), 42, 7));
    CHECK(f.device->tap_stats().rx_runts == 1);
    CHECK(f.device->tap_stats().rx_truncated == 2);
    CHECK(f.device->stats().rx_dropped == 3);
    CHECK(f.device->stats().rx_packets == 1);
}

TEST_CASE("tap: an empty receive pool drops frames but never stalls the queue", "[hosted]") {
    Fixture f(2);
    for (std::uint8_t i = 0; i < 5; ++i) f.send(60, i);
    f.poll();
    REQUIRE(f.hook_calls == 1);
    netif::BufferOwner a(f.device->receive());
    netif::BufferOwner b(f.device->receive());
    CHECK(holds_frame(a.get(), 60, 0));
    CHECK(holds_frame(b.get(), 60, 1));
    // The pool is empty: the other three are read and dropped, and the watch re-armed.
    CHECK(f.device->receive() == nullptr);
    CHECK(f.device->tap_stats().rx_no_buffer == 3);
    CHECK(f.device->stats().rx_dropped == 3);
    CHECK(f.device->rx_pool_stats().exhausted == 4);  // and once more for the read that found none

    a = netif::BufferOwner();
    b = netif::BufferOwner();
    f.send(80, 9);
    f.poll();
    CHECK(f.hook_calls == 2);
    netif::BufferOwner c(f.device->receive());
    CHECK(holds_frame(c.get(), 80, 9));
}

TEST_CASE("tap: transmit writes one frame per buffer and returns the buffer", "[hosted]") {
    Fixture f;
    for (int round = 0; round < 10; ++round) {  // more rounds than the pool has buffers
        netif::PacketBuffer* buffer = f.device->allocate_tx_buffer();
        REQUIRE(buffer != nullptr);
        CHECK(buffer->headroom() == hosted::TapDevice::k_tx_headroom);
        REQUIRE(buffer->resize(70));
        std::memset(buffer->data(), round, 70);
        CHECK(f.device->transmit(buffer));
        f.device->flush();
        std::array<std::uint8_t, 4096> received{};
        REQUIRE(read(f.peer, received.data(), received.size()) == 70);
        CHECK(received[0] == round);
        CHECK(received[69] == round);
    }
    CHECK(f.device->stats().tx_packets == 10);
    CHECK(f.device->stats().tx_bytes == 700);
}

TEST_CASE("tap: a dead peer stops the device with a counted error", "[hosted]") {
    Fixture f;
    close(f.peer);
    f.peer = -1;
    f.poll();  // hang-up: the hook hears of it, receive finds out what
    CHECK(f.hook_calls == 1);
    CHECK(f.device->receive() == nullptr);
    CHECK_FALSE(f.device->link_up());
    CHECK(f.device->stats().rx_errors == 1);
    CHECK(f.device->receive() == nullptr);  // and stays stopped, without reading again
    netif::PacketBuffer* buffer = f.device->allocate_tx_buffer();
    REQUIRE(buffer != nullptr);
    REQUIRE(buffer->resize(60));
    CHECK_FALSE(f.device->transmit(buffer));
    CHECK(f.device->stats().tx_dropped == 1);
}
