// The hello-TCP echo server: every byte that arrives on port 7 goes back, on any number of
// connections at once. The address comes from ip=A.B.C.D/N gw=A.B.C.D on the command
// line, or from DHCP; tcp_* settings tune TCP (net/stack.hpp).
//
//   port=N                 listen on N instead of 7
//   exit_after=N           exit 0 once N connections have ended (for tests)

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

runtime::Task<int> serve() {
    auto devices = net::registered_devices();
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
    auto exit_after = kernel::command_line().get_u64("exit_after");
    while (!exit_after || counters.ended < *exit_after) co_await counters.changed.wait();
    listener.close();
    co_await acceptor;
    // Connections still open get a few seconds to finish.
    runtime::Instant deadline = runtime::now() + std::chrono::seconds(5);
    while (counters.active > 0 && co_await counters.changed.wait_until(deadline)) {
    }

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
