#pragma once
// A netif::NetworkDevice over a Linux TAP device: Ethernet frames are read from and written
// to a file descriptor opened on /dev/net/tun with IFF_TAP | IFF_NO_PI (Documentation/
// networking/tuntap.rst), so one read is one frame and one write sends one.
//
// The descriptor is non-blocking and watched by the Poller with EPOLLONESHOT: readiness
// calls the receive hook once, and receive() re-arms the watch only when a read finds the
// queue empty. This is the virtio-net driver's "interrupts off until the queue is
// drained" in epoll terms: no busy wake-ups while frames wait for the stack, and none
// lost. Buffers come from net::BufferPools over ordinary memory. When the receive pool is
// empty, frames are read into a scratch buffer and dropped (counted in rx_dropped), as a
// NIC without free descriptors drops, so the queue never stalls.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "hosted/poller.hpp"
#include "kernel/result.hpp"
#include "netif/device.hpp"
#include "netif/packet_buffer.hpp"

namespace hosted {

struct TapStats {
    std::uint64_t rx_truncated = 0;  // a frame as large as the buffer: maybe cut, dropped
    std::uint64_t rx_runts = 0;      // shorter than an Ethernet header
    std::uint64_t rx_no_buffer = 0;  // the receive pool was empty
    std::uint64_t tx_would_block = 0;
    std::uint64_t rearms = 0;  // the watch re-armed after a drained queue
};

struct TapConfig {
    netif::MacAddress mac;  // ours, not the Linux side's
    std::size_t rx_buffers = 256;
    std::size_t tx_buffers = 256;
};

class TapDevice final : public netif::NetworkDevice {
public:
    static constexpr std::size_t k_buffer_size = 2048;
    static constexpr std::size_t k_tx_headroom = 128;

    enum class Error { NameTooLong, NoSuchInterface, OpenFailed, AttachFailed, NoMemory, PollerFull };
    struct Failure {
        Error error;
        int errno_value;  // 0 when not from a system call
    };

    // Attaches to the existing TAP interface `name` (made by `ip tuntap add dev NAME mode
    // tap`; attaching needs CAP_NET_ADMIN or the owner's user). It is not created here: a
    // TAP interface that lives only as long as the program would have no address on the
    // Linux side.
    static kernel::Result<TapDevice*, Failure> open(std::string_view name, const TapConfig& config, Poller& poller);
    // Takes over fd, any non-blocking descriptor with one frame per read and write (a
    // SOCK_SEQPACKET socket in the tests).
    static kernel::Result<TapDevice*, Failure> adopt(int fd, const TapConfig& config, Poller& poller);
    TapDevice(const TapDevice&) = delete;
    TapDevice& operator=(const TapDevice&) = delete;
    ~TapDevice();

    // netif::NetworkDevice
    netif::MacAddress mac() const override { return m_mac; }
    netif::DeviceCapabilities capabilities() const override { return {}; }  // 1500, no offloads
    bool link_up() const override { return !m_broken; }
    netif::PacketBuffer* receive() override;
    // Writes the frame at once: a TAP write hands it to Linux's receive path.
    bool transmit(netif::PacketBuffer* frame) override;
    void flush() override {}  // nothing is batched
    netif::PacketBuffer* allocate_tx_buffer() override { return m_tx_pool->allocate(); }
    const netif::DeviceStats& stats() const override { return m_stats; }
    void set_receive_hook(void (*hook)(void* context), void* context) override;

    [[nodiscard]] const TapStats& tap_stats() const { return m_tap_stats; }
    [[nodiscard]] const netif::PoolStats& rx_pool_stats() const { return m_rx_pool->stats(); }
    [[nodiscard]] int fd() const { return m_fd; }

private:
    TapDevice(int fd, netif::MacAddress mac, Poller& poller) : m_fd(fd), m_mac(mac), m_poller(poller) {}
    static void readable(void* context, std::uint32_t events);
    void rearm();
    void fail(const char* what, int errno_value);

    int m_fd;
    netif::MacAddress m_mac;
    Poller& m_poller;
    std::unique_ptr<std::byte[]> m_rx_memory;
    std::unique_ptr<std::byte[]> m_tx_memory;
    netif::BufferPool* m_rx_pool = nullptr;
    netif::BufferPool* m_tx_pool = nullptr;
    void (*m_receive_hook)(void*) = nullptr;
    void* m_receive_context = nullptr;
    bool m_ready = false;   // readiness seen that no hook has been told of yet
    bool m_broken = false;  // a read or write failed for good; the watch is gone
    std::array<std::byte, k_buffer_size> m_scratch{};
    netif::DeviceStats m_stats;
    TapStats m_tap_stats;
};

const char* to_string(TapDevice::Error error);

}  // namespace hosted
