#include "hosted/tap_device.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "kernel/console.hpp"

namespace hosted {
namespace {

constexpr std::size_t k_ethernet_header = 14;
constexpr std::uint32_t k_watch_events = EPOLLIN | EPOLLONESHOT;

}  // namespace

const char* to_string(TapDevice::Error error) {
    switch (error) {
        case TapDevice::Error::NameTooLong: return "the interface name is too long";
        case TapDevice::Error::NoSuchInterface:
            return "no such interface (make it first: ip tuntap add dev NAME mode tap)";
        case TapDevice::Error::OpenFailed: return "cannot open /dev/net/tun";
        case TapDevice::Error::AttachFailed: return "cannot attach to the TAP interface (TUNSETIFF)";
        case TapDevice::Error::NoMemory: return "out of memory for its buffers";
        case TapDevice::Error::PollerFull: return "cannot watch its descriptor with epoll";
    }
    return "unknown TAP error";
}

kernel::Result<TapDevice*, TapDevice::Failure> TapDevice::open(std::string_view name, const TapConfig& config,
                                                               Poller& poller) {
    ifreq request{};
    if (name.empty() || name.size() >= sizeof request.ifr_name) return kernel::err(Failure{Error::NameTooLong, 0});
    std::array<char, IFNAMSIZ> name_z{};
    std::memcpy(name_z.data(), name.data(), name.size());
    if (if_nametoindex(name_z.data()) == 0) return kernel::err(Failure{Error::NoSuchInterface, 0});
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return kernel::err(Failure{Error::OpenFailed, errno});
    // Documentation/networking/tuntap.rst §3.2: IFF_TAP for Ethernet frames, IFF_NO_PI for
    // no packet-information prefix, so a read is exactly one frame.
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(request.ifr_name, name_z.data(), name_z.size());
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): ioctl is the interface
    if (ioctl(fd, TUNSETIFF, &request) != 0) {
        int error = errno;
        close(fd);
        return kernel::err(Failure{Error::AttachFailed, error});
    }
    return adopt(fd, config, poller);
}

kernel::Result<TapDevice*, TapDevice::Failure> TapDevice::adopt(int fd, const TapConfig& config, Poller& poller) {
    auto* device = new (std::nothrow) TapDevice(fd, config.mac, poller);
    if (device == nullptr) {
        close(fd);
        return kernel::err(Failure{Error::NoMemory, ENOMEM});
    }
    std::size_t rx_bytes = config.rx_buffers * k_buffer_size;
    std::size_t tx_bytes = config.tx_buffers * k_buffer_size;
    device->m_rx_memory.reset(new (std::nothrow) std::byte[rx_bytes]);
    device->m_tx_memory.reset(new (std::nothrow) std::byte[tx_bytes]);
    if (!device->m_rx_memory || !device->m_tx_memory) {
        delete device;
        return kernel::err(Failure{Error::NoMemory, ENOMEM});
    }
    // Ordinary memory: nothing but this process touches it, so its "device address" is
    // its own address.
    auto rx_pool =
        netif::BufferPool::create({device->m_rx_memory.get(), rx_bytes},
                                  reinterpret_cast<std::uint64_t>(device->m_rx_memory.get()), k_buffer_size, 0);
    auto tx_pool = netif::BufferPool::create({device->m_tx_memory.get(), tx_bytes},
                                             reinterpret_cast<std::uint64_t>(device->m_tx_memory.get()), k_buffer_size,
                                             k_tx_headroom);
    if (rx_pool) device->m_rx_pool = rx_pool.value();
    if (tx_pool) device->m_tx_pool = tx_pool.value();
    if (!rx_pool || !tx_pool) {
        delete device;
        return kernel::err(Failure{Error::NoMemory, ENOMEM});
    }
    if (auto added = poller.add(fd, k_watch_events, &readable, device); !added) {
        delete device;
        return kernel::err(Failure{Error::PollerFull, added.error()});
    }
    return device;
}

TapDevice::~TapDevice() {
    m_poller.remove(m_fd);
    close(m_fd);
    delete m_rx_pool;
    delete m_tx_pool;
}

void TapDevice::set_receive_hook(void (*hook)(void*), void* context) {
    m_receive_hook = hook;
    m_receive_context = context;
    // Frames that came before anyone listened: tell the new listener at once.
    if (m_ready && hook != nullptr) {
        m_ready = false;
        hook(context);
    }
}

void TapDevice::readable(void* context, std::uint32_t /*events*/) {
    // Errors and hang-ups show up in receive()'s read, which says which.
    auto* self = static_cast<TapDevice*>(context);
    if (self->m_receive_hook != nullptr)
        self->m_receive_hook(self->m_receive_context);
    else
        self->m_ready = true;
}

void TapDevice::rearm() {
    // epoll_ctl(EPOLL_CTL_MOD) looks at the descriptor's readiness anew, so a frame that
    // came after our last read still produces an event.
    if (auto modified = m_poller.modify(m_fd, k_watch_events); !modified) {
        fail("re-arming the epoll watch", modified.error());
        return;
    }
    ++m_tap_stats.rearms;
}

void TapDevice::fail(const char* what, int errno_value) {
    kernel::println("tap: {} failed: {}; the device stops", what, std::strerror(errno_value));
    ++m_stats.rx_errors;
    m_broken = true;
    m_poller.remove(m_fd);
}

netif::PacketBuffer* TapDevice::receive() {
    while (!m_broken) {
        netif::PacketBuffer* buffer = m_rx_pool->allocate();
        std::byte* destination = m_scratch.data();
        std::size_t capacity = m_scratch.size();
        if (buffer != nullptr) {
            buffer->reset(0);
            destination = buffer->data();
            capacity = buffer->capacity();
        }
        ssize_t n = ::read(m_fd, destination, capacity);
        if (n <= 0) {
            int error = n == 0 ? EPIPE : errno;  // 0: the other end is gone (not a TAP)
            netif::release_buffer(buffer);
            if (error == EINTR) continue;
            if (error == EAGAIN || error == EWOULDBLOCK) {
                rearm();
                return nullptr;
            }
            fail("read", error);
            return nullptr;
        }
        auto length = static_cast<std::size_t>(n);
        if (buffer == nullptr) {
            ++m_tap_stats.rx_no_buffer;
            ++m_stats.rx_dropped;
            continue;
        }
        if (length >= capacity || length < k_ethernet_header) {
            // A frame that fills the buffer may have been cut short: it cannot be trusted.
            ++(length < k_ethernet_header ? m_tap_stats.rx_runts : m_tap_stats.rx_truncated);
            ++m_stats.rx_dropped;
            netif::release_buffer(buffer);
            continue;
        }
        (void)buffer->resize(length);  // fits: length < capacity
        ++m_stats.rx_packets;
        m_stats.rx_bytes += length;
        return buffer;
    }
    return nullptr;
}

bool TapDevice::transmit(netif::PacketBuffer* frame) {
    netif::BufferOwner owner(frame);
    if (m_broken) {
        ++m_stats.tx_dropped;
        return false;
    }
    ssize_t n = 0;
    do {
        n = ::write(m_fd, frame->data(), frame->size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        // EAGAIN: Linux's queue for the TAP is full; EIO: the interface is down. Both pass,
        // and TCP retransmits what was lost.
        if (errno == EAGAIN || errno == EWOULDBLOCK) ++m_tap_stats.tx_would_block;
        ++m_stats.tx_dropped;
        return false;
    }
    if (static_cast<std::size_t>(n) != frame->size()) {
        ++m_stats.tx_errors;
        return false;
    }
    ++m_stats.tx_packets;
    m_stats.tx_bytes += frame->size();
    return true;
}

}  // namespace hosted
