// DMA memory in the unikernel: whole frames from the frame allocator. Physical memory is
// identity mapped (write-back cached, which is coherent with virtio devices on x86) and
// there is no IOMMU, so a frame's CPU address and device address are its physical address.

#include <bit>
#include <cstring>

#include "kernel/memory.hpp"
#include "kernel/panic.hpp"
#include "virtio/dma.hpp"

namespace virtio {

namespace {

constexpr std::uint64_t k_frame = kernel::FrameAllocator::k_frame_size;

std::size_t frames_for(std::size_t size) { return (size + k_frame - 1) / k_frame; }

class KernelDma final : public DmaAllocator {
public:
    kernel::Result<DmaRegion, DmaError> allocate(std::size_t size, std::size_t alignment,
                                                 DmaContents contents) override {
        if (size == 0 || !std::has_single_bit(alignment)) return kernel::err(DmaError::BadRequest);
        std::size_t frames = frames_for(size);
        std::size_t align_frames = alignment <= k_frame ? 1 : alignment / k_frame;
        auto physical = kernel::memory::frames().allocate_contiguous(frames, align_frames);
        if (!physical) return kernel::err(DmaError::OutOfMemory);
        auto* cpu = reinterpret_cast<std::byte*>(physical.value());
        if (contents == DmaContents::Zeroed) std::memset(cpu, 0, frames * k_frame);
        return DmaRegion{cpu, physical.value(), frames * k_frame};
    }

    void release(const DmaRegion& region) override {
        auto freed = kernel::memory::frames().free_contiguous(region.device_address, frames_for(region.size));
        if (!freed)
            kernel::panic("dma: releasing {:#x} ({} bytes): {}", region.device_address, region.size,
                          kernel::to_string(freed.error()));
    }
};

}  // namespace

DmaAllocator& kernel_dma() {
    static KernelDma dma;
    return dma;
}

}  // namespace virtio
