#include "net/stack.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <string_view>

#include "runtime/event_loop.hpp"

namespace net {

namespace {

// Linux's ip= (Documentation/admin-guide/nfs/nfsroot.rst): fields separated by colons,
//   <client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>
// of which this stack uses the client, gateway, netmask and autoconf; or one autoconf
// word alone. Firecracker's examples and urunc pass ip=<client>::<gw>:<netmask>::<dev>:off.
constexpr std::size_t k_linux_ip_fields = 10;

bool is_dhcp_word(std::string_view word) {
    return word == "dhcp" || word == "on" || word == "any" || word == "bootp" || word == "both" || word == "rarp";
}

// A netmask's prefix length; nullopt for a mask whose one bits are not contiguous.
std::optional<std::uint8_t> prefix_of(Ipv4Address mask) {
    std::uint32_t host_bits = ~mask.value;
    if ((host_bits & (host_bits + 1)) != 0) return std::nullopt;
    return static_cast<std::uint8_t>(std::popcount(mask.value));
}

// Linux's default when the netmask is empty: the address's class (ipconfig.c, RFC 791).
std::optional<std::uint8_t> class_prefix(Ipv4Address address) {
    if ((address.value >> 31) == 0) return 8;
    if ((address.value >> 30) == 2) return 16;
    if ((address.value >> 29) == 6) return 24;
    return std::nullopt;
}

// What the Linux form gives: an address (nullopt: DHCP) and a gateway.
struct LinuxIp {
    std::optional<Ipv4Cidr> address;
    std::optional<Ipv4Address> gateway;
};

std::optional<LinuxIp> parse_linux_ip(std::string_view text) {
    if (is_dhcp_word(text)) return LinuxIp{};
    std::array<std::string_view, k_linux_ip_fields> field{};
    std::size_t count = 0;
    for (std::size_t start = 0;;) {
        if (count == field.size()) return std::nullopt;
        std::size_t colon = text.find(':', start);
        field[count++] = text.substr(start, colon == std::string_view::npos ? colon : colon - start);
        if (colon == std::string_view::npos) break;
        start = colon + 1;
    }
    if (count < 2) return std::nullopt;  // neither the Linux form nor a word it knows
    std::string_view autoconf = count > 6 ? field[6] : std::string_view();
    if (is_dhcp_word(autoconf)) return LinuxIp{};
    if (!autoconf.empty() && autoconf != "off" && autoconf != "none") return std::nullopt;

    auto client = Ipv4Address::parse(field[0]);
    if (!client || client->is_any()) return std::nullopt;
    std::optional<std::uint8_t> prefix;
    if (count > 3 && !field[3].empty()) {
        auto mask = Ipv4Address::parse(field[3]);
        if (!mask) return std::nullopt;
        prefix = prefix_of(*mask);
    } else {
        prefix = class_prefix(*client);
    }
    if (!prefix || *prefix == 0) return std::nullopt;
    LinuxIp result{Ipv4Cidr{*client, *prefix}, std::nullopt};
    if (count > 2 && !field[2].empty()) {
        auto gateway = Ipv4Address::parse(field[2]);
        if (!gateway) return std::nullopt;
        if (!gateway->is_any()) result.gateway = gateway;
    }
    return result;
}

}  // namespace

const char* to_string(StackConfig::Error error) {
    switch (error) {
        case StackConfig::Error::BadAddress:
            return "ip= wants an address with a prefix length (ip=10.0.0.2/24), Linux's "
                   "ip=<client>::<gateway>:<netmask>:<hostname>:<device>:off, or ip=dhcp";
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
        if (ip->find('/') != std::string_view::npos) {
            config.address = Ipv4Cidr::parse(*ip);
            if (!config.address || config.address->prefix_length == 0) return kernel::err(Error::BadAddress);
        } else {
            auto linux_form = parse_linux_ip(*ip);
            if (!linux_form) return kernel::err(Error::BadAddress);
            config.address = linux_form->address;
            config.gateway = linux_form->gateway;
        }
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
