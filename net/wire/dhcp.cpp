#include "net/wire/dhcp.hpp"

#include <cstring>

namespace net {
namespace {

// RFC 2132 option codes.
enum Option : std::uint8_t {
    k_pad = 0,
    k_subnet_mask = 1,
    k_router = 3,
    k_dns = 6,
    k_requested_ip = 50,
    k_lease_time = 51,
    k_overload = 52,
    k_message_type = 53,
    k_server_id = 54,
    k_parameter_list = 55,
    k_max_message_size = 57,
    k_renewal_time = 58,
    k_rebinding_time = 59,
    k_client_id = 61,
    k_end = 255,
};

std::uint32_t read32(const std::byte* p) {
    Big32 v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace

kernel::Result<DhcpMessage, ParseError> DhcpMessage::parse(std::span<const std::byte> bytes) {
    if (bytes.size() < sizeof(DhcpHeader)) return kernel::err(ParseError::Truncated);
    DhcpHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    if (h.op != 2 || h.htype != 1 || h.hlen != 6) return kernel::err(ParseError::Unsupported);
    if (h.magic_cookie != k_magic_cookie) return kernel::err(ParseError::Malformed);
    DhcpMessage m;
    m.xid = h.xid;
    std::memcpy(m.client_mac.bytes.data(), h.chaddr, 6);
    m.client_ip = Ipv4Address{h.ciaddr};
    m.your_ip = Ipv4Address{h.yiaddr};
    bool have_type = false;
    std::span<const std::byte> options = bytes.subspan(sizeof(DhcpHeader));
    for (std::size_t i = 0; i < options.size();) {
        auto code = std::to_integer<std::uint8_t>(options[i]);
        if (code == k_pad) {
            ++i;
            continue;
        }
        if (code == k_end) break;
        if (i + 1 >= options.size()) return kernel::err(ParseError::Truncated);
        std::size_t length = std::to_integer<std::uint8_t>(options[i + 1]);
        if (i + 2 + length > options.size()) return kernel::err(ParseError::Truncated);
        const std::byte* value = options.data() + i + 2;
        auto address = [&]() -> std::optional<Ipv4Address> {
            if (length < 4) return std::nullopt;  // a short address option is ignored
            return Ipv4Address{read32(value)};
        };
        auto seconds = [&]() -> std::optional<std::uint32_t> {
            if (length != 4) return std::nullopt;
            return read32(value);
        };
        switch (code) {
            case k_message_type:
                if (length != 1) return kernel::err(ParseError::Malformed);
                m.type = static_cast<DhcpMessageType>(std::to_integer<std::uint8_t>(value[0]));
                have_type = true;
                break;
            case k_subnet_mask: m.subnet_mask = address(); break;
            case k_router: m.router = address(); break;  // the first router of the list
            case k_dns: m.dns = address(); break;
            case k_server_id: m.server_id = address(); break;
            case k_requested_ip: m.requested_ip = address(); break;
            case k_lease_time: m.lease_seconds = seconds(); break;
            case k_renewal_time: m.renewal_seconds = seconds(); break;
            case k_rebinding_time: m.rebinding_seconds = seconds(); break;
            default: break;  // options we do not use, including overload (52): ignored
        }
        i += 2 + length;
    }
    if (!have_type) return kernel::err(ParseError::Malformed);
    return m;
}

std::size_t DhcpMessage::emit(std::span<std::byte> out, bool broadcast) const {
    if (out.size() < k_max_size) return 0;
    DhcpHeader h{};
    h.op = 1;
    h.htype = 1;
    h.hlen = 6;
    h.xid = xid;
    h.flags = broadcast ? std::uint16_t{0x8000} : std::uint16_t{0};
    h.ciaddr = client_ip.value;
    std::memcpy(h.chaddr, client_mac.bytes.data(), 6);
    h.magic_cookie = k_magic_cookie;
    std::memcpy(out.data(), &h, sizeof h);
    std::size_t n = sizeof h;
    auto put = [&](std::uint8_t byte) { out[n++] = std::byte{byte}; };
    auto put_address = [&](std::uint8_t code, Ipv4Address a) {
        put(code);
        put(4);
        Big32 v = a.value;
        std::memcpy(out.data() + n, &v, 4);
        n += 4;
    };
    put(k_message_type);
    put(1);
    put(static_cast<std::uint8_t>(type));
    put(k_client_id);
    put(7);
    put(1);  // hardware type: Ethernet
    for (auto b : client_mac.bytes) put(b);
    if (requested_ip) put_address(k_requested_ip, *requested_ip);
    if (server_id) put_address(k_server_id, *server_id);
    put(k_max_message_size);
    put(2);
    put(0x05);  // 1500
    put(0xDC);
    put(k_parameter_list);
    put(6);
    for (std::uint8_t p : {k_subnet_mask, k_router, k_dns, k_lease_time, k_renewal_time, k_rebinding_time}) put(p);
    put(k_end);
    return n;
}

}  // namespace net
