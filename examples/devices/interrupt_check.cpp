#include "examples/devices/interrupt_check.hpp"

#include <array>
#include <cstring>
#include <span>

#include "balloon/driver.hpp"
#include "kernel/clock.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "netif/device.hpp"
#include "netif/packet_buffer.hpp"
#include "virtio/dma.hpp"
#include "virtio/features.hpp"
#include "virtio/registry.hpp"

namespace devices {
namespace {

using kernel::println;

constexpr std::uint64_t k_timeout_ns = 2'000'000'000;

// Waits with interrupts on until `done` holds or the time is up.
template <typename Done>
bool wait_for(Done done) {
    std::uint64_t deadline = kernel::clock::now_ns() + k_timeout_ns;
    kernel::cpu::enable_interrupts();
    bool ok = false;
    while (!(ok = done()) && kernel::clock::now_ns() < deadline) kernel::cpu::pause();
    kernel::cpu::disable_interrupts();
    return ok;
}

// RFC 826: an ARP request for 10.0.2.2 (QEMU's user-mode gateway) from 10.0.2.15, padded
// to Ethernet's 60-byte minimum.
constexpr std::size_t k_frame_length = 60;
void write_arp_request(std::byte* frame, const netif::MacAddress& mac) {
    std::array<std::uint8_t, k_frame_length> bytes{};
    std::memset(bytes.data(), 0xFF, 6);                               // broadcast
    std::memcpy(bytes.data() + 6, mac.bytes.data(), 6);               // source
    const std::uint8_t type_and_header[] = {0x08, 0x06,               // ARP
                                            0x00, 0x01,               // Ethernet
                                            0x08, 0x00,               // IPv4
                                            6,    4,    0x00, 0x01};  // request
    std::memcpy(bytes.data() + 12, type_and_header, sizeof type_and_header);
    std::memcpy(bytes.data() + 22, mac.bytes.data(), 6);
    const std::uint8_t addresses[] = {10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2};
    std::memcpy(bytes.data() + 28, addresses, sizeof addresses);
    std::memcpy(frame, bytes.data(), bytes.size());
}

bool is_arp_reply(const netif::PacketBuffer& frame) {
    auto bytes = frame.bytes();
    auto byte = [&bytes](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    return bytes.size() >= 42 && byte(12) == 0x08 && byte(13) == 0x06 && byte(21) == 2;
}

// Through the network device the virtio-net driver registered (net/device.hpp): the
// driver owns the queues, so the frame goes the way the stack's frames go.
bool check_net(virtio::Device& device) {
    auto registered = netif::registered_devices();
    if (registered.empty()) {
        println("devices: {} {}: no network device registered", device.name(), device.location());
        return false;
    }
    netif::NetworkDevice& nic = *registered[0].device;
    netif::PacketBuffer* request = nic.allocate_tx_buffer();
    if (request == nullptr || !request->resize(k_frame_length)) return false;
    write_arp_request(request->data(), nic.mac());

    std::uint64_t interrupts_before = device.interrupts();
    std::uint64_t start = kernel::clock::now_ns();
    nic.transmit(request);
    nic.flush();
    std::array<std::uint8_t, 10> reply{};  // sender MAC and IPv4 address
    bool replied = false;
    // The reply can be in the ring before its interrupt is taken: wait for both.
    bool answered = wait_for([&] {
        while (netif::PacketBuffer* frame = nic.receive()) {
            if (!replied && is_arp_reply(*frame)) {
                std::memcpy(reply.data(), frame->data() + 22, reply.size());
                replied = true;
            }
            netif::release_buffer(frame);
        }
        return replied && device.interrupts() > interrupts_before;
    });
    std::uint64_t elapsed_us = (kernel::clock::now_ns() - start) / 1000;
    if (!answered) {
        println("devices: {} {}: {} within 2 s ({} interrupts)", device.name(), device.location(),
                replied ? "an ARP reply but no interrupt" : "no ARP reply", device.interrupts() - interrupts_before);
        return false;
    }
    println(
        "devices: {} {}: ARP reply from {}.{}.{}.{} ({:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}) after {} us, "
        "{} interrupts ({})",
        device.name(), device.location(), reply[6], reply[7], reply[8], reply[9], reply[0], reply[1], reply[2],
        reply[3], reply[4], reply[5], elapsed_us, device.interrupts() - interrupts_before, device.interrupt_mode());
    return true;
}

// virtio 1.2 §5.5.6: the balloon takes page numbers (4096-byte units, little-endian 32
// bits) on the inflate queue and gives them back on the deflate queue. Under the
// probe-only driver this example drives the queues itself.
constexpr std::uint16_t k_inflate_queue = 0;
constexpr std::uint16_t k_deflate_queue = 1;

bool balloon_step(virtio::Device& device, std::uint16_t index, const virtio::DmaBuffer& page_list) {
    virtio::Virtqueue* queue = device.queue(index);
    if (queue == nullptr) return false;
    std::uint64_t before = device.interrupts();
    const virtio::Segment list{page_list.device_address(), 4};
    if (!queue->add_buffer(std::span(&list, 1), {}, index)) return false;
    device.kick(index);
    bool done = wait_for([&] { return queue->has_used() && device.interrupts() > before; });
    static_cast<void>(queue->get_used());
    return done;
}

bool check_balloon_probe(virtio::Device& device) {
    auto page = virtio::DmaBuffer::allocate(virtio::kernel_dma(), 4096, 4096);
    auto page_list = virtio::DmaBuffer::allocate(virtio::kernel_dma(), 4096, 4096);
    if (!page || !page_list) return false;
    auto number = static_cast<std::uint32_t>(page->device_address() >> 12);
    std::memcpy(page_list->cpu(), &number, sizeof number);
    std::uint64_t before = device.interrupts();
    bool inflated = balloon_step(device, k_inflate_queue, *page_list);
    bool deflated = inflated && balloon_step(device, k_deflate_queue, *page_list);
    println("devices: {} {}: page {:#x} {}, {} interrupts ({})", device.name(), device.location(),
            page->device_address(),
            deflated   ? "inflated and deflated"
            : inflated ? "inflated, not deflated"
                       : "not inflated",
            device.interrupts() - before, device.interrupt_mode());
    return deflated;
}

// Under the balloon driver (balloon/): one page above the device's target, through the
// driver's own queues, then back. No event loop runs here, so this polls the balloon.
bool check_balloon_driver(virtio::Device& device) {
    balloon::Balloon* b = balloon::instance();
    if (b == nullptr) return false;
    std::uint64_t before = device.interrupts();
    std::uint64_t inflated_before = b->stats().inflated;
    std::uint64_t deflated_before = b->stats().deflated;
    auto settle = [&] {
        return wait_for([&] {
            b->poll(kernel::clock::now_ns());
            return b->settled();
        });
    };
    b->set_extra_pages(1);
    bool inflated = settle() && b->stats().inflated == inflated_before + 1;
    b->set_extra_pages(0);
    bool deflated = inflated && settle() && b->stats().deflated == deflated_before + 1;
    println("devices: {} {}: 1 page {}, {} interrupts ({}); balloon holds {} pages, target {}", device.name(),
            device.location(),
            deflated   ? "inflated and deflated"
            : inflated ? "inflated, not deflated"
                       : "not inflated",
            device.interrupts() - before, device.interrupt_mode(), b->pages(), b->target());
    return deflated && device.interrupts() > before;
}

}  // namespace

bool check_interrupts(const virtio::DeviceInfo& info) {
    if (info.device == nullptr) return false;
    switch (info.device_id) {
        case virtio::device_id::k_net: return check_net(*info.device);
        case virtio::device_id::k_balloon:
            if (info.priority == virtio::k_probe_only_priority) return check_balloon_probe(*info.device);
            return check_balloon_driver(*info.device);
        default: return true;
    }
}

}  // namespace devices
