#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "net/wire/ethernet.hpp"
#include "test/unit/virtio/fake_dma.hpp"
#include "test/unit/virtio/simulated_device.hpp"
#include "virtio/net.hpp"
#include "virtio/net_header.hpp"

using namespace virtio;

namespace {

struct Rig {
    test::FakeDma dma;
    Virtqueue rx = Virtqueue::create(dma, {.size = 16, .event_idx = true}).value();
    Virtqueue tx = Virtqueue::create(dma, {.size = 16, .event_idx = true}).value();
    test::SimulatedDevice rx_device{dma, rx, true};
    test::SimulatedDevice tx_device{dma, tx, true};
    std::vector<std::uint16_t> doorbells;
    NetDevice* device = nullptr;

    // The device writes raw bytes (a piece of a packet, header included or not) into the
    // next receive buffer and marks it used.
    bool deliver_raw(std::span<const std::byte> bytes) {
        auto chain = rx_device.pop();
        if (!chain) return false;
        const auto& segment = chain->segments.at(0);
        std::memcpy(dma.translate(segment.address, segment.length), bytes.data(), bytes.size());
        rx_device.complete(*chain, static_cast<std::uint32_t>(bytes.size()));
        return true;
    }

    explicit Rig(std::uint64_t features = net_feature::k_csum | net_feature::k_guest_csum) {
        NetConfig config{.mac = netif::MacAddress{{0x52, 0x54, 0, 1, 2, 3}},
                         .features = features,
                         .rx_buffers = 32,
                         .tx_buffers = 32,
                         .tso_buffers = 2};
        device = NetDevice::create(
                     config, rx, tx, dma,
                     {[](void* self, std::uint16_t q) { static_cast<Rig*>(self)->doorbells.push_back(q); }, this})
                     .value();
    }
    ~Rig() { delete device; }

    // The device receives a frame from the wire into the next buffer the driver gave it.
    bool deliver(std::span<const std::byte> frame, std::uint8_t flags = 0, std::uint16_t buffers = 1) {
        auto chain = rx_device.pop();
        if (!chain) return false;
        const auto& segment = chain->segments.at(0);
        std::byte* memory = dma.translate(segment.address, segment.length);
        NetHeader header{flags, 0, 0, 0, 0, 0, buffers};
        std::memcpy(memory, &header, sizeof header);
        std::memcpy(memory + sizeof header, frame.data(), frame.size());
        rx_device.complete(*chain, static_cast<std::uint32_t>(sizeof header + frame.size()));
        return true;
    }
};

std::vector<std::byte> frame_of(std::size_t size, std::uint8_t fill) {
    std::vector<std::byte> f(size, std::byte{fill});
    net::EthernetFrame::emit(f, netif::MacAddress::broadcast(), netif::MacAddress{{2, 0, 0, 0, 0, 1}},
                             net::EtherType::Arp);
    return f;
}

}  // namespace

TEST_CASE("virtio-net: the receive queue is filled, frames arrive without the header") {
    Rig rig;
    CHECK(rig.rx_device.pending_avail() == 16);  // every descriptor holds a buffer
    CHECK(rig.doorbells == std::vector<std::uint16_t>{NetDevice::k_rx_queue});
    CHECK(rig.device->receive() == nullptr);

    auto frame = frame_of(60, 0xAB);
    REQUIRE(rig.deliver(frame, net_header::k_data_valid));
    netif::PacketBuffer* got = rig.device->receive();
    REQUIRE(got != nullptr);
    CHECK(got->size() == 60);
    CHECK(std::memcmp(got->data(), frame.data(), 60) == 0);
    CHECK(got->metadata.checksum_verified);
    netif::release_buffer(got);

    // A partial checksum from a local sender (NEEDS_CSUM) is to be trusted, not checked.
    REQUIRE(rig.deliver(frame, net_header::k_needs_checksum));
    got = rig.device->receive();
    REQUIRE(got != nullptr);
    CHECK(got->metadata.checksum_verified);
    netif::release_buffer(got);
    REQUIRE(rig.deliver(frame, 0));
    got = rig.device->receive();
    REQUIRE(got != nullptr);
    CHECK_FALSE(got->metadata.checksum_verified);
    netif::release_buffer(got);
    CHECK(rig.device->stats().rx_packets == 3);
}

TEST_CASE("virtio-net: many frames keep the queue full; bad lengths and multi-buffer packets are dropped") {
    Rig rig;
    for (int i = 0; i < 200; ++i) {
        auto frame = frame_of(64 + static_cast<std::size_t>(i), static_cast<std::uint8_t>(i));
        REQUIRE(rig.deliver(frame));
        netif::PacketBuffer* got = rig.device->receive();
        REQUIRE(got != nullptr);
        CHECK(got->size() == frame.size());
        netif::release_buffer(got);
    }
    auto runt = frame_of(14, 0);
    REQUIRE(rig.deliver(std::span(runt).first(4)));  // shorter than an Ethernet header
    REQUIRE(rig.deliver(frame_of(60, 1), 0, 2));     // claims two buffers
    CHECK(rig.device->receive() == nullptr);
    CHECK(rig.device->driver_stats().rx_bad_length == 1);
    CHECK(rig.device->driver_stats().rx_multi_buffer == 1);
    CHECK(rig.device->stats().rx_dropped == 2);
}

TEST_CASE("virtio-net: frames go out with the header in the head-room, one doorbell per batch") {
    Rig rig;
    rig.doorbells.clear();
    for (int i = 0; i < 5; ++i) {
        netif::PacketBuffer* b = rig.device->allocate_tx_buffer();
        REQUIRE(b != nullptr);
        REQUIRE(b->resize(100));
        std::memset(b->data(), i, 100);
        if (i == 0) b->metadata = {.needs_checksum = true, .checksum_start = 34, .checksum_offset = 16};
        REQUIRE(rig.device->transmit(b));
    }
    rig.device->flush();
    CHECK(rig.doorbells == std::vector<std::uint16_t>{NetDevice::k_tx_queue});
    auto chains = rig.tx_device.pop_all();
    REQUIRE(chains.size() == 5);
    for (std::size_t i = 0; i < chains.size(); ++i) {
        const auto& segment = chains[i].segments.at(0);
        CHECK(segment.length == sizeof(NetHeader) + 100);
        CHECK_FALSE(segment.device_writes);
        std::byte* memory = rig.dma.translate(segment.address, segment.length);
        NetHeader header;
        std::memcpy(&header, memory, sizeof header);
        CHECK(header.flags == (i == 0 ? net_header::k_needs_checksum : 0));
        if (i == 0) CHECK(header.checksum_start == 34);
        CHECK(memory[sizeof header] == std::byte{static_cast<std::uint8_t>(i)});
        rig.tx_device.complete(chains[i], 0);
    }
    // Completed buffers come back to the pool when the driver next needs one.
    rig.device->reap_transmitted();
    CHECK(rig.device->stats().tx_packets == 5);
}

TEST_CASE("virtio-net: with HOST_TSO4 a large send carries gso_type, gso_size and the header length") {
    Rig rig(net_feature::k_csum | net_feature::k_host_tso4);
    CHECK(rig.device->capabilities().max_tso_segment == NetDevice::k_tso_packet);
    netif::PacketBuffer* b = rig.device->allocate_tso_buffer();
    REQUIRE(b != nullptr);
    REQUIRE(b->resize(14 + 20 + 32 + 10000));
    std::memset(b->data(), 0, b->size());
    b->data()[14 + 20 + 12] = std::byte{8 << 4};  // TCP data offset: 32 bytes
    b->metadata = {.needs_checksum = true, .checksum_start = 34, .checksum_offset = 16, .segment_size = 1448};
    REQUIRE(rig.device->transmit(b));
    rig.device->flush();
    auto chains = rig.tx_device.pop_all();
    REQUIRE(chains.size() == 1);
    const auto& segment = chains[0].segments.at(0);
    CHECK(segment.length == sizeof(NetHeader) + 14 + 20 + 32 + 10000);
    NetHeader header;
    std::memcpy(&header, rig.dma.translate(segment.address, segment.length), sizeof header);
    CHECK(header.flags == net_header::k_needs_checksum);
    CHECK(header.gso_type == net_header::k_gso_tcpv4);
    CHECK(header.gso_size == 1448);
    CHECK(header.header_length == 14 + 20 + 32);
    CHECK(rig.device->driver_stats().tx_tso_frames == 1);
    rig.tx_device.complete(chains[0], 0);
    // The two large buffers come back once the device is done with them.
    netif::PacketBuffer* x = rig.device->allocate_tso_buffer();
    netif::PacketBuffer* y = rig.device->allocate_tso_buffer();
    CHECK(x != nullptr);
    CHECK(y != nullptr);
    CHECK(rig.device->allocate_tso_buffer() == nullptr);
    netif::release_buffer(x);
    netif::release_buffer(y);
}

TEST_CASE("virtio-net: without HOST_TSO4 there are no large buffers, and a TSO send is refused") {
    Rig rig;  // CSUM only
    CHECK(rig.device->capabilities().max_tso_segment == 0);
    CHECK(rig.device->allocate_tso_buffer() == nullptr);
    netif::PacketBuffer* b = rig.device->allocate_tx_buffer();
    REQUIRE(b->resize(100));
    b->metadata = {.needs_checksum = true, .checksum_start = 34, .checksum_offset = 16, .segment_size = 1448};
    CHECK(!rig.device->transmit(b));
    CHECK(rig.device->stats().tx_errors == 1);
    CHECK(rig.tx_device.pop_all().empty());
}

TEST_CASE("virtio-net: with GUEST_TSO4 a packet over several buffers is put together") {
    Rig rig(net_feature::k_guest_csum | net_feature::k_guest_tso4 | net_feature::k_mrg_rxbuf);
    // A 5000-byte frame over three 2 KiB buffers: the header (num_buffers 3) and the first
    // part, then two parts without a header (§5.1.6.4.2).
    auto frame = frame_of(5000, 0x5A);
    for (std::size_t i = 14; i < frame.size(); ++i) frame[i] = static_cast<std::byte>(i * 7);
    std::size_t first = NetDevice::k_buffer_size - sizeof(NetHeader);
    std::vector<std::byte> head(sizeof(NetHeader) + first);
    NetHeader header{net_header::k_needs_checksum, net_header::k_gso_tcpv4, 0, 1448, 0, 0, 3};
    std::memcpy(head.data(), &header, sizeof header);
    std::memcpy(head.data() + sizeof header, frame.data(), first);
    REQUIRE(rig.deliver_raw(head));
    REQUIRE(rig.deliver_raw(std::span(frame).subspan(first, NetDevice::k_buffer_size)));
    REQUIRE(rig.deliver_raw(std::span(frame).subspan(first + NetDevice::k_buffer_size)));
    netif::PacketBuffer* got = rig.device->receive();
    REQUIRE(got != nullptr);
    REQUIRE(got->size() == frame.size());
    CHECK(std::memcmp(got->data(), frame.data(), frame.size()) == 0);
    CHECK(got->metadata.checksum_verified);  // NEEDS_CSUM: a local sender's partial checksum
    CHECK(rig.device->driver_stats().rx_large_packets == 1);
    netif::release_buffer(got);
    // The three receive buffers went back to the device.
    CHECK(rig.device->receive() == nullptr);
    CHECK(rig.device->stats().rx_dropped == 0);
}

TEST_CASE("virtio-net: without a large buffer a packet over several buffers is dropped whole") {
    Rig rig(net_feature::k_guest_csum | net_feature::k_mrg_rxbuf);  // no GUEST_TSO4: no large buffers
    std::vector<std::byte> head(NetDevice::k_buffer_size, std::byte{1});
    NetHeader header{0, 0, 0, 0, 0, 0, 2};
    std::memcpy(head.data(), &header, sizeof header);
    REQUIRE(rig.deliver_raw(head));
    REQUIRE(rig.deliver_raw(std::vector<std::byte>(100, std::byte{2})));
    auto next = frame_of(60, 3);
    REQUIRE(rig.deliver(next));  // the packet after it arrives intact
    netif::PacketBuffer* got = rig.device->receive();
    REQUIRE(got != nullptr);
    CHECK(got->size() == next.size());
    CHECK(rig.device->driver_stats().rx_multi_buffer == 1);
    CHECK(rig.device->stats().rx_dropped == 1);
    netif::release_buffer(got);
}

TEST_CASE("virtio-net: a full transmit queue drops and counts; nothing leaks") {
    Rig rig;
    int sent = 0;
    for (int i = 0; i < 40; ++i) {
        netif::PacketBuffer* b = rig.device->allocate_tx_buffer();
        if (b == nullptr) break;
        REQUIRE(b->resize(60));
        if (rig.device->transmit(b)) ++sent;
    }
    CHECK(sent == 16);  // the device takes nothing back meanwhile
    CHECK(rig.device->driver_stats().tx_queue_full > 0);
}
