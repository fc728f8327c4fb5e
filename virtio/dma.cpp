#include "virtio/dma.hpp"

namespace virtio {

const char* to_string(DmaError error) {
    switch (error) {
        case DmaError::OutOfMemory: return "out of DMA memory";
        case DmaError::BadRequest: return "bad DMA request (size 0 or alignment not a power of two)";
    }
    return "unknown DMA error";
}

kernel::Result<DmaBuffer, DmaError> DmaBuffer::allocate(DmaAllocator& allocator, std::size_t size,
                                                        std::size_t alignment, DmaContents contents) {
    DmaRegion region = TRY(allocator.allocate(size, alignment, contents));
    return DmaBuffer(allocator, region);
}

}  // namespace virtio
