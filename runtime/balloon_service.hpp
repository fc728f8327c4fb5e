#pragma once
// The balloon's task in the event loop (kernel only). runtime::run starts it by itself
// when the machine has a virtio-balloon driven by balloon/: the device's interrupts
// notify a Signal, and the task calls Balloon::poll() then, and when the balloon asks
// to be looked at again (floor retries, free page reporting). Nothing for the
// application to do; a program that does not use runtime::run polls the balloon itself
// (balloon/driver.hpp).

namespace runtime {

// Spawns the task on the current loop, if there is a balloon. Returns whether it did.
bool start_balloon_service();

}  // namespace runtime
