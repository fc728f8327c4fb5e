// A UDP echo server on port 7 (and the stack answers ping). The address comes from
// ip=A.B.C.D/N gw=A.B.C.D on the command line, or from DHCP.
//
//   exit_when_configured   exit 0 as soon as the interface has an address (DHCP check)
//   a datagram "quit"      ends the server, exit status 0

#include <string_view>

#include "kernel/cpu.hpp"
#include "kernel/kernel.hpp"
#include "net/stack.hpp"
#include "net/udp_socket.hpp"
#include "runtime/runtime.hpp"

namespace {

runtime::Task<int> serve() {
    auto devices = netif::registered_devices();
    if (devices.empty()) {
        kernel::println("udp_echo: no network device (start QEMU with a virtio-net device)");
        co_return 1;
    }
    auto config = net::StackConfig::from_command_line(kernel::command_line());
    if (!config) {
        kernel::println("udp_echo: bad network settings: {}", net::to_string(config.error()));
        co_return 1;
    }
    runtime::Signal device_signal;
    net::Stack stack(*devices[0].device, device_signal, *config, kernel::cpu::rdtsc());
    auto stack_task = runtime::spawn(stack.run());
    if (!co_await stack.wait_configured(std::chrono::seconds(60))) {
        kernel::println("udp_echo: no address after 60 s (no DHCP server answered)");
        co_return 1;
    }
    auto address = *stack.interface().address();
    auto gateway = stack.interface().gateway();
    kernel::println("net: {} via {}, gateway {}", address, stack.dhcp() != nullptr ? "DHCP" : "the command line",
                    gateway ? *gateway : net::Ipv4Address::any());
    if (!stack.large_datagrams()) kernel::println("net: no memory for large datagrams: fragments are dropped");
    if (kernel::command_line().has("exit_when_configured")) {
        stack.stop();
        co_await stack_task;
        co_return 0;
    }

    net::UdpSocket socket(stack.interface());
    if (auto bound = socket.bind(7); !bound) {
        kernel::println("udp_echo: cannot bind port 7: {}", net::to_string(bound.error()));
        co_return 1;
    }
    kernel::println("udp_echo: listening on {}:7", address.address);
    std::uint64_t echoed = 0;
    for (;;) {
        net::Datagram datagram = co_await socket.receive();
        std::string_view text(reinterpret_cast<const char*>(datagram.payload().data()), datagram.payload().size());
        if (text == "quit") break;
        if (socket.send_to(datagram.source, datagram.source_port, datagram.payload(), runtime::now())) ++echoed;
    }
    const auto& s = stack.interface().stats();
    kernel::println("udp_echo: echoed {} datagrams; {} frames in, {} malformed, {} ping replies", echoed, s.rx_frames,
                    s.malformed_total(), s.icmp_echo_replies);
    kernel::println("udp_echo: reassembled {} datagrams, {} sent in fragments",
                    stack.interface().reassembly_stats().reassembled, s.tx_fragmented);
    stack.stop();
    co_await stack_task;
    co_return 0;
}

}  // namespace

int main() { return runtime::run(serve()); }
