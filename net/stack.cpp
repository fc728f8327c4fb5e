#include "net/stack.hpp"

#include <algorithm>

#include "runtime/event_loop.hpp"

namespace net {

const char* to_string(StackConfig::Error error) {
    switch (error) {
        case StackConfig::Error::BadAddress: return "ip= wants an address with a prefix length, like ip=10.0.0.2/24";
        case StackConfig::Error::BadGateway: return "gw= wants an address, like gw=10.0.0.1";
        case StackConfig::Error::GatewayWithoutAddress: return "gw= needs ip= too (DHCP supplies its own gateway)";
        case StackConfig::Error::BadTcpSetting:
            return "tcp_cc= wants cubic or newreno; tcp_sack=, tcp_timestamps=, tcp_window_scaling= want on or off; "
                   "tcp_buffer_kib= wants 4 to 16384";
    }
    return "unknown configuration error";
}

kernel::Result<StackConfig, StackConfig::Error> StackConfig::from_command_line(
    const kernel::CommandLine& command_line) {
    StackConfig config;
    if (auto ip = command_line.get("ip")) {
        config.address = Ipv4Cidr::parse(*ip);
        if (!config.address || config.address->prefix_length == 0) return kernel::err(Error::BadAddress);
    }
    if (auto gw = command_line.get("gw")) {
        config.gateway = Ipv4Address::parse(*gw);
        if (!config.gateway) return kernel::err(Error::BadGateway);
        if (!config.address) return kernel::err(Error::GatewayWithoutAddress);
    }
    if (auto cc = command_line.get("tcp_cc")) {
        if (*cc == "cubic")
            config.tcp.congestion = CongestionAlgorithm::Cubic;
        else if (*cc == "newreno")
            config.tcp.congestion = CongestionAlgorithm::NewReno;
        else
            return kernel::err(Error::BadTcpSetting);
    }
    for (auto [key, field] :
         {std::pair{"tcp_sack", &TcpConfig::sack}, std::pair{"tcp_timestamps", &TcpConfig::timestamps},
          std::pair{"tcp_window_scaling", &TcpConfig::window_scaling}}) {
        if (!command_line.has(key)) continue;
        auto value = command_line.get_bool(key);
        if (!value) return kernel::err(Error::BadTcpSetting);
        config.tcp.*field = *value;
    }
    if (command_line.has("tcp_min_rto_ms")) {
        auto ms = command_line.get_u64("tcp_min_rto_ms");
        if (!ms || *ms < 1 || *ms > 60'000) return kernel::err(Error::BadTcpSetting);
        config.tcp.rtt.min_rto = std::chrono::milliseconds(*ms);
    }
    if (command_line.has("tcp_buffer_kib")) {
        auto kib = command_line.get_u64("tcp_buffer_kib");
        if (!kib || *kib < 4 || *kib > 16384) return kernel::err(Error::BadTcpSetting);
        config.tcp.send_buffer = config.tcp.receive_buffer = static_cast<std::size_t>(*kib) * 1024;
    }
    return config;
}

Stack::Stack(netif::NetworkDevice& device, runtime::Signal& device_signal, const StackConfig& config,
             std::uint64_t seed)
    : m_device_signal(device_signal), m_interface(device), m_tcp(m_interface, config.tcp, seed, &device_signal) {
    if (config.large_buffers != 0) (void)m_interface.enable_large_datagrams(config.large_buffers);
    device.set_receive_hook([](void* signal) { static_cast<runtime::Signal*>(signal)->notify(); }, &device_signal);
    if (config.address)
        m_interface.configure(*config.address, config.gateway, runtime::instant_from_ns(0));
    else
        m_dhcp.emplace(m_interface, seed);
}

std::optional<runtime::Instant> Stack::poll(runtime::Instant now) {
    bool was_configured = m_interface.address().has_value();
    m_interface.poll(now);
    m_tcp.poll(now);
    m_interface.device().flush();
    std::optional<runtime::Instant> next = m_interface.poll_at();
    if (auto at = m_tcp.poll_at(); at && (!next || *at < *next)) next = at;
    if (m_dhcp) {
        m_dhcp->poll(now);
        m_interface.device().flush();
        if (auto at = m_dhcp->poll_at(); at && (!next || *at < *next)) next = at;
    }
    if (!was_configured && m_interface.address()) m_configured.notify();
    return next;
}

runtime::Task<void> Stack::run() {
    m_running = true;
    while (m_running) {
        auto next = poll(runtime::now());
        // No deadline: wake for the device only (a day stands in for "never").
        runtime::Instant deadline = next.value_or(runtime::now() + std::chrono::hours(24));
        co_await m_device_signal.wait_until(deadline);
    }
    // What applications queued just before stop() still goes out.
    m_interface.device().flush();
}

void Stack::stop() {
    m_running = false;
    m_device_signal.notify();
}

runtime::Task<bool> Stack::wait_configured(runtime::Duration timeout) {
    runtime::Instant deadline = runtime::now() + timeout;
    while (!m_interface.address()) {
        if (!co_await m_configured.wait_until(deadline)) co_return m_interface.address().has_value();
    }
    co_return true;
}

}  // namespace net
