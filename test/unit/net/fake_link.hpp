#pragma once
// Two fake network devices joined by a wire: what one transmits, the other receives
// (copied into its own pool, as a real link would). Optionally the wire drops frames.

#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "netif/device.hpp"

namespace test {

class FakeDevice final : public netif::NetworkDevice {
public:
    FakeDevice(netif::MacAddress mac, std::size_t buffers = 64) : m_mac(mac), m_memory(buffers * 2048) {
        m_pool = netif::BufferPool::create(m_memory, 0x4000'0000, 2048, 128).value();
    }
    ~FakeDevice() {
        for (auto* b : m_rx) netif::release_buffer(b);
        delete m_pool;
    }
    FakeDevice(const FakeDevice&) = delete;
    FakeDevice& operator=(const FakeDevice&) = delete;

    void connect(FakeDevice& peer) { m_peer = &peer; }

    netif::MacAddress mac() const override { return m_mac; }
    netif::DeviceCapabilities capabilities() const override { return {}; }
    bool link_up() const override { return true; }
    netif::PacketBuffer* receive() override {
        if (m_rx.empty()) return nullptr;
        auto* b = m_rx.front();
        m_rx.pop_front();
        return b;
    }
    bool transmit(netif::PacketBuffer* frame) override {
        ++m_stats.tx_packets;
        sent.emplace_back(frame->bytes().begin(), frame->bytes().end());
        bool drop = drop_filter && drop_filter(frame->bytes());
        if (m_peer != nullptr && !drop) m_peer->inject(frame->bytes());
        netif::release_buffer(frame);
        return true;
    }
    void flush() override {}
    void set_receive_hook(void (*hook)(void*), void* context) override {
        m_hook = hook;
        m_hook_context = context;
    }
    netif::PacketBuffer* allocate_tx_buffer() override { return m_pool->allocate(); }
    const netif::DeviceStats& stats() const override { return m_stats; }

    // A frame arrives from the wire.
    void inject(std::span<const std::byte> bytes) {
        netif::PacketBuffer* b = m_pool->allocate();
        if (b == nullptr) {
            ++m_stats.rx_dropped;
            return;
        }
        b->reset(0);
        if (!b->resize(bytes.size())) {
            netif::release_buffer(b);
            ++m_stats.rx_dropped;
            return;
        }
        std::memcpy(b->data(), bytes.data(), bytes.size());
        m_rx.push_back(b);
        if (m_hook != nullptr) m_hook(m_hook_context);
    }
    netif::BufferPool& pool() { return *m_pool; }

    std::vector<std::vector<std::byte>> sent;
    std::function<bool(std::span<const std::byte>)> drop_filter;

private:
    netif::MacAddress m_mac;
    std::vector<std::byte> m_memory;
    netif::BufferPool* m_pool = nullptr;
    FakeDevice* m_peer = nullptr;
    void (*m_hook)(void*) = nullptr;
    void* m_hook_context = nullptr;
    std::deque<netif::PacketBuffer*> m_rx;
    netif::DeviceStats m_stats;
};

}  // namespace test
