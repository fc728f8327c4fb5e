#pragma once
// SimNetwork: two network stacks, 10.0.0.1 (a) and 10.0.0.2 (b), joined by a SimLink and
// running as tasks on one runtime::EventLoop over a virtual clock (test::FakePlatform).
//
//     sim::SimNetwork net(42, sim::LinkConfig::symmetric({.delay = 5ms, .bits_per_second = 10'000'000}));
//     sim::RunResult r = net.run(client(net.a()), server(net.b()), 10s);
//     CHECK(r.finished);
//     sim::ResultsTable::global().add(net.row("10 MB, 5 ms", bytes, r.client_time));
//
// run() starts both stacks (the first time), the server, then the client, and runs the loop
// until both have finished or the virtual-time limit has passed. Tasks take what they need
// as parameters (see docs/runtime.md: never a temporary capturing lambda as a coroutine).
//
// One SimNetwork at a time: it owns the event loop, and there is one loop per thread.
// A task still running when a run hits its limit keeps running in later runs, and is
// destroyed with the SimNetwork.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/address.hpp"
#include "net/interface.hpp"
#include "net/stack.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/signal.hpp"
#include "runtime/task.hpp"
#include "test/sim/results_table.hpp"
#include "test/sim/sim_link.hpp"
#include "test/unit/runtime/fake_platform.hpp"

namespace sim {

struct RunResult {
    bool finished = false;             // the client (and the server, if any) finished in time
    std::optional<int> client;         // its value, if it finished
    std::optional<int> server;         // its value, if there was one and it finished
    runtime::Duration client_time{0};  // from the start of the run to the client's end
    runtime::Duration server_time{0};  // from the start of the run to the server's end
    runtime::Duration elapsed{0};      // from the start to the end of the run
};

class SimNetwork {
public:
    static constexpr net::Ipv4Address k_address_a = net::Ipv4Address::from_octets(10, 0, 0, 1);
    static constexpr net::Ipv4Address k_address_b = net::Ipv4Address::from_octets(10, 0, 0, 2);
    static constexpr std::uint8_t k_prefix_length = 24;

    SimNetwork(std::uint64_t seed, const LinkConfig& config, std::size_t buffers_per_endpoint = 512);
    SimNetwork(const SimNetwork&) = delete;
    SimNetwork& operator=(const SimNetwork&) = delete;
    ~SimNetwork();

    net::Stack& stack_a() { return m_stack_a; }
    net::Stack& stack_b() { return m_stack_b; }
    net::Interface& a() { return m_stack_a.interface(); }
    net::Interface& b() { return m_stack_b.interface(); }
    SimLink& link() { return m_link; }
    test::FakePlatform& platform() { return m_platform; }
    runtime::EventLoop& loop() { return m_loop; }
    [[nodiscard]] runtime::Instant now() const { return m_platform.now(); }
    [[nodiscard]] std::uint64_t seed() const { return m_seed; }

    // Runs server and client (either may be an empty Task) until both have finished or
    // `limit` of virtual time has passed.
    RunResult run(runtime::Task<int> client, runtime::Task<int> server, runtime::Duration limit);
    RunResult run(runtime::Task<int> client, runtime::Duration limit) { return run(std::move(client), {}, limit); }

    // A row for the results table: this link's a->b settings and both directions' counters.
    [[nodiscard]] ResultRow row(std::string scenario, std::uint64_t bytes, runtime::Duration completion) const;

private:
    struct RunState;
    runtime::Task<int> supervise(runtime::Task<int> client, runtime::Task<int> server, runtime::Duration limit,
                                 std::shared_ptr<RunState> state);
    static runtime::Task<void> finish(runtime::Task<int> task, std::shared_ptr<RunState> state, bool is_client,
                                      runtime::Signal& done);

    std::uint64_t m_seed;
    mutable test::FakePlatform m_platform;  // now() reads it; reading the clock changes nothing
    SimLink m_link;
    runtime::Signal m_signal_a;
    runtime::Signal m_signal_b;
    net::Stack m_stack_a;
    net::Stack m_stack_b;
    runtime::Signal m_done;
    // Last: destroyed first, and with it every task still running, while the stacks,
    // signals and link those tasks use are still there.
    runtime::EventLoop m_loop;
    bool m_stacks_started = false;
};

}  // namespace sim
