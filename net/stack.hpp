#pragma once
// The network stack for one device, as a task on the event loop: it handles what the
// device received and what is due (ARP retries, DHCP), then sleeps until the device's
// signal or the next deadline.
//
//     net::Stack stack(device, device_signal, net::StackConfig::from_command_line(kernel::command_line()));
//     runtime::spawn(stack.run());
//     co_await stack.wait_configured(10s);

#include <cstdint>
#include <optional>

#include "kernel/command_line.hpp"
#include "kernel/result.hpp"
#include "net/dhcp_client.hpp"
#include "net/interface.hpp"
#include "net/tcp.hpp"
#include "runtime/signal.hpp"
#include "runtime/task.hpp"

namespace net {

struct StackConfig {
    std::optional<Ipv4Cidr> address;  // none: ask DHCP
    std::optional<Ipv4Address> gateway;
    TcpConfig tcp;
    // Large buffers (64 KiB each, from the heap) for reassembly and sends bigger than the
    // MTU; 0 turns fragments off (they are dropped and counted).
    std::size_t large_buffers = 8;

    enum class Error { BadAddress, BadGateway, GatewayWithoutAddress, BadTcpSetting };
    // ip=A.B.C.D/N and gw=A.B.C.D, or Linux's ip=<client>:<server>:<gateway>:<netmask>:
    // <hostname>:<device>:<autoconf> (server, hostname and device unused; gw= overrides its
    // gateway); ip=dhcp or no ip= at all: DHCP. TCP: tcp_cc=cubic|newreno,
    // tcp_sack=, tcp_timestamps=, tcp_window_scaling= (on/off), tcp_buffer_kib=N (each direction).
    static kernel::Result<StackConfig, Error> from_command_line(const kernel::CommandLine& command_line);
};
const char* to_string(StackConfig::Error error);

class Stack {
public:
    Stack(netif::NetworkDevice& device, runtime::Signal& device_signal, const StackConfig& config, std::uint64_t seed);
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    Interface& interface() { return m_interface; }
    TcpLayer& tcp() { return m_tcp; }
    [[nodiscard]] const DhcpClient* dhcp() const { return m_dhcp ? &*m_dhcp : nullptr; }
    // False when the large buffers were not wanted or the heap had no room for them.
    [[nodiscard]] bool large_datagrams() const { return m_interface.large_pool() != nullptr; }

    // Runs the stack until stop() (on the current event loop).
    runtime::Task<void> run();
    void stop();
    // Handles everything received and due; returns when to come back.
    std::optional<runtime::Instant> poll(runtime::Instant now);
    // True once the interface has an address; false if timeout passed first.
    runtime::Task<bool> wait_configured(runtime::Duration timeout);

private:
    runtime::Signal& m_device_signal;
    Interface m_interface;
    TcpLayer m_tcp;
    std::optional<DhcpClient> m_dhcp;
    runtime::Signal m_configured;
    bool m_running = false;
};

}  // namespace net
