// The virtio-net driver (virtio 1.2 §5.1): negotiates the features the data path uses,
// sets up the receive and transmit queues, builds the NetDevice over them and offers it
// to the network stack. Registered at priority 10, so it replaces the probe-only driver.
// Kernel only.

#include <array>
#include <new>

#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/kernel.hpp"
#include "netif/device.hpp"
#include "virtio/features.hpp"
#include "virtio/net.hpp"
#include "virtio/net_header.hpp"
#include "virtio/registry.hpp"

namespace virtio {
namespace {

constexpr std::uint8_t k_full_driver = 10;
constexpr std::uint16_t k_queue_size = 256;
// §5.1.4: device configuration.
constexpr std::uint16_t k_config_mac = 0;
constexpr std::uint16_t k_config_status = 6;
constexpr std::uint16_t k_config_mtu = 10;
constexpr std::uint16_t k_status_link_up = 1;

// HOST_TSO4 lets TCP hand over up to 64 KiB at once (the device cuts it into segments);
// GUEST_TSO4 lets the device hand us segments it coalesced, over several buffers.
constexpr std::uint64_t k_wanted = net_feature::k_mac | net_feature::k_status | net_feature::k_mtu |
                                   net_feature::k_csum | net_feature::k_guest_csum | net_feature::k_host_tso4 |
                                   net_feature::k_guest_tso4 | net_feature::k_mrg_rxbuf | features::k_event_idx;

// §5.1.3.1: HOST_TSO4 needs CSUM, GUEST_TSO4 needs GUEST_CSUM; and our receive buffers are
// 2 KiB, so coalesced packets need MRG_RXBUF to arrive over several of them.
std::uint64_t drop_unmet(std::uint64_t f) {
    if ((f & net_feature::k_csum) == 0) f &= ~net_feature::k_host_tso4;
    if ((f & net_feature::k_guest_csum) == 0 || (f & net_feature::k_mrg_rxbuf) == 0) f &= ~net_feature::k_guest_tso4;
    return f;
}

// A locally administered address from the TSC when the device offers none.
netif::MacAddress invent_mac() {
    std::uint64_t t = kernel::cpu::rdtsc() * 0x9E3779B97F4A7C15ull;
    netif::MacAddress mac;
    for (std::size_t i = 0; i < mac.bytes.size(); ++i) mac.bytes[i] = static_cast<std::uint8_t>(t >> (8 * i));
    mac.bytes[0] = static_cast<std::uint8_t>((mac.bytes[0] & 0xFE) | 0x02);
    return mac;
}

kernel::Result<void, DeviceError> probe(Device& device) {
    std::uint64_t features = TRY(device.negotiate({.required = 0, .optional = k_wanted, .adjust = drop_unmet}));
    Virtqueue* rx = TRY(device.setup_queue(NetDevice::k_rx_queue, kernel_dma(), k_queue_size));
    Virtqueue* tx = TRY(device.setup_queue(NetDevice::k_tx_queue, kernel_dma(), k_queue_size));

    NetConfig config;
    config.features = features;
    bool modern = (features & features::k_version_1) != 0;
    // §5.1.6: the header has num_buffers with VERSION_1 or MRG_RXBUF; a legacy device
    // without MRG_RXBUF uses the 10-byte header.
    config.header_length =
        modern || (features & net_feature::k_mrg_rxbuf) != 0 ? sizeof(NetHeader) : net_header::k_legacy_length;
    if ((features & net_feature::k_mac) != 0)
        device.read_config_bytes(k_config_mac, config.mac.bytes);
    else
        config.mac = invent_mac();
    if ((features & net_feature::k_mtu) != 0) {
        auto mtu = device.read_config<std::uint16_t>(k_config_mtu);
        // Frames must fit a buffer with the virtio header and the Ethernet header.
        std::size_t largest = NetDevice::k_buffer_size - config.header_length - 14;
        config.mtu = static_cast<std::uint16_t>(mtu < 68 ? 1500 : (mtu > largest ? largest : mtu));
    }

    auto created = NetDevice::create(
        config, *rx, *tx, kernel_dma(),
        {[](void* d, std::uint16_t queue) { static_cast<Device*>(d)->transport().notify(queue); }, &device});
    if (!created) {
        kernel::println("{} {}: out of memory for its buffers", device.name(), device.location());
        return kernel::err(DeviceError::QueueMemory);
    }
    NetDevice* net_device = created.value();
    device.set_queue_handler(
        NetDevice::k_rx_queue, [](void* d) { static_cast<NetDevice*>(d)->interrupt(); }, net_device);
    TRY(device.driver_ok());
    if ((features & net_feature::k_status) != 0) {
        net_device->set_link_up((device.read_config<std::uint16_t>(k_config_status) & k_status_link_up) != 0);
    }
    net_device->refill();
    netif::register_device(*net_device, "virtio-net");
    // A short line by default: each console byte costs an exit under a hypervisor (about
    // 35 us here, docs/kvm-on-this-host.md); the transport and features with verbose.
    if (!kernel::verbose()) {
        kernel::println("{} {}: mac {}, link {}", device.name(), device.location(), config.mac,
                        net_device->link_up() ? "up" : "down");
        return {};
    }
    kernel::println("{} {}: {}, mac {}, mtu {}, features {:#x}{}{}{}{}{}, {} interrupts, link {}", device.name(),
                    device.location(), to_string(device.transport().kind()), config.mac, config.mtu, features,
                    (features & net_feature::k_csum) != 0 ? " tx-csum" : "",
                    (features & net_feature::k_guest_csum) != 0 ? " rx-csum" : "",
                    net_device->capabilities().max_tso_segment != 0 ? " tso" : "",
                    (features & net_feature::k_guest_tso4) != 0 ? " lro" : "",
                    (features & features::k_event_idx) != 0 ? " event-idx" : "", device.interrupt_mode(),
                    net_device->link_up() ? "up" : "down");
    return {};
}

VIRTIO_DRIVER(net, "virtio-net", device_id::k_net, k_full_driver, probe);

}  // namespace
}  // namespace virtio
