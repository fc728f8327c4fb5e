// Device initialization (virtio 1.2 §3.1.1) against fake devices: feature negotiation,
// FEATURES_OK, queue setup, MSI-X vectors, and the failures that mark a device FAILED.

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "test/unit/virtio/fake_dma.hpp"
#include "test/unit/virtio/fake_virtio_pci.hpp"
#include "virtio/device.hpp"
#include "virtio/features.hpp"
#include "virtio/legacy_transport.hpp"
#include "virtio/pci_transport.hpp"

using virtio::DeviceError;
namespace features = virtio::features;
namespace status = virtio::status;

namespace {

constexpr std::uint64_t k_mac = virtio::feature(5);
constexpr std::uint64_t k_status = virtio::feature(16);
constexpr std::uint64_t k_ctrl_vq = virtio::feature(17);

// Hands out MSI-X entry 0 for configuration changes and 1 + queue for queues.
class FakeInterrupts final : public virtio::InterruptSource {
public:
    kernel::Result<std::uint16_t, DeviceError> entry_for(std::uint16_t index) override {
        asked.push_back(index);
        if (fail) return kernel::err(DeviceError::NoInterrupts);
        return index == virtio::k_config_interrupt ? std::uint16_t{0} : static_cast<std::uint16_t>(index + 1);
    }
    [[nodiscard]] const char* describe() const override { return "MSI-X"; }
    std::vector<std::uint16_t> asked;
    bool fail = false;
};

}  // namespace

TEST_CASE("negotiate: modern device, features intersected, VERSION_1 added, FEATURES_OK read back") {
    test::FakeModernDevice fake(features::k_version_1 | features::k_event_idx | k_mac | k_ctrl_vq | virtio::feature(40),
                                2, 256);
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    auto negotiated = device.negotiate({.required = k_mac, .optional = k_status | features::k_event_idx});
    REQUIRE(negotiated);
    CHECK(*negotiated == (features::k_version_1 | features::k_event_idx | k_mac));
    CHECK(fake.accepted == *negotiated);
    CHECK(device.features() == *negotiated);
    CHECK(fake.statuses() ==
          std::vector<std::uint8_t>{0, status::k_acknowledge, status::k_acknowledge | status::k_driver,
                                    status::k_acknowledge | status::k_driver | status::k_features_ok});
    REQUIRE(device.driver_ok());
    CHECK(device.status() == (status::k_acknowledge | status::k_driver | status::k_features_ok | status::k_driver_ok));
}

TEST_CASE("negotiate: FEATURES_OK that does not stick marks the device FAILED") {
    test::FakeModernDevice fake(features::k_version_1 | k_mac, 2, 256);
    fake.accept_features = false;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    auto negotiated = device.negotiate({.required = 0, .optional = k_mac});
    REQUIRE_FALSE(negotiated);
    CHECK(negotiated.error() == DeviceError::FeaturesNotAccepted);
    CHECK((fake.status & status::k_failed) != 0);
    CHECK((fake.status & status::k_driver_ok) == 0);
    CHECK(device.features() == 0);
    CHECK(std::string(virtio::describe_status(fake.status)) == "FAILED");
}

TEST_CASE("negotiate: a modern device without VERSION_1 offers nothing usable") {
    test::FakeModernDevice fake(k_mac | k_status, 2, 256);
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    auto negotiated = device.negotiate({.required = 0, .optional = k_mac});
    REQUIRE_FALSE(negotiated);
    CHECK(negotiated.error() == DeviceError::NoVersion1);
    CHECK((fake.status & status::k_failed) != 0);
    CHECK(fake.accepted == 0);  // nothing was written
}

TEST_CASE("negotiate: a required feature the device lacks fails, naming the bits") {
    test::FakeModernDevice fake(features::k_version_1 | k_mac, 2, 256);
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    auto negotiated = device.negotiate({.required = k_mac | k_ctrl_vq, .optional = 0});
    REQUIRE_FALSE(negotiated);
    CHECK(negotiated.error() == DeviceError::MissingFeatures);
    CHECK(device.missing_features() == k_ctrl_vq);
    CHECK((fake.status & status::k_failed) != 0);
}

TEST_CASE("negotiate: a device that never finishes its reset") {
    test::FakeModernDevice fake(features::k_version_1, 2, 256);
    fake.reset_hangs = true;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    CHECK(device.negotiate({}).error() == DeviceError::ResetTimeout);
}

TEST_CASE("negotiate: the configuration interrupt gets MSI-X entry 0, or the device fails") {
    test::FakeModernDevice fake(features::k_version_1, 2, 256);
    FakeInterrupts interrupts;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1, &interrupts);
    REQUIRE(device.negotiate({}));
    CHECK(fake.config_vector == 0);
    CHECK(interrupts.asked == std::vector<std::uint16_t>{virtio::k_config_interrupt});

    fake.vectors = 0;  // the device can use no entry at all
    auto again = device.negotiate({});
    CHECK(again.error() == DeviceError::VectorRefused);
    CHECK((fake.status & status::k_failed) != 0);
}

TEST_CASE("queues: rings, size, vector and enable reach the device; notifications go to the right place") {
    test::FakeModernDevice fake(features::k_version_1 | features::k_event_idx, 2, 256);
    fake.notify_multiplier = 4;
    fake.queue_state[1].notify_off = 3;
    FakeInterrupts interrupts;
    test::FakeDma dma;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1, &interrupts);
    REQUIRE(device.negotiate({.required = 0, .optional = features::k_event_idx}));
    auto receive = device.setup_queue(0, dma, 1024);  // more than offered: the device's 256
    auto transmit = device.setup_queue(1, dma, 100);  // rounded down to a power of two
    REQUIRE(receive);
    REQUIRE(transmit);
    CHECK((*receive)->size() == 256);
    CHECK((*transmit)->size() == 64);
    CHECK((*receive)->event_idx());
    CHECK(device.queue_count() == 2);

    const test::FakeQueue& q1 = fake.queue_state[1];
    CHECK(q1.size == 64);
    CHECK(q1.enable == 1);
    CHECK(q1.vector == 2);
    CHECK(q1.desc == (*transmit)->descriptor_area());
    CHECK(q1.driver == (*transmit)->driver_area());
    CHECK(q1.device == (*transmit)->device_area());
    CHECK(fake.queue_state[0].vector == 1);

    const virtio::Segment segment{dma.allocate(64, 64, virtio::DmaContents::Zeroed)->device_address, 64};
    REQUIRE((*transmit)->add_buffer(std::span(&segment, 1), {}, 7));
    device.kick(1);
    REQUIRE_FALSE(fake.notify.writes.empty());
    CHECK(fake.notify.writes.back().offset == std::size_t{3} * 4);
    CHECK(fake.notify.writes.back().width == 2);
    CHECK(fake.notify.writes.back().value == 1);
}

TEST_CASE("queues: the number of queues, each one's largest size and notify offset are read once") {
    test::FakeModernDevice fake(features::k_version_1, 3, 256);
    int count_reads = 0;
    int size_reads = 0;
    int notify_off_reads = 0;
    auto device_side = fake.common.on_read;  // the fake's own registers, counted on the way
    fake.common.on_read = [&](std::size_t offset, unsigned width, std::uint32_t& value) {
        if (offset == virtio::common::k_num_queues.offset) ++count_reads;
        if (offset == virtio::common::k_queue_size.offset) ++size_reads;
        if (offset == virtio::common::k_queue_notify_off.offset) ++notify_off_reads;
        return device_side && device_side(offset, width, value);
    };
    test::FakeDma dma;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    REQUIRE(device.negotiate({}));
    for (std::uint16_t queue = 0; queue < 3; ++queue) REQUIRE(device.setup_queue(queue, dma, 64));
    CHECK(device.setup_queue(3, dma, 64).error() == DeviceError::NoSuchQueue);  // the remembered count still holds
    CHECK(count_reads == 1);
    CHECK(size_reads == 3);
    CHECK(notify_off_reads == 3);
}

TEST_CASE("queues: a missing queue, a refused vector, a notify address out of range") {
    test::FakeDma dma;
    SECTION("no such queue") {
        test::FakeModernDevice fake(features::k_version_1, 1, 256);
        virtio::ModernTransport transport(fake.windows());
        virtio::Device device(transport, 1);
        REQUIRE(device.negotiate({}));
        CHECK(device.setup_queue(1, dma, 256).error() == DeviceError::NoSuchQueue);
        CHECK((fake.status & status::k_failed) != 0);
    }
    SECTION("vector refused") {
        test::FakeModernDevice fake(features::k_version_1, 2, 256);
        fake.vectors = 2;  // entries 0 and 1: queue 1 would need entry 2
        FakeInterrupts interrupts;
        virtio::ModernTransport transport(fake.windows());
        virtio::Device device(transport, 1, &interrupts);
        REQUIRE(device.negotiate({}));
        REQUIRE(device.setup_queue(0, dma, 256));
        CHECK(device.setup_queue(1, dma, 256).error() == DeviceError::VectorRefused);
        CHECK(fake.queue_state[1].enable == 0);
    }
    SECTION("notify offset past the notify region") {
        test::FakeModernDevice fake(features::k_version_1, 1, 256);
        fake.queue_state[0].notify_off = 0x1000;
        virtio::ModernTransport transport(fake.windows());
        virtio::Device device(transport, 1);
        REQUIRE(device.negotiate({}));
        CHECK(device.setup_queue(0, dma, 256).error() == DeviceError::NotifyOutOfRange);
        CHECK(fake.queue_state[0].enable == 0);
    }
    SECTION("interrupts that cannot be set up") {
        test::FakeModernDevice fake(features::k_version_1, 1, 256);
        FakeInterrupts interrupts;
        virtio::ModernTransport transport(fake.windows());
        virtio::Device device(transport, 1, &interrupts);
        REQUIRE(device.negotiate({}));
        interrupts.fail = true;
        CHECK(device.setup_queue(0, dma, 256).error() == DeviceError::NoInterrupts);
    }
}

TEST_CASE("legacy: 32 feature bits, no FEATURES_OK, never VERSION_1") {
    test::FakeLegacyDevice fake(0x2001'0020 | 0x1, 2, 256);
    virtio::LegacyTransport transport(fake.registers);
    virtio::Device device(transport, 1);
    auto negotiated = device.negotiate({.required = k_mac, .optional = k_status | features::k_version_1 | 1});
    REQUIRE(negotiated);
    CHECK(*negotiated == (k_mac | k_status | 1));
    CHECK(fake.accepted == (k_mac | k_status | 1));
    CHECK((fake.status & status::k_features_ok) == 0);
    REQUIRE(device.driver_ok());
    CHECK(fake.status == (status::k_acknowledge | status::k_driver | status::k_driver_ok));
}

TEST_CASE("legacy: a queue is the device's size, in the legacy layout, given by page number") {
    test::FakeLegacyDevice fake(0, 2, 128);
    test::LowDma dma;
    virtio::LegacyTransport transport(fake.registers);
    virtio::Device device(transport, 5);
    REQUIRE(device.negotiate({}));
    auto queue = device.setup_queue(1, dma, 256);
    REQUIRE(queue);
    CHECK((*queue)->size() == 128);  // not 256: the legacy size is fixed
    CHECK((*queue)->layout() == virtio::RingLayout::Legacy);
    CHECK(fake.queue_state[1].legacy_page == (*queue)->ring_address() >> 12);
    CHECK(fake.queue_state[1].legacy_page != 0);
    const virtio::Segment segment{(*queue)->ring_address(), 4};
    REQUIRE((*queue)->add_buffer(std::span(&segment, 1), {}, 1));
    device.kick(1);
    CHECK(fake.notified == std::vector<std::uint16_t>{1});
}

TEST_CASE("legacy: ring memory above what a 32-bit page number reaches") {
    test::FakeLegacyDevice fake(0, 1, 128);
    test::FakeDma dma;  // device addresses far above 16 TiB
    virtio::LegacyTransport transport(fake.registers);
    virtio::Device device(transport, 5);
    REQUIRE(device.negotiate({}));
    CHECK(device.setup_queue(0, dma, 128).error() == DeviceError::QueueOutOfReach);
    CHECK(fake.queue_state[0].legacy_page == 0);
}

TEST_CASE("legacy: the device configuration moves when MSI-X is on") {
    test::FakeLegacyDevice fake(0, 1, 128);
    fake.registers.put(0x14, 4, 0x1111'1111);
    fake.registers.put(0x18, 4, 0x2222'2222);
    virtio::LegacyTransport transport(fake.registers);
    virtio::Device device(transport, 1);
    CHECK(device.read_config<std::uint32_t>(0) == 0x1111'1111);
    CHECK_FALSE(transport.set_config_vector(0));  // no vector registers without MSI-X
    CHECK(transport.set_config_vector(virtio::k_no_vector));
    transport.set_msix_enabled(true);
    fake.msix = true;
    CHECK(device.read_config<std::uint32_t>(0) == 0x2222'2222);
    CHECK(transport.set_config_vector(0));
}

TEST_CASE("legacy: queue vectors need MSI-X and are read back") {
    test::FakeLegacyDevice fake(0, 2, 128);
    fake.msix = true;
    fake.vectors = 2;
    test::LowDma dma;
    FakeInterrupts interrupts;
    virtio::LegacyTransport transport(fake.registers);
    transport.set_msix_enabled(true);
    virtio::Device device(transport, 1, &interrupts);
    REQUIRE(device.negotiate({}));
    REQUIRE(device.setup_queue(0, dma, 128));
    CHECK(fake.queue_state[0].vector == 1);
    CHECK(device.setup_queue(1, dma, 128).error() == DeviceError::VectorRefused);
}

TEST_CASE("interrupts: the ISR says which handlers run on a shared line") {
    test::FakeModernDevice fake(features::k_version_1, 2, 16);
    test::FakeDma dma;
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    REQUIRE(device.negotiate({}));
    REQUIRE(device.setup_queue(0, dma, 16));
    REQUIRE(device.setup_queue(1, dma, 16));
    int queue_calls = 0;
    int config_calls = 0;
    device.set_queue_handler(
        0, [](void* c) { ++*static_cast<int*>(c); }, &queue_calls);
    device.set_queue_handler(
        1, [](void* c) { ++*static_cast<int*>(c); }, &queue_calls);
    device.set_config_handler([](void* c) { ++*static_cast<int*>(c); }, &config_calls);

    CHECK_FALSE(device.handle_shared_interrupt());  // not ours
    fake.isr_pending = virtio::isr::k_queue;
    CHECK(device.handle_shared_interrupt());
    CHECK(queue_calls == 2);
    CHECK(config_calls == 0);
    fake.isr_pending = virtio::isr::k_config;
    CHECK(device.handle_shared_interrupt());
    CHECK(config_calls == 1);
    CHECK(fake.isr_pending == 0);  // the read cleared it
    device.handle_queue_interrupt(1);
    CHECK(queue_calls == 3);
    CHECK(device.interrupts() == 3);
}

TEST_CASE("configuration: bytes are re-read while the generation changes") {
    test::FakeModernDevice fake(features::k_version_1, 1, 16);
    const std::uint8_t mac[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::memcpy(fake.config.bytes.data(), mac, 6);
    int generation_reads = 0;
    fake.common.on_read = [&](std::size_t offset, unsigned, std::uint32_t& value) {
        if (offset != virtio::common::k_config_generation.offset) return false;
        value = generation_reads++ < 2 ? static_cast<std::uint32_t>(generation_reads) : 7u;  // changes once
        return true;
    };
    virtio::ModernTransport transport(fake.windows());
    virtio::Device device(transport, 1);
    std::array<std::uint8_t, 6> read{};
    device.read_config_bytes(0, read);
    CHECK(std::memcmp(read.data(), mac, 6) == 0);
    CHECK(generation_reads == 4);  // one pass whose generation changed, one that held
}
