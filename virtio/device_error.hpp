#pragma once
// Why a virtio device could not be brought up: its transport, its features, its queues or
// its interrupts. The message of each says which.

namespace virtio {

enum class DeviceError {
    // Transport (virtio 1.2 §4.1.4)
    NoTransport,    // neither the modern capabilities nor a legacy I/O BAR
    BadCapability,  // a virtio capability points outside its BAR, or is too short
    BarUnmapped,    // a BAR a capability names has no address or cannot be mapped
    // Initialization (§3.1.1)
    ResetTimeout,         // the device status never read back 0 after a reset
    NoVersion1,           // a modern device that does not offer VIRTIO_F_VERSION_1
    MissingFeatures,      // the device lacks a feature the driver requires
    FeaturesNotAccepted,  // FEATURES_OK did not stick: the device refused the feature set
    DeviceNeedsReset,     // the device set DEVICE_NEEDS_RESET
    // Queues (§4.1.5.1.3)
    TooManyQueues,     // an index past Device::k_max_queues
    NoSuchQueue,       // the device has no queue at that index (size 0)
    QueueSize,         // the device's queue size cannot be used (legacy: not a power of two)
    QueueMemory,       // the virtqueue could not be created (DMA or heap memory)
    QueueOutOfReach,   // ring memory the transport cannot name (legacy: above 16 TiB)
    NotifyOutOfRange,  // the queue's notification address lies outside the notify region
    // Interrupts (§4.1.5.1.2)
    VectorRefused,  // the device read back NO_VECTOR for an MSI-X entry
    NoInterrupts,   // neither MSI-X nor an INTx line could be set up
};

const char* to_string(DeviceError error);

}  // namespace virtio
