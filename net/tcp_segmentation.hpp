#pragma once
// Software segmentation and checksum completion: what a NIC does with a frame that asked
// for TCP segmentation offload (metadata.segment_size) or checksum offload
// (metadata.needs_checksum). Simulated devices use it to offer those offloads, so the
// stack's large sends are tested against the same cutting a device does.
//
// Cutting follows what devices and Linux's GSO do for TCP over IPv4: every piece gets the
// Ethernet, IPv4 and TCP headers of the original; its IPv4 total length, identification
// (the original's plus the piece's index) and header checksum, and its TCP sequence number
// (advanced by segment_size per piece) and checksum are its own; FIN and PSH stay only on
// the last piece, CWR only on the first.

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/result.hpp"

namespace net {

enum class SegmentationError {
    Malformed,        // not Ethernet + IPv4 + TCP with consistent lengths
    ScratchTooSmall,  // the scratch buffer cannot hold one piece
};

// Cuts `frame` (Ethernet + IPv4 + TCP) into pieces of at most segment_size payload bytes
// (segment_size 0: one piece, whatever its size), each written into `scratch` with full
// checksums and handed to emit(piece) before the next is built. Returns how many pieces.
template <typename Emit>
kernel::Result<std::size_t, SegmentationError> segment_tcp4(std::span<const std::byte> frame, std::size_t segment_size,
                                                            std::span<std::byte> scratch, Emit&& emit);

// Completes an offloaded checksum in place: the one's complement sum of everything from
// `start` to the end of the frame (the field at start + offset holds the pseudo-header sum,
// virtio 1.2 §5.1.6.2), stored at start + offset. False if the positions lie outside.
bool complete_checksum(std::span<std::byte> frame, std::size_t start, std::size_t offset);

namespace segmentation_detail {
struct Layout {
    std::size_t ip_offset = 14;
    std::size_t ip_header = 0;
    std::size_t tcp_header = 0;
    std::size_t payload = 0;  // bytes after the TCP header, up to the IPv4 total length
    [[nodiscard]] std::size_t headers() const { return ip_offset + ip_header + tcp_header; }
};
kernel::Result<Layout, SegmentationError> parse(std::span<const std::byte> frame);
// Writes piece `index` (payload [index * segment_size, + length)) into out, which must
// hold headers() + length bytes; returns its size.
std::size_t build_piece(std::span<const std::byte> frame, const Layout& layout, std::size_t segment_size,
                        std::size_t index, std::size_t length, bool last, std::span<std::byte> out);
}  // namespace segmentation_detail

template <typename Emit>
kernel::Result<std::size_t, SegmentationError> segment_tcp4(std::span<const std::byte> frame, std::size_t segment_size,
                                                            std::span<std::byte> scratch, Emit&& emit) {
    auto layout = TRY(segmentation_detail::parse(frame));
    std::size_t step = segment_size == 0 || segment_size > layout.payload ? layout.payload : segment_size;
    std::size_t pieces = step == 0 ? 1 : (layout.payload + step - 1) / step;
    if (scratch.size() < layout.headers() + step) return kernel::err(SegmentationError::ScratchTooSmall);
    for (std::size_t i = 0; i < pieces; ++i) {
        std::size_t length = i + 1 < pieces ? step : layout.payload - i * step;
        std::size_t size = segmentation_detail::build_piece(frame, layout, step, i, length, i + 1 == pieces, scratch);
        emit(std::span<const std::byte>(scratch.first(size)));
    }
    return pieces;
}

}  // namespace net
