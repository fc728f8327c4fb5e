#include "net/address.hpp"

#include <array>

namespace net {

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
    std::uint32_t value = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (text.empty() || text[0] != '.') return std::nullopt;
            text.remove_prefix(1);
        }
        std::size_t digits = 0;
        std::uint32_t part = 0;
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
            part = part * 10 + static_cast<std::uint32_t>(text[digits] - '0');
            if (++digits > 3) return std::nullopt;
        }
        if (digits == 0 || part > 255) return std::nullopt;
        value = (value << 8) | part;
        text.remove_prefix(digits);
    }
    if (!text.empty()) return std::nullopt;
    return Ipv4Address{value};
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view text) {
    std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto address = Ipv4Address::parse(text.substr(0, slash));
    std::string_view length = text.substr(slash + 1);
    if (!address || length.empty() || length.size() > 2) return std::nullopt;
    unsigned prefix = 0;
    for (char c : length) {
        if (c < '0' || c > '9') return std::nullopt;
        prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > 32) return std::nullopt;
    return Ipv4Cidr{*address, static_cast<std::uint8_t>(prefix)};
}

}  // namespace net

void kernel::fmt::Formatter<net::Ipv4Address>::format(Sink& sink, const Spec& spec, const net::Ipv4Address& address) {
    std::array<char, 15> text{};
    BufferSink buffer(text);
    format_to(buffer, "{}.{}.{}.{}", address.octet(0), address.octet(1), address.octet(2), address.octet(3));
    pad_and_write(sink, spec, buffer.view());
}

void kernel::fmt::Formatter<net::Ipv4Cidr>::format(Sink& sink, const Spec& spec, const net::Ipv4Cidr& cidr) {
    std::array<char, 18> text{};
    BufferSink buffer(text);
    format_to(buffer, "{}/{}", cidr.address, cidr.prefix_length);
    pad_and_write(sink, spec, buffer.view());
}
