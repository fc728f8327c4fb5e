// Probe-only drivers for virtio-net and virtio-balloon: they negotiate features, set up the
// queues and bring the device to DRIVER_OK, and that is all. Registered at
// k_probe_only_priority, so the real drivers (net_driver.cpp, and balloon/ to come)
// replace them just by being linked in. Kernel only.

#include <array>

#include "kernel/console.hpp"
#include "virtio/features.hpp"
#include "virtio/registry.hpp"

namespace virtio {
namespace {

using kernel::println;

constexpr std::uint16_t k_queue_size = 256;

// virtio 1.2 §5.1.3: network device feature bits, and §5.1.4 its configuration.
constexpr std::uint64_t k_net_mac = feature(5);
constexpr std::uint64_t k_net_status = feature(16);
constexpr std::uint16_t k_net_config_mac = 0;
constexpr std::uint16_t k_net_config_status = 6;
constexpr std::uint16_t k_net_link_up = 1;
constexpr std::uint16_t k_net_receive_queue = 0;
constexpr std::uint16_t k_net_transmit_queue = 1;

// §5.5.6: balloon configuration, in 4 KiB pages; §5.5.2: inflateq and deflateq.
constexpr std::uint16_t k_balloon_config_num_pages = 0;
constexpr std::uint16_t k_balloon_config_actual = 4;
constexpr std::uint16_t k_balloon_inflate_queue = 0;
constexpr std::uint16_t k_balloon_deflate_queue = 1;

kernel::Result<void, DeviceError> probe_net(Device& device) {
    std::uint64_t features =
        TRY(device.negotiate({.required = 0, .optional = k_net_mac | k_net_status | features::k_event_idx}));
    Virtqueue* receive = TRY(device.setup_queue(k_net_receive_queue, kernel_dma(), k_queue_size));
    TRY(device.setup_queue(k_net_transmit_queue, kernel_dma(), k_queue_size));
    TRY(device.driver_ok());
    std::array<std::uint8_t, 6> mac{};
    if (device.has_feature(k_net_mac)) device.read_config_bytes(k_net_config_mac, mac);
    const char* link = "up";
    if (device.has_feature(k_net_status))
        link = (device.read_config<std::uint16_t>(k_net_config_status) & k_net_link_up) != 0 ? "up" : "down";
    println(
        "{} {}: {}, features {:#x}, {}; 2 queues of {}, {} interrupts, mac "
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}",
        device.name(), device.location(), to_string(device.transport().kind()), features,
        describe_status(device.status()), receive->size(), device.interrupt_mode(), mac[0], mac[1], mac[2], mac[3],
        mac[4], mac[5], link);
    return {};
}

kernel::Result<void, DeviceError> probe_balloon(Device& device) {
    std::uint64_t features = TRY(device.negotiate({.required = 0, .optional = features::k_event_idx}));
    Virtqueue* inflate = TRY(device.setup_queue(k_balloon_inflate_queue, kernel_dma(), k_queue_size));
    TRY(device.setup_queue(k_balloon_deflate_queue, kernel_dma(), k_queue_size));
    TRY(device.driver_ok());
    println("{} {}: {}, features {:#x}, {}; 2 queues of {}, {} interrupts, target {} pages, actual {}", device.name(),
            device.location(), to_string(device.transport().kind()), features, describe_status(device.status()),
            inflate->size(), device.interrupt_mode(), device.read_config<std::uint32_t>(k_balloon_config_num_pages),
            device.read_config<std::uint32_t>(k_balloon_config_actual));
    return {};
}

VIRTIO_DRIVER(net_probe, "virtio-net", device_id::k_net, k_probe_only_priority, probe_net);
VIRTIO_DRIVER(balloon_probe, "virtio-balloon", device_id::k_balloon, k_probe_only_priority, probe_balloon);

}  // namespace
}  // namespace virtio
