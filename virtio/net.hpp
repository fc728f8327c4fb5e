#pragma once
// The virtio-net data path (virtio 1.2 §5.1.6): a netif::NetworkDevice over a receive and a
// transmit virtqueue. The receive queue is kept full of buffers from a pool; frames are
// handed to the stack without copying (the header is stripped in place). Frames to send
// get their header in the head-room the stack left, go out in batches with one
// notification, and their buffers come back when the device is done.
//
// Setting the device up (PCI, features, queues, interrupts) is the transport's job; this
// part is portable and runs against a simulated device in tests. It implements the
// stack's device contract (net/device.hpp, net/packet_buffer.hpp): a driver depends on
// the interface its user defines, so the stack needs to know nothing of virtio.

#include <cstdint>

#include "netif/device.hpp"
#include "netif/packet_buffer.hpp"
#include "virtio/dma.hpp"
#include "virtio/virtqueue.hpp"

namespace virtio {

struct NetConfig {
    netif::MacAddress mac;
    std::uint16_t mtu = 1500;
    std::uint64_t features = 0;      // negotiated (net_feature::*)
    std::size_t header_length = 12;  // 10 for a legacy device without MRG_RXBUF
    std::size_t rx_buffers = 256;
    std::size_t tx_buffers = 256;
    std::size_t tso_buffers = 32;       // large transmit buffers (2 MiB), with HOST_TSO4 only
    std::size_t large_rx_buffers = 16;  // for coalesced packets (1 MiB of heap), with GUEST_TSO4 only
};

struct NetStats {
    std::uint64_t rx_refill_failures = 0;  // no buffer to give the device
    std::uint64_t rx_bad_length = 0;       // shorter than a header and an Ethernet header
    std::uint64_t rx_multi_buffer = 0;     // a packet spread over buffers that could not be taken
    std::uint64_t rx_large_packets = 0;    // packets over several buffers, put together
    std::uint64_t tx_queue_full = 0;
    std::uint64_t tx_tso_frames = 0;  // frames the device cut into segments
    std::uint64_t notifications = 0;
};

class NetDevice final : public netif::NetworkDevice {
public:
    // Rings the device's doorbell for a queue (the transport's notify).
    struct Notify {
        void (*function)(void* context, std::uint16_t queue) = nullptr;
        void* context = nullptr;
        void operator()(std::uint16_t queue) const { function(context, queue); }
    };
    static constexpr std::uint16_t k_rx_queue = 0;
    static constexpr std::uint16_t k_tx_queue = 1;
    static constexpr std::size_t k_buffer_size = 2048;
    static constexpr std::size_t k_tx_headroom = 128;
    // A TSO buffer: the head-room, the Ethernet header and the largest IPv4 packet.
    static constexpr std::size_t k_tso_packet = 65535;
    static constexpr std::size_t k_tso_buffer_size = k_tx_headroom + 14 + k_tso_packet + 1;
    // A received packet put together from several buffers: Ethernet header and the
    // largest IPv4 packet.
    static constexpr std::size_t k_large_rx_size = 14 + k_tso_packet + 1;

    enum class Error { NoMemory, QueueError };
    // The queues must outlive the device; notify(queue) rings the device's doorbell.
    static kernel::Result<NetDevice*, Error> create(const NetConfig& config, Virtqueue& rx, Virtqueue& tx,
                                                    DmaAllocator& dma, Notify notify);
    NetDevice(const NetDevice&) = delete;
    NetDevice& operator=(const NetDevice&) = delete;
    ~NetDevice();

    // netif::NetworkDevice
    netif::MacAddress mac() const override { return m_config.mac; }
    netif::DeviceCapabilities capabilities() const override;
    bool link_up() const override { return m_link_up; }
    netif::PacketBuffer* receive() override;
    bool transmit(netif::PacketBuffer* frame) override;
    void flush() override;
    netif::PacketBuffer* allocate_tx_buffer() override;
    netif::PacketBuffer* allocate_tso_buffer() override;
    const netif::DeviceStats& stats() const override { return m_stats; }
    void set_receive_hook(void (*hook)(void*), void* context) override {
        m_receive_hook = hook;
        m_receive_context = context;
    }
    // The receive queue's interrupt (interrupt context): tells the stack, nothing more.
    void interrupt() {
        if (m_receive_hook != nullptr) m_receive_hook(m_receive_context);
    }

    void set_link_up(bool up) { m_link_up = up; }
    [[nodiscard]] const NetStats& driver_stats() const { return m_driver_stats; }
    // Gives the device every free receive buffer; notifies if it asked.
    void refill();
    // Takes back buffers the device has sent.
    void reap_transmitted();

private:
    NetDevice(const NetConfig& config, Virtqueue& rx, Virtqueue& tx, Notify notify)
        : m_config(config), m_rx(rx), m_tx(tx), m_notify(notify) {}

    NetConfig m_config;
    Virtqueue& m_rx;
    Virtqueue& m_tx;
    Notify m_notify;
    DmaBuffer m_rx_memory;
    DmaBuffer m_tx_memory;
    DmaBuffer m_tso_memory;
    netif::BufferPool* m_rx_pool = nullptr;
    netif::BufferPool* m_tx_pool = nullptr;
    netif::BufferPool* m_tso_pool = nullptr;  // with HOST_TSO4 (and CSUM) only
    std::byte* m_large_rx_memory = nullptr;
    netif::BufferPool* m_large_rx_pool = nullptr;  // with GUEST_TSO4 only
    netif::PacketBuffer* assemble(netif::PacketBuffer* first, std::uint16_t count);
    // A buffer from one of the transmit pools, reaping sent frames if it is empty.
    netif::PacketBuffer* allocate_from(netif::BufferPool* pool);
    bool m_link_up = true;
    void (*m_receive_hook)(void*) = nullptr;
    void* m_receive_context = nullptr;
    bool m_tx_pending = false;
    netif::DeviceStats m_stats;
    NetStats m_driver_stats;
};

}  // namespace virtio
