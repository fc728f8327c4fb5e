#pragma once
// The transports' registers as typed constants: the modern common configuration structure
// (virtio 1.2 §4.1.4.3) and the legacy I/O BAR layout (§4.1.4.8). The width of a register
// is its type.

#include <cstdint>
#include <type_traits>

#include "pci/io_window.hpp"

namespace virtio {

template <typename T>
struct Register {
    static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t> ||
                  std::is_same_v<T, std::uint32_t>);
    std::uint16_t offset;
};

template <typename T>
[[nodiscard]] T read(pci::IoWindow& window, Register<T> reg) {
    return window.read<T>(reg.offset);
}
template <typename T>
void write(pci::IoWindow& window, Register<T> reg, T value) {
    window.write<T>(reg.offset, value);
}
// §4.1.4.3: struct virtio_pci_common_cfg. The 64-bit queue addresses are written as two
// 32-bit halves, which §4.1.3.1 allows.
namespace common {
constexpr Register<std::uint32_t> k_device_feature_select{0x00};
constexpr Register<std::uint32_t> k_device_feature{0x04};
constexpr Register<std::uint32_t> k_driver_feature_select{0x08};
constexpr Register<std::uint32_t> k_driver_feature{0x0C};
constexpr Register<std::uint16_t> k_config_msix_vector{0x10};
constexpr Register<std::uint16_t> k_num_queues{0x12};
constexpr Register<std::uint8_t> k_device_status{0x14};
constexpr Register<std::uint8_t> k_config_generation{0x15};
constexpr Register<std::uint16_t> k_queue_select{0x16};
constexpr Register<std::uint16_t> k_queue_size{0x18};
constexpr Register<std::uint16_t> k_queue_msix_vector{0x1A};
constexpr Register<std::uint16_t> k_queue_enable{0x1C};
constexpr Register<std::uint16_t> k_queue_notify_off{0x1E};
constexpr Register<std::uint32_t> k_queue_desc_low{0x20};
constexpr Register<std::uint32_t> k_queue_desc_high{0x24};
constexpr Register<std::uint32_t> k_queue_driver_low{0x28};
constexpr Register<std::uint32_t> k_queue_driver_high{0x2C};
constexpr Register<std::uint32_t> k_queue_device_low{0x30};
constexpr Register<std::uint32_t> k_queue_device_high{0x34};
// The structure up to queue_device: what every virtio 1.x device has. (1.2 adds
// queue_notify_data and queue_reset after it, which we do not use.)
constexpr std::uint32_t k_minimum_length = 0x38;
}  // namespace common

// §4.1.4.8: the legacy interface, all in BAR 0 (I/O space).
namespace legacy {
constexpr Register<std::uint32_t> k_device_features{0x00};
constexpr Register<std::uint32_t> k_driver_features{0x04};
constexpr Register<std::uint32_t> k_queue_address{0x08};  // the ring's page number
constexpr Register<std::uint16_t> k_queue_size{0x0C};
constexpr Register<std::uint16_t> k_queue_select{0x0E};
constexpr Register<std::uint16_t> k_queue_notify{0x10};
constexpr Register<std::uint8_t> k_device_status{0x12};
constexpr Register<std::uint8_t> k_isr_status{0x13};
// Only while MSI-X is enabled:
constexpr Register<std::uint16_t> k_config_msix_vector{0x14};
constexpr Register<std::uint16_t> k_queue_msix_vector{0x16};
// The device-specific configuration follows the registers in use.
constexpr std::uint16_t k_config_without_msix = 0x14;
constexpr std::uint16_t k_config_with_msix = 0x18;
constexpr unsigned k_queue_address_shift = 12;  // §2.7.2: 4096-byte pages
}  // namespace legacy

}  // namespace virtio
