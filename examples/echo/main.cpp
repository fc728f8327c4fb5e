// The hello-TCP echo server: every byte that arrives on port 7 goes back, on any number of
// connections at once. The address comes from ip=A.B.C.D/N gw=A.B.C.D on the command
// line, or from DHCP; tcp_* settings tune TCP (net/stack.hpp).
//
//   port=N                 listen on N instead of 7
//   exit_after=N           exit 0 once N connections have ended (for tests)
//   stats_every=S          print the connection and TCP counters every S seconds

#include <array>

#include "kernel/cpu.hpp"
#include "kernel/kernel.hpp"
#include "net/stack.hpp"
#include "net/tcp.hpp"
#include "runtime/runtime.hpp"

namespace {

struct Counters {
    std::uint64_t accepted = 0;
    std::uint64_t ended = 0;
    std::uint64_t failed = 0;  // ended by a reset or a timeout
    std::uint64_t bytes = 0;
    std::uint64_t active = 0;
    runtime::Signal changed;
};

runtime::Task<void> echo(net::TcpStream stream, Counters& counters) {
    // One buffer per connection, in the coroutine frame: big enough that a read takes
    // what several segments brought.
    std::array<std::byte, 16384> buffer{};
    bool failed = false;
    for (;;) {
        auto n = co_await stream.read(buffer);
        if (!n) {
            failed = true;
            break;
        }
        if (*n == 0) break;  // the client closed its side
        auto written = co_await stream.write(std::span(buffer).first(*n));
        if (!written) {
            failed = true;
            break;
        }
        counters.bytes += *n;
    }
    stream.close();
    --counters.active;
    ++counters.ended;
    if (failed) ++counters.failed;
    counters.changed.notify();
}

runtime::Task<void> accept_loop(net::TcpListener& listener, Counters& counters) {
    for (;;) {
        auto stream = co_await listener.accept();
        if (!stream) co_return;
        ++counters.accepted;
        ++counters.active;
        if (!runtime::spawn(echo(std::move(*stream), counters)).valid()) {
            kernel::println("echo: no memory for a connection's task; it is dropped");
            --counters.active;
        }
    }
}

void print_tcp(net::TcpLayer& tcp, const net::TcpListener& listener, const Counters& counters,
               const netif::NetworkDevice& device) {
    const auto& t = tcp.stats();
    auto states = tcp.state_counts();
    kernel::println(
        "echo: {} accepted, {} active, {} ended; {} connections ({} half-open, {} to accept), {} KiB "
        "of buffers",
        counters.accepted, counters.active, counters.ended, tcp.connection_count(), listener.half_open(),
        listener.queued(), tcp.memory_used() / 1024);
    kernel::println(
        "echo: states syn-rcvd {} estab {} fin-wait {}/{} close-wait {} closing {} last-ack {} time-wait {}", states[2],
        states[3], states[4], states[5], states[6], states[7], states[8], states[9]);
    kernel::println(
        "echo: tcp: {} segments in, {} out, {} malformed, {} no connection, {} resets sent, {} SYN "
        "cookies sent, {} accepted, {} rejected, {} accept queue full, {} no buffer",
        t.segments_received, t.segments_sent, t.malformed, t.no_connection, t.resets_sent, t.syn_cookies_sent,
        t.syn_cookies_accepted, t.syn_cookies_rejected, t.accept_queue_full, t.no_buffer);
    kernel::println("echo: tcp: {} retransmitted, {} fast retransmits, {} timeouts, {} tail loss probes, {} TSO sends",
                    t.retransmitted_segments, t.fast_retransmits, t.timeouts, t.tail_loss_probes, t.tso_sends);
    const auto& d = device.stats();
    kernel::println("echo: device: {} frames in ({} dropped, {} errors), {} out ({} dropped, {} errors)", d.rx_packets,
                    d.rx_dropped, d.rx_errors, d.tx_packets, d.tx_dropped, d.tx_errors);
}

runtime::Task<void> stats_loop(net::TcpLayer& tcp, const net::TcpListener& listener, const Counters& counters,
                               const netif::NetworkDevice& device, std::uint64_t seconds) {
    for (;;) {
        co_await runtime::sleep(std::chrono::seconds(seconds));
        print_tcp(tcp, listener, counters, device);
    }
}

runtime::Task<int> serve() {
    auto devices = netif::registered_devices();
    if (devices.empty()) {
        kernel::println("echo: no network device (start QEMU with a virtio-net device)");
        co_return 1;
    }
    auto config = net::StackConfig::from_command_line(kernel::command_line());
    if (!config) {
        kernel::println("echo: bad network settings: {}", net::to_string(config.error()));
        co_return 1;
    }
    auto port = kernel::command_line().get_u64("port").value_or(7);
    if (port == 0 || port > 65535) {
        kernel::println("echo: port= wants 1 to 65535");
        co_return 1;
    }
    runtime::Signal device_signal;
    net::Stack stack(*devices[0].device, device_signal, *config, kernel::cpu::rdtsc());
    auto stack_task = runtime::spawn(stack.run());
    if (!co_await stack.wait_configured(std::chrono::seconds(60))) {
        kernel::println("echo: no address after 60 s (no DHCP server answered)");
        co_return 1;
    }
    auto address = *stack.interface().address();
    kernel::println("net: {} via {}", address, stack.dhcp() != nullptr ? "DHCP" : "the command line");

    net::TcpListener listener(stack.tcp());
    if (auto listening = listener.listen(static_cast<std::uint16_t>(port)); !listening) {
        kernel::println("echo: cannot listen on port {}: {}", port, net::to_string(listening.error()));
        co_return 1;
    }
    kernel::println("echo: listening on {}:{} (TCP)", address.address, port);
    Counters counters;
    auto acceptor = runtime::spawn(accept_loop(listener, counters));
    if (auto every = kernel::command_line().get_u64("stats_every"); every && *every > 0)
        (void)runtime::spawn(stats_loop(stack.tcp(), listener, counters, *devices[0].device, *every));
    auto exit_after = kernel::command_line().get_u64("exit_after");
    while (!exit_after || counters.ended < *exit_after) co_await counters.changed.wait();
    listener.close();
    co_await acceptor;
    // Connections still open get a few seconds to finish.
    runtime::Instant deadline = runtime::now() + std::chrono::seconds(5);
    while (counters.active > 0 && co_await counters.changed.wait_until(deadline)) {
    }
    // And the stack gets them to the end: the last FINs and ACKs go out and are answered.
    while (stack.tcp().connection_count() > 0 && runtime::now() < deadline)
        co_await runtime::sleep(std::chrono::milliseconds(5));

    const auto& t = stack.tcp().stats();
    kernel::println("echo: {} connections, {} bytes echoed, {} ended by an error", counters.ended, counters.bytes,
                    counters.failed);
    kernel::println("echo: tcp: {} segments in, {} out, {} malformed, {} resets sent, {} SYN cookies",
                    t.segments_received, t.segments_sent, t.malformed, t.resets_sent, t.syn_cookies_sent);
    if (counters.active > 0) {
        kernel::println("echo: {} connections still open at exit", counters.active);
        kernel::exit(0);  // their tasks hold the stack: leave without tearing it down
    }
    stack.stop();
    co_await stack_task;
    co_return 0;
}

}  // namespace

int main() { return runtime::run(serve()); }
