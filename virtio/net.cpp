#include "virtio/net.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "virtio/net_header.hpp"

namespace virtio {
namespace {

netif::PacketBuffer* from_token(Virtqueue::Token token) { return std::bit_cast<netif::PacketBuffer*>(token); }
Virtqueue::Token to_token(netif::PacketBuffer* buffer) { return std::bit_cast<Virtqueue::Token>(buffer); }

}  // namespace

kernel::Result<NetDevice*, NetDevice::Error> NetDevice::create(const NetConfig& config, Virtqueue& rx, Virtqueue& tx,
                                                               DmaAllocator& dma, Notify notify) {
    auto* device = new (std::nothrow) NetDevice(config, rx, tx, notify);
    if (device == nullptr) return kernel::err(Error::NoMemory);
    // §5.1.3.1: HOST_TSO4 comes only with CSUM. The large buffers are taken out of the
    // transmit buffers' number, so that every buffer the stack can hold has a descriptor
    // waiting for it (a frame never finds the queue full). Without memory for them the
    // device works on without TSO.
    bool tso = (config.features & net_feature::k_host_tso4) != 0 && (config.features & net_feature::k_csum) != 0;
    std::size_t tso_buffers = tso ? std::min(config.tso_buffers, config.tx_buffers / 2) : 0;
    auto rx_memory = DmaBuffer::allocate(dma, config.rx_buffers * k_buffer_size, 4096, DmaContents::Unspecified);
    auto tx_memory =
        DmaBuffer::allocate(dma, (config.tx_buffers - tso_buffers) * k_buffer_size, 4096, DmaContents::Unspecified);
    if (!rx_memory || !tx_memory) {
        delete device;
        return kernel::err(Error::NoMemory);
    }
    device->m_rx_memory = std::move(rx_memory.value());
    device->m_tx_memory = std::move(tx_memory.value());
    auto rx_pool = netif::BufferPool::create({device->m_rx_memory.cpu(), device->m_rx_memory.size()},
                                             device->m_rx_memory.device_address(), k_buffer_size, 0);
    auto tx_pool = netif::BufferPool::create({device->m_tx_memory.cpu(), device->m_tx_memory.size()},
                                             device->m_tx_memory.device_address(), k_buffer_size, k_tx_headroom);
    if (!rx_pool || !tx_pool) {
        if (rx_pool) delete rx_pool.value();
        if (tx_pool) delete tx_pool.value();
        delete device;
        return kernel::err(Error::NoMemory);
    }
    device->m_rx_pool = rx_pool.value();
    device->m_tx_pool = tx_pool.value();
    if ((config.features & net_feature::k_guest_tso4) != 0 && config.large_rx_buffers > 0) {
        // Coalesced packets arrive over several receive buffers (MRG_RXBUF) and are copied
        // into one of these; without them such packets are dropped and counted.
        std::size_t bytes = config.large_rx_buffers * k_large_rx_size;
        device->m_large_rx_memory = new (std::nothrow) std::byte[bytes];
        if (device->m_large_rx_memory != nullptr) {
            auto pool = netif::BufferPool::create({device->m_large_rx_memory, bytes}, 0, k_large_rx_size, 0);
            if (pool) device->m_large_rx_pool = pool.value();
        }
    }
    if (tso_buffers > 0) {
        auto tso_memory = DmaBuffer::allocate(dma, tso_buffers * k_tso_buffer_size, 4096, DmaContents::Unspecified);
        if (tso_memory) {
            device->m_tso_memory = std::move(tso_memory.value());
            auto tso_pool =
                netif::BufferPool::create({device->m_tso_memory.cpu(), device->m_tso_memory.size()},
                                          device->m_tso_memory.device_address(), k_tso_buffer_size, k_tx_headroom);
            if (tso_pool) device->m_tso_pool = tso_pool.value();
        }
    }
    // Transmit completions are reaped when we send; no interrupts wanted for them.
    tx.disable_interrupts();
    device->refill();
    return device;
}

NetDevice::~NetDevice() {
    // Only after the device was reset: buffers it still holds come back by token.
    while (auto token = m_rx.detach_unused()) netif::release_buffer(from_token(*token));
    while (auto token = m_tx.detach_unused()) netif::release_buffer(from_token(*token));
    delete m_rx_pool;
    delete m_tx_pool;
    delete m_tso_pool;
    delete m_large_rx_pool;
    delete[] m_large_rx_memory;
}

netif::DeviceCapabilities NetDevice::capabilities() const {
    netif::DeviceCapabilities c;
    c.mtu = m_config.mtu;
    c.tx_checksum_offload = (m_config.features & net_feature::k_csum) != 0;
    c.rx_checksum_offload = (m_config.features & net_feature::k_guest_csum) != 0;
    if (m_tso_pool != nullptr) c.max_tso_segment = k_tso_packet;
    return c;
}

void NetDevice::refill() {
    bool added = false;
    while (m_rx.free_descriptors() > 0) {
        netif::PacketBuffer* buffer = m_rx_pool->allocate();
        if (buffer == nullptr) {
            ++m_driver_stats.rx_refill_failures;
            break;
        }
        buffer->reset(0);
        Segment writable{buffer->device_address(), static_cast<std::uint32_t>(buffer->capacity())};
        if (!m_rx.add_buffer({}, std::span(&writable, 1), to_token(buffer))) {
            netif::release_buffer(buffer);
            break;
        }
        added = true;
    }
    if (added && m_rx.kick_needed()) {
        ++m_driver_stats.notifications;
        m_notify(k_rx_queue);
    }
}

netif::PacketBuffer* NetDevice::receive() {
    for (;;) {
        auto used = m_rx.get_used();
        if (!used) {
            ++m_stats.rx_errors;  // the device broke the queue; nothing more comes from it
            return nullptr;
        }
        if (!used.value()) {
            // Nothing waiting: ask for an interrupt, and look again if one slipped in.
            if (m_rx.enable_interrupts()) continue;
            refill();
            return nullptr;
        }
        netif::PacketBuffer* buffer = from_token(used.value()->token);
        std::size_t length = used.value()->length;
        NetHeader header{};
        if (length < m_config.header_length + 14 || !buffer->resize(length)) {
            ++m_driver_stats.rx_bad_length;
            ++m_stats.rx_dropped;
            netif::release_buffer(buffer);
            continue;
        }
        std::memcpy(&header, buffer->data(), m_config.header_length);
        if (m_config.header_length == sizeof(NetHeader) && header.buffer_count > 1) {
            // §5.1.6.4.2: a packet larger than a buffer (a coalesced one, with GUEST_TSO4)
            // continues in the next num_buffers - 1 used buffers.
            buffer = assemble(buffer, header.buffer_count);
            if (buffer == nullptr) {
                ++m_driver_stats.rx_multi_buffer;
                ++m_stats.rx_dropped;
                continue;
            }
            ++m_driver_stats.rx_large_packets;
        } else {
            (void)buffer->pull_front(m_config.header_length);
        }
        // §5.1.6.4: DATA_VALID means the device checked it; NEEDS_CSUM means the packet came
        // from a local sender with only a partial checksum and its data can be trusted.
        buffer->metadata.checksum_verified =
            (header.flags & (net_header::k_data_valid | net_header::k_needs_checksum)) != 0;
        ++m_stats.rx_packets;
        m_stats.rx_bytes += buffer->size();
        if (m_rx.free_descriptors() > m_rx.size() / 2) refill();
        return buffer;
    }
}

netif::PacketBuffer* NetDevice::assemble(netif::PacketBuffer* first, std::uint16_t count) {
    netif::PacketBuffer* whole = m_large_rx_pool != nullptr ? m_large_rx_pool->allocate() : nullptr;
    bool ok = whole != nullptr;
    if (ok) whole->reset(0);
    std::size_t total = 0;
    auto take = [&](netif::PacketBuffer* piece, std::size_t skip) {
        std::size_t n = piece->size() - skip;
        if (ok && whole->resize(total + n)) {
            std::memcpy(whole->data() + total, piece->data() + skip, n);
            total += n;
        } else {
            ok = false;
        }
        netif::release_buffer(piece);
    };
    take(first, m_config.header_length);
    for (std::uint16_t i = 1; i < count; ++i) {
        // The device publishes a packet's buffers together; one missing is a broken device.
        auto used = m_rx.get_used();
        if (!used || !used.value()) {
            ++m_stats.rx_errors;
            ok = false;
            break;
        }
        netif::PacketBuffer* piece = from_token(used.value()->token);
        if (!piece->resize(used.value()->length)) {
            netif::release_buffer(piece);
            ok = false;
            continue;
        }
        take(piece, 0);
    }
    if (!ok) {
        netif::release_buffer(whole);
        return nullptr;
    }
    return whole;
}

void NetDevice::reap_transmitted() {
    for (;;) {
        auto used = m_tx.get_used();
        if (!used || !used.value()) return;
        netif::release_buffer(from_token(used.value()->token));
    }
}

bool NetDevice::transmit(netif::PacketBuffer* frame) {
    if (!frame->push_front(m_config.header_length)) {
        ++m_stats.tx_errors;
        netif::release_buffer(frame);
        return false;
    }
    NetHeader header{};
    const netif::PacketMetadata& meta = frame->metadata;
    if (meta.needs_checksum && (m_config.features & net_feature::k_csum) != 0) {
        header.flags = net_header::k_needs_checksum;
        header.checksum_start = meta.checksum_start;
        header.checksum_offset = meta.checksum_offset;
    }
    if (meta.segment_size != 0) {
        // §5.1.6.2: a TSO send says the segment size and how long the headers are (the
        // TCP header's data offset, past checksum_start); it needs NEEDS_CSUM.
        std::size_t tcp = m_config.header_length + meta.checksum_start;
        if (m_tso_pool == nullptr || header.flags != net_header::k_needs_checksum || tcp + 13 > frame->size()) {
            ++m_stats.tx_errors;
            netif::release_buffer(frame);
            return false;
        }
        header.gso_type = net_header::k_gso_tcpv4;
        header.gso_size = meta.segment_size;
        header.header_length = static_cast<std::uint16_t>(
            meta.checksum_start + (std::to_integer<unsigned>(frame->data()[tcp + 12]) >> 4) * 4);
        ++m_driver_stats.tx_tso_frames;
    }
    std::memcpy(frame->data(), &header, m_config.header_length);
    std::size_t bytes = frame->size() - m_config.header_length;
    Segment readable{frame->device_address(), static_cast<std::uint32_t>(frame->size())};
    if (m_tx.free_descriptors() == 0) reap_transmitted();
    if (!m_tx.add_buffer(std::span(&readable, 1), {}, to_token(frame))) {
        ++m_driver_stats.tx_queue_full;
        ++m_stats.tx_dropped;
        netif::release_buffer(frame);
        return false;
    }
    ++m_stats.tx_packets;
    m_stats.tx_bytes += bytes;
    m_tx_pending = true;
    return true;
}

void NetDevice::flush() {
    if (!m_tx_pending) return;
    m_tx_pending = false;
    if (m_tx.kick_needed()) {
        ++m_driver_stats.notifications;
        m_notify(k_tx_queue);
    }
}

netif::PacketBuffer* NetDevice::allocate_from(netif::BufferPool* pool) {
    if (pool == nullptr) return nullptr;
    netif::PacketBuffer* buffer = pool->allocate();
    if (buffer == nullptr) {
        // Perhaps the device is done with some: take them back and look again.
        reap_transmitted();
        buffer = pool->allocate();
    }
    return buffer;
}

netif::PacketBuffer* NetDevice::allocate_tso_buffer() { return allocate_from(m_tso_pool); }
netif::PacketBuffer* NetDevice::allocate_tx_buffer() { return allocate_from(m_tx_pool); }

}  // namespace virtio
