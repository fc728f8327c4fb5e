#include "virtio/device_error.hpp"

namespace virtio {

const char* to_string(DeviceError error) {
    switch (error) {
        case DeviceError::NoTransport: return "neither modern virtio capabilities nor a legacy I/O BAR";
        case DeviceError::BadCapability: return "a virtio capability is too short or points outside its BAR";
        case DeviceError::BarUnmapped: return "a BAR a virtio capability names has no address or cannot be mapped";
        case DeviceError::ResetTimeout: return "the device did not finish its reset";
        case DeviceError::NoVersion1: return "the device does not offer VIRTIO_F_VERSION_1";
        case DeviceError::MissingFeatures: return "the device lacks features the driver requires";
        case DeviceError::FeaturesNotAccepted:
            return "the device did not accept the features (FEATURES_OK did not stick)";
        case DeviceError::DeviceNeedsReset: return "the device needs a reset";
        case DeviceError::TooManyQueues: return "more queues than this driver keeps";
        case DeviceError::NoSuchQueue: return "the device has no such queue";
        case DeviceError::QueueSize: return "the device's queue size cannot be used";
        case DeviceError::QueueMemory: return "no memory for the virtqueue";
        case DeviceError::QueueOutOfReach: return "the ring lies where the transport cannot name it";
        case DeviceError::NotifyOutOfRange: return "the queue's notification address is outside the notify region";
        case DeviceError::VectorRefused: return "the device refused an MSI-X vector";
        case DeviceError::NoInterrupts: return "neither MSI-X nor an INTx line could be set up";
    }
    return "unknown virtio error";
}

}  // namespace virtio
