#include "netif/mac_address.hpp"

void kernel::fmt::Formatter<netif::MacAddress>::format(Sink& sink, const Spec& spec, const netif::MacAddress& mac) {
    std::array<char, 17> text{};
    BufferSink buffer(text);
    format_to(buffer, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac.bytes[0], mac.bytes[1], mac.bytes[2],
              mac.bytes[3], mac.bytes[4], mac.bytes[5]);
    pad_and_write(sink, spec, buffer.view());
}
