#pragma once
// What the stack needs from a network device. The virtio-net driver implements it in the
// unikernel, a TAP device on the hosted target, a simulated link in tests. This layer
// sits below both the drivers and net/, so the stack knows nothing of virtio and the
// drivers nothing of the stack.

#include <cstddef>
#include <cstdint>
#include <span>

#include "netif/mac_address.hpp"
#include "netif/packet_buffer.hpp"

namespace netif {

struct DeviceCapabilities {
    std::size_t mtu = 1500;            // IP packet size, without the Ethernet header
    bool tx_checksum_offload = false;  // the device can fill in TCP/UDP checksums
    bool rx_checksum_offload = false;  // the device verifies them (metadata says so)
    // TCP segmentation offload: the largest IPv4 packet (headers included) the device
    // takes in one frame with metadata.segment_size set, cutting it into segments of that
    // many payload bytes; 0 = no TSO. Needs tx_checksum_offload.
    std::size_t max_tso_segment = 0;
};

struct DeviceStats {
    std::uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0, rx_errors = 0;
    std::uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0, tx_errors = 0;
};

class NetworkDevice {
public:
    [[nodiscard]] virtual MacAddress mac() const = 0;
    [[nodiscard]] virtual DeviceCapabilities capabilities() const = 0;
    [[nodiscard]] virtual bool link_up() const = 0;

    // A received frame, or nullptr when none is waiting. The caller owns the buffer.
    virtual PacketBuffer* receive() = 0;
    // Queues a frame for sending and takes ownership of it (also on failure: a full queue
    // drops and counts it). Sends may be batched until flush().
    virtual bool transmit(PacketBuffer* frame) = 0;
    // Hands queued frames to the hardware (one notification for the batch).
    virtual void flush() = 0;
    // A buffer for a frame to send, with head-room for every header; nullptr when the
    // pool is empty.
    virtual PacketBuffer* allocate_tx_buffer() = 0;
    // A buffer for a TSO send (room for max_tso_segment bytes and the head-room), nullptr
    // when none is free or the device has no TSO. Callers fall back to allocate_tx_buffer().
    virtual PacketBuffer* allocate_tso_buffer() { return nullptr; }
    [[nodiscard]] virtual const DeviceStats& stats() const = 0;
    // Called from the device's interrupt handler when frames arrive: the stack hands in
    // something that only records work (a runtime::Signal's notify).
    virtual void set_receive_hook(void (*hook)(void* context), void* context) = 0;

protected:
    NetworkDevice() = default;
    NetworkDevice(const NetworkDevice&) = default;
    NetworkDevice& operator=(const NetworkDevice&) = default;
    ~NetworkDevice() = default;
};

// Devices found at boot, for applications to find: drivers register what they bring up.
void register_device(NetworkDevice& device, const char* name);
struct RegisteredDevice {
    NetworkDevice* device;
    const char* name;
};
std::span<const RegisteredDevice> registered_devices();

}  // namespace netif
