#pragma once
// The one hardware timer the event loop arms for its earliest deadline. A driver (the
// local APIC) installs itself; the runtime arms it. Its interrupt only wakes the CPU:
// the event loop, not the handler, runs what is due.

#include <cstdint>

namespace kernel::timer {

class Device {
public:
    // Fires once at (or just after) deadline_ns on kernel::clock; replaces any earlier arming.
    virtual void arm_at(std::uint64_t deadline_ns) = 0;
    virtual void disarm() = 0;
    [[nodiscard]] virtual const char* name() const = 0;

protected:
    Device() = default;
    Device(const Device&) = default;
    Device& operator=(const Device&) = default;
    ~Device() = default;
};

void install(Device& device);
// nullptr until a driver installed one.
Device* device();

}  // namespace kernel::timer
