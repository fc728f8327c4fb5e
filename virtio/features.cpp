#include "virtio/features.hpp"

namespace virtio {

const char* device_name(std::uint16_t id) {
    switch (id) {
        case device_id::k_net: return "net";
        case device_id::k_block: return "block";
        case device_id::k_console: return "console";
        case device_id::k_entropy: return "entropy";
        case device_id::k_balloon: return "balloon";
        case device_id::k_scsi: return "scsi";
        case device_id::k_9p: return "9p";
        case device_id::k_gpu: return "gpu";
        case device_id::k_input: return "input";
        case device_id::k_vsock: return "vsock";
        default: return "unknown";
    }
}

const char* describe_status(std::uint8_t value) {
    if ((value & status::k_failed) != 0) return "FAILED";
    if ((value & status::k_device_needs_reset) != 0) return "DEVICE_NEEDS_RESET";
    if ((value & status::k_driver_ok) != 0) return "DRIVER_OK";
    if ((value & status::k_features_ok) != 0) return "FEATURES_OK";
    if ((value & status::k_driver) != 0) return "DRIVER";
    if ((value & status::k_acknowledge) != 0) return "ACKNOWLEDGE";
    return "reset";
}

}  // namespace virtio
