#pragma once
// IPv4 fragmentation of datagrams we send (RFC 791 §3.2 "fragmentation", §2.3
// "Fragmentation"): a datagram longer than the link's MTU is cut into fragments whose
// payloads are multiples of 8 bytes (the last excepted), all with the datagram's
// identification, offsets in 8-byte units and more-fragments set on all but the last.
//
// Every fragment buffer is allocated before any is filled, so a pool that runs dry sends
// nothing rather than a datagram the receiver could never complete.
//
// The datagrams we build carry no IP options; fragments after the first get the 20-byte
// fixed header only (RFC 791 would copy the options whose "copied" flag is set).

#include <cstddef>
#include <span>

#include "kernel/result.hpp"
#include "netif/device.hpp"
#include "netif/packet_buffer.hpp"

namespace net {

enum class FragmentError {
    DontFragment,  // the header asks not to be fragmented
    MtuTooSmall,   // not even 8 bytes of payload fit beside the header
    NoBuffer,      // the device's pool cannot hold every fragment
};

// datagram: a whole IPv4 packet (validated header + payload). Returns the fragments as a
// list linked through netif::PacketBuffer::next, each holding one IPv4 packet of at most mtu
// bytes with head-room for the link header, in buffers from device.allocate_tx_buffer().
kernel::Result<netif::PacketBuffer*, FragmentError> fragment_ipv4(std::span<const std::byte> datagram, std::size_t mtu,
                                                                  netif::NetworkDevice& device);

// Returns every buffer of a list made by fragment_ipv4.
void release_list(netif::PacketBuffer* list);

}  // namespace net
