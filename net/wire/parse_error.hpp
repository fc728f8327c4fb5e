#pragma once
// Why a packet was dropped. Every parser returns one of these instead of reading out of
// bounds; the stack counts them per reason.

namespace net {

enum class ParseError {
    Truncated,        // shorter than its header or than its own length field says
    BadVersion,       // not the protocol version we speak
    BadHeaderLength,  // a header length field that is impossible
    BadTotalLength,   // a total length field that disagrees with the buffer
    BadChecksum,
    Unsupported,  // a well-formed packet of a kind we do not handle
    Malformed,    // some other inconsistency (e.g. ARP with odd address sizes)
};

const char* to_string(ParseError error);

}  // namespace net
