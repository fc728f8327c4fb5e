#pragma once
// ICMP for IPv4 (RFC 792): echo, and the destination-unreachable errors we send.

#include <span>

#include "kernel/result.hpp"
#include "net/endian.hpp"
#include "net/wire/parse_error.hpp"

namespace net {

struct [[gnu::packed]] IcmpHeader {
    std::uint8_t type;
    std::uint8_t code;
    Big16 checksum;
    Big16 identifier;  // echo; "unused" in errors
    Big16 sequence;    // echo; next-hop MTU in "fragmentation needed"
};
static_assert(sizeof(IcmpHeader) == 8);

enum class IcmpType : std::uint8_t { EchoReply = 0, DestinationUnreachable = 3, EchoRequest = 8, TimeExceeded = 11 };
enum class UnreachableCode : std::uint8_t { Network = 0, Host = 1, Protocol = 2, Port = 3, FragmentationNeeded = 4 };

class IcmpMessage {
public:
    static constexpr std::size_t k_header_size = sizeof(IcmpHeader);

    // Checks the length and the checksum over the whole message.
    static kernel::Result<IcmpMessage, ParseError> parse(std::span<const std::byte> bytes);

    [[nodiscard]] std::uint8_t type() const { return m_header.type; }
    [[nodiscard]] std::uint8_t code() const { return m_header.code; }
    [[nodiscard]] std::uint16_t identifier() const { return m_header.identifier; }
    [[nodiscard]] std::uint16_t sequence() const { return m_header.sequence; }
    [[nodiscard]] std::span<const std::byte> data() const { return m_data; }

    // Writes header + data into out (k_header_size + data.size() bytes) with its checksum.
    static void emit(std::span<std::byte> out, IcmpType type, std::uint8_t code, std::uint16_t identifier,
                     std::uint16_t sequence, std::span<const std::byte> data);

private:
    IcmpMessage() = default;
    IcmpHeader m_header{};
    std::span<const std::byte> m_data;
};

}  // namespace net
