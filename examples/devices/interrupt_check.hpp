#pragma once
// Proves that a virtio device's queues and interrupts work end to end: one buffer through
// the device and back, with the interrupt that says so.
//
//   virtio-net      an ARP request for the user-mode network's gateway (10.0.2.2) goes out
//                   through the network device the driver registered; the reply must come
//                   back, with a receive interrupt
//   virtio-balloon  one page is inflated, then deflated again: through the balloon
//                   driver (balloon/) above the device's target, or on the probe-only
//                   driver's queues when that is the one bound

#include "virtio/virtio.hpp"

namespace devices {

// Prints what happened; false if the device did not answer or no interrupt came.
bool check_interrupts(const virtio::DeviceInfo& info);

}  // namespace devices
