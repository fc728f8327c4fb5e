#pragma once
// The virtio-balloon driver in the unikernel (driver.cpp): it replaces the probe-only
// driver, brings the device up with the features below, and keeps one Balloon. The work
// runs in the event loop: runtime::run starts the task that follows the target
// (runtime/balloon_service.cpp); a program without the runtime calls poll() itself.
//
// Command line:
//   balloon_floor_mib=N   never inflate below N MiB of free memory (default 16)
//   balloon_report_s=N    free page reporting at most every N seconds (default 10)

#include "balloon/balloon.hpp"

namespace balloon {

// The balloon of the machine's (first) virtio-balloon device, or nullptr.
Balloon* instance();

}  // namespace balloon
