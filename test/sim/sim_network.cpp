#include "test/sim/sim_network.hpp"

#include <utility>

namespace sim {
namespace {

net::StackConfig static_config(net::Ipv4Address address) {
    net::StackConfig config;
    config.address = net::Ipv4Cidr{address, SimNetwork::k_prefix_length};
    return config;
}

}  // namespace

struct SimNetwork::RunState {
    std::optional<int> client;
    std::optional<int> server;
    runtime::Instant client_end;
    runtime::Instant server_end;
};

SimNetwork::SimNetwork(std::uint64_t seed, const LinkConfig& config, std::size_t buffers_per_endpoint)
    : m_seed(seed),
      m_link(m_platform, seed, config, buffers_per_endpoint),
      // The stacks' own seeds (DHCP's jitter, unused with a static address) differ per side.
      m_stack_a(m_link.a(), m_signal_a, static_config(k_address_a), seed * 2 + 1),
      m_stack_b(m_link.b(), m_signal_b, static_config(k_address_b), seed * 2 + 2),
      m_loop(m_platform) {}

SimNetwork::~SimNetwork() = default;

runtime::Task<void> SimNetwork::finish(runtime::Task<int> task, std::shared_ptr<RunState> state, bool is_client,
                                       runtime::Signal& done) {
    int value = co_await std::move(task);
    (is_client ? state->client : state->server) = value;
    (is_client ? state->client_end : state->server_end) = runtime::now();
    done.notify();
}

runtime::Task<int> SimNetwork::supervise(runtime::Task<int> client, runtime::Task<int> server, runtime::Duration limit,
                                         std::shared_ptr<RunState> state) {
    if (!m_stacks_started) {
        // Dropped handles: the stacks run on their own until the loop goes.
        (void)runtime::spawn(m_stack_a.run());
        (void)runtime::spawn(m_stack_b.run());
        m_stacks_started = true;
    }
    bool has_server = server.valid();
    bool has_client = client.valid();
    // The state is shared with the tasks: one that outlives this run (it hit the limit)
    // writes into it harmlessly later.
    if (has_server) (void)runtime::spawn(finish(std::move(server), state, false, m_done));
    if (has_client) (void)runtime::spawn(finish(std::move(client), state, true, m_done));
    runtime::Instant deadline = runtime::now() + limit;
    auto all_done = [&] { return (!has_client || state->client) && (!has_server || state->server); };
    while (!all_done()) {
        // A notify left over from an earlier run only costs a look at all_done().
        if (!co_await m_done.wait_until(deadline)) break;
    }
    co_return all_done() ? 0 : 1;
}

RunResult SimNetwork::run(runtime::Task<int> client, runtime::Task<int> server, runtime::Duration limit) {
    auto state = std::make_shared<RunState>();
    runtime::Instant start = now();
    int status = m_loop.run(supervise(std::move(client), std::move(server), limit, state));
    RunResult result;
    result.finished = status == 0;
    result.client = state->client;
    result.server = state->server;
    if (state->client) result.client_time = state->client_end - start;
    if (state->server) result.server_time = state->server_end - start;
    result.elapsed = now() - start;
    return result;
}

ResultRow SimNetwork::row(std::string scenario, std::uint64_t bytes, runtime::Duration completion) const {
    return ResultRow{std::move(scenario), m_link.config(Direction::AToB), bytes, completion, m_link.total()};
}

}  // namespace sim
