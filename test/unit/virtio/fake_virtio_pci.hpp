#pragma once
// Virtio PCI devices for host tests, as far as the transports see them: the registers of
// the modern common configuration (virtio 1.2 §4.1.4.3) and of the legacy I/O BAR
// (§4.1.4.8), with the behaviour a driver relies on (feature selects, FEATURES_OK that
// sticks or not, queue registers per queue, NO_VECTOR for entries the device cannot use),
// plus a DMA allocator with low device addresses for the legacy page number.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "test/unit/pci/fake_io_window.hpp"
#include "virtio/dma.hpp"
#include "virtio/features.hpp"
#include "virtio/pci_transport.hpp"
#include "virtio/registers.hpp"

namespace test {

struct FakeQueue {
    std::uint16_t max_size = 0;
    std::uint16_t size = 0;
    std::uint16_t vector = virtio::k_no_vector;
    std::uint16_t enable = 0;
    std::uint16_t notify_off = 0;
    std::uint64_t desc = 0;
    std::uint64_t driver = 0;
    std::uint64_t device = 0;
    std::uint32_t legacy_page = 0;
};

class FakeModernDevice {
public:
    FakeModernDevice(std::uint64_t features, std::uint16_t queues, std::uint16_t max_size)
        : offered(features), queue_state(queues) {
        for (std::uint16_t i = 0; i < queues; ++i) {
            queue_state[i].max_size = max_size;
            queue_state[i].notify_off = i;
        }
        common.on_read = [this](std::size_t offset, unsigned width, std::uint32_t& value) {
            return read_common(offset, width, value);
        };
        common.on_write = [this](std::size_t offset, unsigned, std::uint32_t value) {
            return write_common(offset, value);
        };
        isr.on_read = [this](std::size_t, unsigned, std::uint32_t& value) {
            value = isr_pending;
            isr_pending = 0;  // §4.1.4.5: reading clears
            return true;
        };
    }

    [[nodiscard]] virtio::ModernWindows windows() { return {&common, &notify, notify_multiplier, &isr, &config}; }
    // Status values written, in order.
    [[nodiscard]] std::vector<std::uint8_t> statuses() const {
        std::vector<std::uint8_t> out;
        for (const auto& write : common.writes) {
            if (write.offset == virtio::common::k_device_status.offset)
                out.push_back(static_cast<std::uint8_t>(write.value));
        }
        return out;
    }

    std::uint64_t offered;
    std::uint64_t accepted = 0;  // what the driver wrote
    std::vector<FakeQueue> queue_state;
    std::uint8_t status = 0;
    bool accept_features = true;  // FEATURES_OK sticks
    bool reset_hangs = false;     // the status never reads 0 after a reset
    std::uint16_t vectors = 4;    // MSI-X entries the device can use
    std::uint16_t config_vector = virtio::k_no_vector;
    std::uint32_t notify_multiplier = 4;
    std::uint8_t isr_pending = 0;
    FakeIoWindow common{virtio::common::k_minimum_length};
    FakeIoWindow notify{0x100};
    FakeIoWindow isr{1};
    FakeIoWindow config{0x20};

private:
    FakeQueue* selected() {
        std::uint16_t index = static_cast<std::uint16_t>(common.get(virtio::common::k_queue_select.offset, 2));
        return index < queue_state.size() ? &queue_state[index] : nullptr;
    }

    bool read_common(std::size_t offset, unsigned, std::uint32_t& value) {
        namespace c = virtio::common;
        FakeQueue* queue = selected();
        if (offset == c::k_device_feature.offset) {
            value = common.get(c::k_device_feature_select.offset, 4) == 0   ? static_cast<std::uint32_t>(offered)
                    : common.get(c::k_device_feature_select.offset, 4) == 1 ? static_cast<std::uint32_t>(offered >> 32)
                                                                            : 0;
        } else if (offset == c::k_device_status.offset) {
            value = reset_hangs && status == 0 ? 1u : status;
        } else if (offset == c::k_num_queues.offset) {
            value = static_cast<std::uint32_t>(queue_state.size());
        } else if (offset == c::k_config_msix_vector.offset) {
            value = config_vector;
        } else if (offset == c::k_queue_size.offset) {
            value = queue != nullptr ? (queue->size != 0 ? queue->size : queue->max_size) : 0;
        } else if (offset == c::k_queue_msix_vector.offset) {
            value = queue != nullptr ? queue->vector : virtio::k_no_vector;
        } else if (offset == c::k_queue_notify_off.offset) {
            value = queue != nullptr ? queue->notify_off : 0;
        } else {
            return false;
        }
        return true;
    }

    bool write_common(std::size_t offset, std::uint32_t value) {
        namespace c = virtio::common;
        FakeQueue* queue = selected();
        auto set_half = [](std::uint64_t& field, bool high, std::uint32_t half) {
            field = high ? (field & 0xFFFF'FFFF) | std::uint64_t{half} << 32 : (field & ~0xFFFF'FFFFull) | half;
        };
        if (offset == c::k_driver_feature.offset) {
            set_half(accepted, common.get(c::k_driver_feature_select.offset, 4) == 1, value);
        } else if (offset == c::k_device_status.offset) {
            auto written = static_cast<std::uint8_t>(value);
            if (written == 0) {
                for (auto& q : queue_state) q = {q.max_size, 0, virtio::k_no_vector, 0, q.notify_off, 0, 0, 0, 0};
                config_vector = virtio::k_no_vector;
            }
            if (!accept_features) written = static_cast<std::uint8_t>(written & ~virtio::status::k_features_ok);
            status = written;
        } else if (offset == c::k_config_msix_vector.offset) {
            config_vector = value < vectors ? static_cast<std::uint16_t>(value) : virtio::k_no_vector;
        } else if (queue != nullptr && offset == c::k_queue_size.offset) {
            queue->size = static_cast<std::uint16_t>(value);
        } else if (queue != nullptr && offset == c::k_queue_msix_vector.offset) {
            queue->vector = value < vectors ? static_cast<std::uint16_t>(value) : virtio::k_no_vector;
        } else if (queue != nullptr && offset == c::k_queue_enable.offset) {
            queue->enable = static_cast<std::uint16_t>(value);
        } else if (queue != nullptr && offset >= c::k_queue_desc_low.offset &&
                   offset <= c::k_queue_device_high.offset) {
            std::size_t field = (offset - c::k_queue_desc_low.offset) / 8;
            bool high = (offset - c::k_queue_desc_low.offset) % 8 != 0;
            set_half(field == 0 ? queue->desc : field == 1 ? queue->driver : queue->device, high, value);
        } else {
            return false;
        }
        return true;
    }
};

class FakeLegacyDevice {
public:
    FakeLegacyDevice(std::uint32_t features, std::uint16_t queues, std::uint16_t size)
        : offered(features), queue_state(queues) {
        for (auto& queue : queue_state) queue.max_size = size;
        registers.on_read = [this](std::size_t offset, unsigned, std::uint32_t& value) {
            namespace l = virtio::legacy;
            FakeQueue* queue = selected();
            if (offset == l::k_device_features.offset) {
                value = offered;
            } else if (offset == l::k_queue_size.offset) {
                value = queue != nullptr ? queue->max_size : 0;
            } else if (offset == l::k_device_status.offset) {
                value = status;
            } else if (offset == l::k_queue_address.offset) {
                value = queue != nullptr ? queue->legacy_page : 0;
            } else {
                return false;
            }
            return true;
        };
        registers.on_write = [this](std::size_t offset, unsigned, std::uint32_t value) {
            namespace l = virtio::legacy;
            FakeQueue* queue = selected();
            if (offset == l::k_device_status.offset) {
                status = static_cast<std::uint8_t>(value);
            } else if (offset == l::k_driver_features.offset) {
                accepted = value;
            } else if (queue != nullptr && offset == l::k_queue_address.offset) {
                queue->legacy_page = value;
            } else if (offset == l::k_queue_notify.offset) {
                notified.push_back(static_cast<std::uint16_t>(value));
            } else if (msix && offset == l::k_queue_msix_vector.offset) {
                if (queue != nullptr) queue->vector = value < vectors ? static_cast<std::uint16_t>(value) : 0xFFFF;
                registers.put(offset, 2, queue != nullptr ? queue->vector : 0xFFFF);
                return true;
            } else {
                return false;
            }
            return false;  // also keep the bytes, so reads of plain registers see them
        };
    }

    std::uint32_t offered;
    std::uint32_t accepted = 0;
    std::vector<FakeQueue> queue_state;
    std::uint8_t status = 0;
    bool msix = false;  // the function's MSI-X is on: registers at 0x14, config at 0x18
    std::uint16_t vectors = 4;
    std::vector<std::uint16_t> notified;
    FakeIoWindow registers{0x40};

private:
    FakeQueue* selected() {
        auto index = static_cast<std::uint16_t>(registers.get(virtio::legacy::k_queue_select.offset, 2));
        return index < queue_state.size() ? &queue_state[index] : nullptr;
    }
};

// DMA memory whose device addresses sit low, where the legacy interface's 32-bit page
// number reaches them. Device address = offset from a base, per allocation.
class LowDma final : public virtio::DmaAllocator {
public:
    ~LowDma() {
        for (void* block : m_blocks) std::free(block);
    }
    kernel::Result<virtio::DmaRegion, virtio::DmaError> allocate(std::size_t size, std::size_t alignment,
                                                                 virtio::DmaContents contents) override {
        std::size_t rounded = (size + alignment - 1) / alignment * alignment;
        auto* cpu = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
        if (cpu == nullptr) return kernel::err(virtio::DmaError::OutOfMemory);
        std::memset(cpu, contents == virtio::DmaContents::Zeroed ? 0 : 0xA5, rounded);
        m_blocks.push_back(cpu);
        m_next = (m_next + alignment - 1) / alignment * alignment;
        std::uint64_t device = m_next;
        m_next += rounded;
        return virtio::DmaRegion{cpu, device, rounded};
    }
    void release(const virtio::DmaRegion&) override {}

private:
    std::vector<void*> m_blocks;
    std::uint64_t m_next = 0x10'0000;
};

}  // namespace test
