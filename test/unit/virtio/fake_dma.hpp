#pragma once
// DMA memory for host tests: aligned heap blocks whose device addresses live in a range
// of their own, far from any CPU address. The simulated device reaches memory only
// through translate(), so a driver that hands the device a CPU address (or the CPU a
// device address) fails loudly instead of working by accident.

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>

#include "virtio/dma.hpp"

namespace test {

class FakeDma final : public virtio::DmaAllocator {
public:
    // Device addresses start here: above anything a host heap hands out, and not a
    // multiple of any large power of two, so an offset mix-up shows.
    static constexpr std::uint64_t k_device_base = 0x0000'7a00'0000'0000;

    FakeDma() = default;
    FakeDma(const FakeDma&) = delete;
    FakeDma& operator=(const FakeDma&) = delete;
    ~FakeDma() {
        for (auto& [address, block] : m_blocks) std::free(block.cpu);
    }

    kernel::Result<virtio::DmaRegion, virtio::DmaError> allocate(std::size_t size, std::size_t alignment,
                                                                 virtio::DmaContents contents) override {
        ++allocations;
        if (size == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0)
            return kernel::err(virtio::DmaError::BadRequest);
        if (m_fail_after && *m_fail_after == 0) return kernel::err(virtio::DmaError::OutOfMemory);
        if (m_fail_after) --*m_fail_after;
        std::size_t rounded = (size + alignment - 1) / alignment * alignment;
        auto* cpu = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
        if (cpu == nullptr) return kernel::err(virtio::DmaError::OutOfMemory);
        // Memory that may hold anything holds garbage here, so code that counts on zeroes fails.
        std::memset(cpu, contents == virtio::DmaContents::Zeroed ? 0 : 0xA5, rounded);
        // Leave a gap between blocks, so running off one block's end does not land in the next.
        m_next_device = (m_next_device + alignment - 1) / alignment * alignment;
        std::uint64_t device = m_next_device;
        m_next_device += rounded + 4096;
        m_blocks[device] = Block{cpu, rounded};
        return virtio::DmaRegion{cpu, device, rounded};
    }

    void release(const virtio::DmaRegion& region) override {
        auto found = m_blocks.find(region.device_address);
        if (found == m_blocks.end() || found->second.cpu != region.cpu || found->second.size != region.size)
            throw std::logic_error("FakeDma: release of a region it did not allocate");
        std::free(found->second.cpu);
        m_blocks.erase(found);
        ++releases;
    }

    // Where the device's [address, address + length) lives for the CPU, or nullptr if the
    // range is not inside one allocated block.
    [[nodiscard]] std::byte* translate(std::uint64_t address, std::uint64_t length) const {
        auto after = m_blocks.upper_bound(address);
        if (after == m_blocks.begin()) return nullptr;
        const auto& [base, block] = *std::prev(after);
        if (address - base > block.size || length > block.size - (address - base)) return nullptr;
        return block.cpu + (address - base);
    }

    // Host memory behind device addresses the test chooses (below k_device_base), e.g. the
    // made-up physical range of a frame allocator whose frames go to a device.
    void map_external(std::uint64_t device_address, std::size_t size) {
        if (device_address + size > k_device_base) throw std::logic_error("FakeDma: external range overlaps");
        auto* cpu = static_cast<std::byte*>(std::calloc(size, 1));
        if (cpu == nullptr) throw std::bad_alloc();
        m_blocks[device_address] = Block{cpu, size};
    }

    // The next `count` allocations succeed, later ones fail.
    void fail_after(std::size_t count) { m_fail_after = count; }
    [[nodiscard]] std::size_t live_regions() const { return m_blocks.size(); }

    std::size_t allocations = 0;
    std::size_t releases = 0;

private:
    struct Block {
        std::byte* cpu;
        std::size_t size;
    };
    std::map<std::uint64_t, Block> m_blocks;
    std::uint64_t m_next_device = k_device_base + 0x1230;
    std::optional<std::size_t> m_fail_after;
};

}  // namespace test
