#!/usr/bin/env python3
"""Writes the seed corpus for frame_fuzz into test/fuzz/corpus/frames/.

Each seed is what frame_fuzz.cpp reads: frames, each behind a 2-byte big-endian length
(top bit: "repair the IPv4 checksum"; the seeds' checksums are right, so it is clear).
The fuzzed interface is 02:00:00:00:00:01 at 10.0.0.2/24, gateway 10.0.0.1, with a UDP
socket on port 7; a second interface (02:00:00:00:00:02) runs DHCP.

    python3 test/fuzz/make_corpus.py        # rewrites the directory
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "frames")

US_MAC = bytes([2, 0, 0, 0, 0, 1])
PEER_MAC = bytes([2, 0, 0, 0, 0, 2])
HOST_MAC = bytes([2, 0, 0, 0, 0, 0x10])
BROADCAST_MAC = b"\xff" * 6
US = bytes([10, 0, 0, 2])
HOST = bytes([10, 0, 0, 1])
OTHER = bytes([10, 0, 0, 9])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(payload, ether_type=0x0800, destination=US_MAC, source=HOST_MAC):
    return destination + source + struct.pack("!H", ether_type) + payload


def ipv4(payload, protocol, source=HOST, destination=US, ident=1, offset=0, more=False, dont=False, options=b""):
    header_length = 20 + len(options)
    flags = (0x4000 if dont else 0) | (0x2000 if more else 0) | (offset // 8)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | header_length // 4, 0, header_length + len(payload), ident, flags,
                         64, protocol, 0, source, destination) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp(payload, source_port, destination_port, source=HOST, destination=US):
    length = 8 + len(payload)
    pseudo = source + destination + struct.pack("!BBH", 0, 17, length)
    header = struct.pack("!HHHH", source_port, destination_port, length, 0)
    sum_ = checksum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", source_port, destination_port, length, sum_) + payload


def icmp_echo(data, ident=1, sequence=1, kind=8):
    header = struct.pack("!BBHHH", kind, 0, 0, ident, sequence)
    return struct.pack("!BBHHH", kind, 0, checksum(header + data), ident, sequence) + data


def tcp_syn(source_port, destination_port):
    header = struct.pack("!HHIIBBHHH", source_port, destination_port, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = HOST + US + struct.pack("!BBH", 0, 6, len(header))
    return header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]


def arp(operation, sender_mac, sender_ip, target_mac, target_ip):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, operation, sender_mac, sender_ip, target_mac, target_ip)


def dhcp(message_type, xid=0x12345678, your=bytes([10, 0, 0, 50])):
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0, b"\0" * 4, your, HOST, b"\0" * 4,
                        PEER_MAC + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    options = (b"\x63\x82\x53\x63" + bytes([53, 1, message_type]) + bytes([54, 4]) + HOST +
               bytes([51, 4]) + struct.pack("!I", 3600) + bytes([1, 4, 255, 255, 255, 0]) + bytes([3, 4]) + HOST +
               b"\xff")
    return fixed + options


def fragments(payload, protocol, size, ident=5, source=HOST, destination=US):
    """IPv4 fragments of one datagram, size bytes of payload each (a multiple of 8)."""
    out = []
    for at in range(0, len(payload), size):
        chunk = payload[at:at + size]
        out.append(ipv4(chunk, protocol, source=source, destination=destination, ident=ident, offset=at,
                        more=at + size < len(payload)))
    return out


def seed(*frames):
    return b"".join(struct.pack("!H", len(f)) + f for f in frames)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    seeds = {}
    request = arp(1, HOST_MAC, HOST, b"\0" * 6, US)
    seeds["arp_request"] = seed(ethernet(request, 0x0806, BROADCAST_MAC))
    seeds["arp_reply"] = seed(ethernet(arp(2, HOST_MAC, HOST, US_MAC, US), 0x0806))
    seeds["arp_then_ping"] = seed(ethernet(request, 0x0806, BROADCAST_MAC),
                                  ethernet(ipv4(icmp_echo(b"abcdefgh" * 4), 1)))
    seeds["ping"] = seed(ethernet(ipv4(icmp_echo(b"ping"), 1)))
    seeds["ping_broadcast"] = seed(ethernet(ipv4(icmp_echo(b"x"), 1, destination=b"\xff" * 4), 0x0800, BROADCAST_MAC))
    seeds["ping_options"] = seed(ethernet(ipv4(icmp_echo(b"opt"), 1, options=b"\x01\x01\x01\x00")))
    seeds["udp_echo"] = seed(ethernet(ipv4(udp(b"hello", 4000, 7), 17)))
    seeds["udp_closed_port"] = seed(ethernet(ipv4(udp(b"nobody", 4000, 9999), 17)))
    seeds["udp_zero_checksum"] = seed(ethernet(ipv4(struct.pack("!HHHH", 4000, 7, 12, 0) + b"zero", 17)))
    seeds["unknown_protocol"] = seed(ethernet(ipv4(b"\0" * 16, 99)))
    seeds["tcp_syn"] = seed(ethernet(ipv4(tcp_syn(40000, 80), 6)))
    seeds["not_for_us"] = seed(ethernet(ipv4(udp(b"x", 1, 7, destination=OTHER), 17, destination=OTHER)))
    seeds["ipv6_ethertype"] = seed(ethernet(b"\x60" + b"\0" * 39, 0x86DD))
    offer = ethernet(ipv4(udp(dhcp(2), 67, 68, destination=b"\xff" * 4), 17, destination=b"\xff" * 4), 0x0800,
                     BROADCAST_MAC)
    ack = ethernet(ipv4(udp(dhcp(5), 67, 68, destination=b"\xff" * 4), 17, destination=b"\xff" * 4), 0x0800,
                   BROADCAST_MAC)
    seeds["dhcp_offer"] = seed(offer)
    seeds["dhcp_offer_ack"] = seed(offer, ack)
    seeds["dhcp_nak"] = seed(ethernet(ipv4(udp(dhcp(6), 67, 68, destination=b"\xff" * 4), 17,
                                           destination=b"\xff" * 4), 0x0800, BROADCAST_MAC))

    data = bytes(range(256)) * 12  # 3072 bytes
    big_udp = fragments(udp(data, 4000, 7), 17, 1480)
    big_ping = fragments(icmp_echo(data), 1, 1480, ident=6)
    seeds["frag_udp_in_order"] = seed(*[ethernet(f) for f in big_udp])
    seeds["frag_udp_reverse"] = seed(*[ethernet(f) for f in reversed(big_udp)])
    seeds["frag_udp_middle_first"] = seed(*[ethernet(big_udp[i]) for i in (1, 2, 0)])
    seeds["frag_udp_duplicate"] = seed(*[ethernet(big_udp[i]) for i in (0, 0, 1, 1, 2)])
    seeds["frag_udp_missing_last"] = seed(*[ethernet(f) for f in big_udp[:-1]])
    seeds["frag_udp_missing_first"] = seed(*[ethernet(f) for f in big_udp[1:]])
    seeds["frag_ping"] = seed(*[ethernet(f) for f in big_ping])
    seeds["frag_ping_small"] = seed(*[ethernet(f) for f in fragments(icmp_echo(b"0123456789" * 5), 1, 16, ident=7)])
    seeds["frag_interleaved"] = seed(*[ethernet(f) for pair in zip(big_udp, big_ping) for f in pair])
    seeds["frag_broadcast"] = seed(*[ethernet(f, 0x0800, BROADCAST_MAC)
                                     for f in fragments(udp(data[:2000], 68, 7), 17, 1000, destination=b"\xff" * 4)])
    body = udp(data, 4000, 7)
    seeds["frag_overlap_same"] = seed(ethernet(ipv4(body[:1480], 17, ident=9, more=True)),
                                      ethernet(ipv4(body[1000:2480], 17, ident=9, offset=1000, more=True)),
                                      ethernet(ipv4(body[2480:], 17, ident=9, offset=2480)))
    other = bytes(255 - b for b in body)
    seeds["frag_overlap_different"] = seed(ethernet(ipv4(body[:1480], 17, ident=9, more=True)),
                                           ethernet(ipv4(other[1000:2480], 17, ident=9, offset=1000, more=True)),
                                           ethernet(ipv4(body[2480:], 17, ident=9, offset=2480)))
    seeds["frag_two_lasts"] = seed(ethernet(ipv4(body[2480:], 17, ident=9, offset=2480)),
                                   ethernet(ipv4(body[2480:2800], 17, ident=9, offset=2480)))
    seeds["frag_ping_of_death"] = seed(ethernet(ipv4(body[:1480], 17, ident=10, more=True)),
                                       ethernet(ipv4(body[:1000], 17, ident=10, offset=65000)))
    seeds["frag_bad_length"] = seed(ethernet(ipv4(body[:1001], 17, ident=11, more=True)))
    seeds["frag_empty_last"] = seed(ethernet(ipv4(body[:1480], 17, ident=12, more=True)),
                                    ethernet(ipv4(b"", 17, ident=12, offset=1480)))
    seeds["frag_table_full"] = seed(*[ethernet(ipv4(body[:8], 17, ident=100 + i, more=True)) for i in range(5)])
    seeds["frag_tcp_syn"] = seed(ethernet(ipv4(tcp_syn(40000, 80)[:8], 6, ident=13, more=True)),
                                 ethernet(ipv4(tcp_syn(40000, 80)[8:], 6, ident=13, offset=8)))
    seeds["frag_then_arp"] = seed(*[ethernet(f) for f in big_udp[:2]], ethernet(request, 0x0806, BROADCAST_MAC),
                                  ethernet(big_udp[2]))
    seeds["mixed"] = seed(ethernet(request, 0x0806, BROADCAST_MAC), ethernet(ipv4(icmp_echo(b"ping"), 1)),
                          ethernet(ipv4(udp(b"hello", 4000, 7), 17)), offer, *[ethernet(f) for f in big_ping])
    # The checksum-repair bit: a header whose checksum is wrong, repaired by the harness.
    broken = bytearray(ethernet(big_udp[0]))
    broken[24:26] = b"\0\0"
    seeds["frag_repair_bit"] = (struct.pack("!H", 0x8000 | len(broken)) + bytes(broken) +
                                b"".join(struct.pack("!H", len(ethernet(f))) + ethernet(f) for f in big_udp[1:]))
    for name, content in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(content)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
