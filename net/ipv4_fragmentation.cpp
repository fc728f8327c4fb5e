#include "net/ipv4_fragmentation.hpp"

#include <cstring>

#include "net/checksum.hpp"
#include "net/wire/ipv4.hpp"

namespace net {

void release_list(netif::PacketBuffer* list) {
    while (list != nullptr) {
        netif::PacketBuffer* next = list->next;
        netif::release_buffer(list);
        list = next;
    }
}

kernel::Result<netif::PacketBuffer*, FragmentError> fragment_ipv4(std::span<const std::byte> datagram, std::size_t mtu,
                                                                  netif::NetworkDevice& device) {
    Ipv4Header original;
    std::memcpy(&original, datagram.data(), sizeof original);
    std::size_t first_header = std::size_t{original.version_ihl & 0x0Fu} * 4;
    std::uint16_t flags = original.flags_fragment;
    if ((flags & Ipv4Packet::k_dont_fragment) != 0) return kernel::err(FragmentError::DontFragment);
    std::span<const std::byte> payload = datagram.subspan(first_header);
    // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes.
    std::size_t first_chunk = mtu > first_header ? ((mtu - first_header) & ~std::size_t{7}) : 0;
    std::size_t chunk = mtu > Ipv4Packet::k_min_header ? ((mtu - Ipv4Packet::k_min_header) & ~std::size_t{7}) : 0;
    if (first_chunk == 0 || chunk == 0) return kernel::err(FragmentError::MtuTooSmall);
    std::size_t count = payload.size() <= first_chunk ? 1 : 1 + (payload.size() - first_chunk + chunk - 1) / chunk;

    // All buffers first: nothing is sent unless every fragment can be.
    netif::PacketBuffer* head = nullptr;
    netif::PacketBuffer** tail = &head;
    for (std::size_t i = 0; i < count; ++i) {
        netif::PacketBuffer* buffer = device.allocate_tx_buffer();
        if (buffer == nullptr || !buffer->resize(mtu)) {
            netif::release_buffer(buffer);
            release_list(head);
            return kernel::err(FragmentError::NoBuffer);
        }
        *tail = buffer;
        tail = &buffer->next;
    }

    std::size_t offset = 0;
    std::size_t original_offset = std::size_t{flags & 0x1FFFu} * 8;
    bool original_more = (flags & Ipv4Packet::k_more_fragments) != 0;
    for (netif::PacketBuffer* fragment = head; fragment != nullptr; fragment = fragment->next) {
        std::size_t header_length = offset == 0 ? first_header : Ipv4Packet::k_min_header;
        std::size_t length = std::min(offset == 0 ? first_chunk : chunk, payload.size() - offset);
        bool more = offset + length < payload.size() || original_more;
        (void)fragment->resize(header_length + length);  // no larger than the mtu it was sized to
        std::memcpy(fragment->data(), datagram.data(), header_length);
        std::memcpy(fragment->data() + header_length, payload.data() + offset, length);
        Ipv4Header header = original;
        header.version_ihl = static_cast<std::uint8_t>(0x40 | (header_length / 4));
        header.total_length = static_cast<std::uint16_t>(header_length + length);
        header.flags_fragment =
            static_cast<std::uint16_t>((more ? Ipv4Packet::k_more_fragments : 0) | ((original_offset + offset) / 8));
        header.checksum = 0;
        std::memcpy(fragment->data(), &header, sizeof header);
        header.checksum = internet_checksum(std::span<const std::byte>(fragment->data(), header_length));
        std::memcpy(fragment->data(), &header, sizeof header);
        offset += length;
    }
    return head;
}

}  // namespace net
