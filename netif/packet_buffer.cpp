#include "netif/packet_buffer.hpp"

#include <new>

namespace netif {

bool PacketBuffer::push_front(std::size_t n) {
    if (n > m_head) return false;
    m_head -= n;
    m_size += n;
    return true;
}

bool PacketBuffer::pull_front(std::size_t n) {
    if (n > m_size) return false;
    m_head += n;
    m_size -= n;
    return true;
}

bool PacketBuffer::resize(std::size_t n) {
    if (n > m_capacity - m_head) return false;
    m_size = n;
    return true;
}

void PacketBuffer::reset(std::size_t headroom) {
    m_head = headroom < m_capacity ? headroom : m_capacity;
    m_size = 0;
    metadata = {};
    next = nullptr;
}

kernel::Result<BufferPool*, BufferPool::Error> BufferPool::create(std::span<std::byte> memory,
                                                                  std::uint64_t device_address, std::size_t buffer_size,
                                                                  std::size_t headroom) {
    if (buffer_size == 0 || headroom >= buffer_size || memory.size() < buffer_size) return kernel::err(Error::BadSize);
    std::size_t count = memory.size() / buffer_size;
    auto* pool = new (std::nothrow) BufferPool();
    if (pool == nullptr) return kernel::err(Error::NoMemory);
    pool->m_buffers = new (std::nothrow) PacketBuffer[count];
    if (pool->m_buffers == nullptr) {
        delete pool;
        return kernel::err(Error::NoMemory);
    }
    pool->m_buffer_size = buffer_size;
    pool->m_headroom = headroom;
    for (std::size_t i = count; i-- > 0;) {
        PacketBuffer& b = pool->m_buffers[i];
        b.m_storage = memory.data() + i * buffer_size;
        b.m_device_address = device_address + i * buffer_size;
        b.m_capacity = buffer_size;
        b.m_pool = pool;
        b.next = pool->m_free;
        pool->m_free = &b;
    }
    pool->m_stats = {count, count, count, 0};
    return pool;
}

BufferPool::~BufferPool() { delete[] m_buffers; }

PacketBuffer* BufferPool::allocate() {
    PacketBuffer* b = m_free;
    if (b == nullptr) {
        ++m_stats.exhausted;
        return nullptr;
    }
    m_free = b->next;
    --m_stats.free;
    if (m_stats.free < m_stats.lowest_free) m_stats.lowest_free = m_stats.free;
    b->reset(m_headroom);
    return b;
}

void BufferPool::release(PacketBuffer* buffer) {
    buffer->next = m_free;
    m_free = buffer;
    ++m_stats.free;
}

void release_buffer(PacketBuffer* buffer) {
    if (buffer != nullptr) buffer->m_pool->release(buffer);
}

BufferOwner& BufferOwner::operator=(BufferOwner&& other) noexcept {
    if (this != &other) {
        release_buffer(m_buffer);
        m_buffer = other.release();
    }
    return *this;
}

BufferOwner::~BufferOwner() { release_buffer(m_buffer); }

}  // namespace netif
