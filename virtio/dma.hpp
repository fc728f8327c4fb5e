#pragma once
// Memory that a device reads and writes by DMA: every region has an address for the CPU
// and one for the device. They are equal in the unikernel (physical memory is identity
// mapped and there is no IOMMU) but kept apart in the types all the same: the host tests
// hand out device addresses far from the CPU's, so code that confuses the two fails there.
//
// The allocator is passed in (STYLE rule 2): the kernel's comes from dma_kernel.cpp, the
// tests' from test/unit/virtio/fake_dma.hpp.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernel/result.hpp"

namespace virtio {

enum class DmaError {
    OutOfMemory,
    BadRequest,  // size 0, or an alignment that is not a power of two
};
const char* to_string(DmaError error);

// What a new region holds. Rings and tables must start zeroed; packet buffers need not,
// since the device writes what the driver reads and the driver sends only what it wrote.
// Leaving them untouched keeps their pages out of the boot: where guest memory is backed
// by huge pages on demand, each fresh 2 MiB the kernel touches costs the host one
// (docs/kvm-on-this-host.md).
enum class DmaContents : std::uint8_t { Zeroed, Unspecified };

struct DmaRegion {
    std::byte* cpu = nullptr;
    std::uint64_t device_address = 0;
    std::size_t size = 0;

    [[nodiscard]] bool valid() const { return cpu != nullptr; }
    // The device's address of the byte `offset` into the region.
    [[nodiscard]] std::uint64_t device_address_at(std::size_t offset) const { return device_address + offset; }
};

class DmaAllocator {
public:
    // At least `size` bytes whose CPU and device addresses are both aligned to `alignment`
    // (a power of two), zeroed or not as `contents` says. The memory stays put until
    // released.
    virtual kernel::Result<DmaRegion, DmaError> allocate(std::size_t size, std::size_t alignment,
                                                         DmaContents contents) = 0;
    // Gives back a region that allocate() returned; releasing anything else is a bug the
    // implementation may panic on.
    virtual void release(const DmaRegion& region) = 0;

protected:
    DmaAllocator() = default;
    DmaAllocator(const DmaAllocator&) = default;
    DmaAllocator& operator=(const DmaAllocator&) = default;
    ~DmaAllocator() = default;
};

// Owns one region and releases it when it goes: what a driver keeps for memory it shares
// with a device for its whole life (rings, tables, buffer pools).
class DmaBuffer {
public:
    DmaBuffer() = default;
    static kernel::Result<DmaBuffer, DmaError> allocate(DmaAllocator& allocator, std::size_t size,
                                                        std::size_t alignment,
                                                        DmaContents contents = DmaContents::Zeroed);
    DmaBuffer(DmaBuffer&& other) noexcept
        : m_allocator(std::exchange(other.m_allocator, nullptr)), m_region(std::exchange(other.m_region, {})) {}
    DmaBuffer& operator=(DmaBuffer&& other) noexcept {
        if (this != &other) {
            reset();
            m_allocator = std::exchange(other.m_allocator, nullptr);
            m_region = std::exchange(other.m_region, {});
        }
        return *this;
    }
    DmaBuffer(const DmaBuffer&) = delete;
    DmaBuffer& operator=(const DmaBuffer&) = delete;
    ~DmaBuffer() { reset(); }

    // Releases the region now (if any).
    void reset() {
        if (m_allocator != nullptr) m_allocator->release(m_region);
        m_allocator = nullptr;
        m_region = {};
    }
    [[nodiscard]] const DmaRegion& region() const { return m_region; }
    [[nodiscard]] std::byte* cpu() const { return m_region.cpu; }
    [[nodiscard]] std::uint64_t device_address() const { return m_region.device_address; }
    [[nodiscard]] std::uint64_t device_address_at(std::size_t offset) const {
        return m_region.device_address_at(offset);
    }
    [[nodiscard]] std::size_t size() const { return m_region.size; }

private:
    DmaBuffer(DmaAllocator& allocator, const DmaRegion& region) : m_allocator(&allocator), m_region(region) {}

    DmaAllocator* m_allocator = nullptr;
    DmaRegion m_region;
};

// The unikernel's allocator: whole frames from kernel::memory::frames(), identity mapped.
// Defined in dma_kernel.cpp, which only the kernel build has.
DmaAllocator& kernel_dma();

}  // namespace virtio
