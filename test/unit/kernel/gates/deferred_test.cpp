// The queue of deferred device stores (kernel/gates/deferred.hpp) against a fake device:
// a register file the runner reads and writes in the order it is handed the accesses, and
// a log of each run, as the device-list gate would see it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <vector>

#include "kernel/gates/deferred.hpp"

namespace {

using kernel::gates::DeviceAccess;

struct FakeDevice {
    std::map<std::uintptr_t, std::uint32_t> registers;
    std::vector<std::vector<DeviceAccess>> runs;  // each run, as handed over
    std::vector<std::uintptr_t> order;            // every access, in the order it reached the device
};
FakeDevice g_device;

void run_on_fake(std::span<DeviceAccess> accesses) {
    g_device.runs.emplace_back(accesses.begin(), accesses.end());
    for (DeviceAccess& access : accesses) {
        auto at = reinterpret_cast<std::uintptr_t>(access.address);
        g_device.order.push_back(at);
        if (access.is_load())
            access.value = g_device.registers[at];
        else
            g_device.registers[at] = access.value;
    }
}

// Register n of the fake device: only its address is used, never dereferenced.
volatile void* reg(std::uintptr_t n) { return reinterpret_cast<volatile void*>(0x1000 + 4 * n); }
std::uintptr_t at(std::uintptr_t n) { return 0x1000 + 4 * n; }

using Queue = kernel::gates::DeferredStores<4>;

}  // namespace

TEST_CASE("deferred stores: stores wait, and run in order ahead of the next load, in the same run") {
    g_device = {};
    Queue queue(run_on_fake);
    queue.store(DeviceAccess::memory_store(reg(1), 4, 11));
    queue.store(DeviceAccess::memory_store(reg(2), 2, 22));
    CHECK(queue.size() == 2);
    CHECK(g_device.runs.empty());  // nothing reached the device yet
    g_device.registers[at(3)] = 33;
    CHECK(queue.load(DeviceAccess::memory_load(reg(3), 4)) == 33);
    REQUIRE(g_device.runs.size() == 1);  // one gate for all three
    CHECK(g_device.order == std::vector<std::uintptr_t>{at(1), at(2), at(3)});
    CHECK(g_device.registers[at(1)] == 11);
    CHECK(g_device.registers[at(2)] == 22);
    CHECK(queue.empty());
    // With nothing waiting a load is a run of its own.
    CHECK(queue.load(DeviceAccess::memory_load(reg(1), 4)) == 11);
    CHECK(g_device.runs.size() == 2);
    CHECK(g_device.runs[1].size() == 1);
}

TEST_CASE("deferred stores: a store and then a load of the same register reads what was stored") {
    g_device = {};
    Queue queue(run_on_fake);
    g_device.registers[at(5)] = 1;
    queue.store(DeviceAccess::memory_store(reg(5), 4, 0xAB));
    CHECK(g_device.registers[at(5)] == 1);  // not stored yet
    CHECK(queue.load(DeviceAccess::memory_load(reg(5), 4)) == 0xAB);
    // Port and configuration accesses keep their order among the memory ones too.
    queue.store(DeviceAccess::port_store(0x60, 1, 7));
    queue.store(DeviceAccess::select(0xCF8, 0x8000'0010, 0xCFC, 4, false, 0xFFFF'FFFF));
    queue.store(DeviceAccess::port_store(0x60, 1, 9));
    g_device.registers[0x60] = 0;
    CHECK(queue.load(DeviceAccess::port_load(0x60, 1)) == 9);
}

TEST_CASE("deferred stores: any gate runs what waits first; a flush of nothing is no run") {
    g_device = {};
    Queue queue(run_on_fake);
    queue.flush();
    CHECK(g_device.runs.empty());
    queue.store(DeviceAccess::msr_store(0x80B, 0));  // an x2APIC EOI, say
    queue.store(DeviceAccess::memory_store(reg(1), 4, 1));
    queue.flush();  // what gates::call() does before it takes any gate
    REQUIRE(g_device.runs.size() == 1);
    CHECK(g_device.runs[0].size() == 2);
    CHECK(g_device.runs[0][0].kind == DeviceAccess::k_msr);
    CHECK(queue.empty());
    queue.flush();
    CHECK(g_device.runs.size() == 1);
    CHECK(queue.runs() == 1);
}

TEST_CASE("deferred stores: a full queue runs before it takes another store, and order holds across") {
    g_device = {};
    Queue queue(run_on_fake);
    for (std::uintptr_t n = 0; n < 4; ++n)
        queue.store(DeviceAccess::memory_store(reg(n), 4, static_cast<std::uint32_t>(n)));
    CHECK(g_device.runs.empty());
    CHECK(queue.overflows() == 0);
    queue.store(DeviceAccess::memory_store(reg(0), 4, 100));  // the fifth: the first four go
    REQUIRE(g_device.runs.size() == 1);
    CHECK(g_device.runs[0].size() == 4);
    CHECK(queue.overflows() == 1);
    CHECK(queue.size() == 1);
    CHECK(g_device.registers[at(0)] == 0);  // the later store to register 0 still waits
    // A full queue still takes a load along: four stores and the load in one run.
    for (std::uintptr_t n = 1; n < 4; ++n) queue.store(DeviceAccess::memory_store(reg(n), 4, 200));
    CHECK(queue.load(DeviceAccess::memory_load(reg(0), 4)) == 100);
    REQUIRE(g_device.runs.size() == 2);
    CHECK(g_device.runs[1].size() == 5);
    CHECK(queue.overflows() == 1);
}
