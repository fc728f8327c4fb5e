#include <array>

#include "netif/device.hpp"

namespace netif {
namespace {

constexpr std::size_t k_max_devices = 4;
std::array<RegisteredDevice, k_max_devices> g_devices{};
std::size_t g_device_count = 0;

}  // namespace

void register_device(NetworkDevice& device, const char* name) {
    if (g_device_count < g_devices.size()) g_devices[g_device_count++] = {&device, name};
}

std::span<const RegisteredDevice> registered_devices() { return {g_devices.data(), g_device_count}; }

}  // namespace netif
