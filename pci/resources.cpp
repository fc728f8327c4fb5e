#include "pci/resources.hpp"

#include <algorithm>
#include <array>
#include <new>

#include "pci/registers.hpp"

namespace pci {
namespace {

enum class Space : std::uint8_t { Memory, Io };

// PCI-to-PCI Bridge Architecture 1.2 §3.2.5.8: memory windows in 1 MiB units; §3.2.5.6:
// I/O windows in 4 KiB units.
constexpr std::uint64_t k_memory_granularity = 1u << 20;
constexpr std::uint64_t k_io_granularity = 1u << 12;
constexpr std::uint64_t k_saturated = ~std::uint64_t{0};

constexpr std::uint64_t granularity(Space space) {
    return space == Space::Memory ? k_memory_granularity : k_io_granularity;
}

// Rounds up to a multiple of a power of two; saturates instead of wrapping, so that an
// absurd BAR size makes its allocation fail rather than come out small.
constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
    if (value > k_saturated - (alignment - 1)) return k_saturated;
    return (value + alignment - 1) & ~(alignment - 1);
}

constexpr std::uint64_t add(std::uint64_t a, std::uint64_t b) { return a > k_saturated - b ? k_saturated : a + b; }

// The windows a bridge's registers describe; empty when closed (base above limit) or at 0,
// which is where registers the firmware never wrote point, and where no window belongs.
AddressRange memory_window(ConfigSpace& config, Address address) {
    std::uint64_t base = std::uint64_t{config.read(address, regs::k_memory_base) & 0xFFF0u} << 16;
    std::uint64_t limit = (std::uint64_t{config.read(address, regs::k_memory_limit) & 0xFFF0u} << 16) | 0xFFFFF;
    if (base == 0 || base > limit) return {};
    return {base, limit + 1};
}

AddressRange prefetchable_window(ConfigSpace& config, Address address) {
    std::uint16_t base_low = config.read(address, regs::k_prefetchable_base);
    std::uint16_t limit_low = config.read(address, regs::k_prefetchable_limit);
    std::uint64_t base = std::uint64_t{base_low & 0xFFF0u} << 16;
    std::uint64_t limit = (std::uint64_t{limit_low & 0xFFF0u} << 16) | 0xFFFFF;
    if ((base_low & 0xF) == 0x1) {  // §3.2.5.9: 64-bit addressing
        base |= std::uint64_t{config.read(address, regs::k_prefetchable_base_upper)} << 32;
        limit |= std::uint64_t{config.read(address, regs::k_prefetchable_limit_upper)} << 32;
    }
    if (base == 0 || base > limit) return {};
    return {base, limit + 1};
}

AddressRange io_window(ConfigSpace& config, Address address) {
    std::uint8_t base_low = config.read(address, regs::k_io_base);
    std::uint8_t limit_low = config.read(address, regs::k_io_limit);
    std::uint64_t base = std::uint64_t{base_low & 0xF0u} << 8;
    std::uint64_t limit = (std::uint64_t{limit_low & 0xF0u} << 8) | 0xFFF;
    if ((base_low & 0xF) == 0x1) {  // §3.2.5.6: 32-bit I/O addressing
        base |= std::uint64_t{config.read(address, regs::k_io_base_upper)} << 16;
        limit |= std::uint64_t{config.read(address, regs::k_io_limit_upper)} << 16;
    }
    if (base == 0 || base > limit) return {};
    return {base, limit + 1};
}

void write_memory_window(ConfigSpace& config, Address address, AddressRange window) {
    if (window.empty()) {  // closed: base above limit
        config.write(address, regs::k_memory_base, std::uint16_t{0xFFF0});
        config.write(address, regs::k_memory_limit, std::uint16_t{0x0000});
        return;
    }
    config.write(address, regs::k_memory_base, static_cast<std::uint16_t>((window.begin >> 16) & 0xFFF0));
    config.write(address, regs::k_memory_limit, static_cast<std::uint16_t>(((window.end - 1) >> 16) & 0xFFF0));
}

void write_io_window(ConfigSpace& config, Address address, AddressRange window) {
    config.write(address, regs::k_io_base_upper, std::uint16_t{0});
    config.write(address, regs::k_io_limit_upper, std::uint16_t{0});
    if (window.empty()) {
        config.write(address, regs::k_io_base, std::uint8_t{0xF0});
        config.write(address, regs::k_io_limit, std::uint8_t{0x00});
        return;
    }
    config.write(address, regs::k_io_base, static_cast<std::uint8_t>((window.begin >> 8) & 0xF0));
    config.write(address, regs::k_io_limit, static_cast<std::uint8_t>(((window.end - 1) >> 8) & 0xF0));
}

void close_prefetchable_window(ConfigSpace& config, Address address) {
    config.write(address, regs::k_prefetchable_base, std::uint16_t{0xFFF0});
    config.write(address, regs::k_prefetchable_limit, std::uint16_t{0x0000});
    config.write(address, regs::k_prefetchable_base_upper, std::uint32_t{0});
    config.write(address, regs::k_prefetchable_limit_upper, std::uint32_t{0});
}

Space space_of(const Bar& bar) { return bar.is_io() ? Space::Io : Space::Memory; }

// No default member values: see AddressRange.
constexpr std::uint8_t k_window = 0xFF;  // a Request for a bridge's window, not a BAR

struct Request {
    std::uint16_t device;  // index into the table
    std::uint8_t bar;      // or k_window
    Space space;
    std::uint64_t size;
    std::uint64_t alignment;
};

// Largest alignment first, then largest size: packs a bump allocator with little padding.
bool placed_before(const Request& a, const Request& b) {
    if (a.alignment != b.alignment) return a.alignment > b.alignment;
    if (a.size != b.size) return a.size > b.size;
    if (a.device != b.device) return a.device < b.device;
    return a.bar < b.bar;
}

struct Need {
    std::uint64_t size = 0;
    std::uint64_t alignment = 0;
};

class Assigner {
public:
    static constexpr std::size_t k_capacity = DeviceTable::k_capacity;
    static constexpr std::size_t k_max_requests = k_capacity * (k_max_bars + 2);
    // The memory map, every BAR and bridge window, with room to spare.
    static constexpr std::size_t k_max_reserved = 512;

    Assigner(ConfigSpace& config, DeviceTable& table, ResourceReport& report)
        : m_config(config), m_table(table), m_report(report) {}

    void run(const ResourceWindows& windows) {
        for (const AddressRange& range : windows.reserved) reserve(m_reserved_memory, m_memory_count, range);
        note_firmware_resources();
        RangeAllocator memory(windows.memory, {m_reserved_memory.data(), m_memory_count});
        RangeAllocator io(windows.io, {m_reserved_io.data(), m_io_count});
        place(0, memory, io);
    }

private:
    static void reserve(std::array<AddressRange, k_max_reserved>& list, std::size_t& count, AddressRange range) {
        // A full list would let an allocation overlap something unlisted; the capacity is
        // above what a full table and the largest memory map can produce.
        if (!range.empty() && count < list.size()) list[count++] = range;
    }

    // The BARs and windows the firmware set up stay where they are; nothing else may go there.
    void note_firmware_resources() {
        auto devices = m_table.all();
        for (std::size_t i = 0; i < devices.size(); ++i) {
            Device& device = devices[i];
            for (const Bar& bar : device.bars) {
                if (!bar.assigned()) continue;
                ++m_report.kept;
                AddressRange range{bar.address, add(bar.address, bar.size)};
                if (bar.is_io())
                    reserve(m_reserved_io, m_io_count, range);
                else
                    reserve(m_reserved_memory, m_memory_count, range);
            }
            if (!device.is_bridge() || device.secondary_bus == 0) continue;
            m_firmware_memory[i] = memory_window(m_config, device.address);
            m_firmware_io[i] = io_window(m_config, device.address);
            reserve(m_reserved_memory, m_memory_count, m_firmware_memory[i]);
            reserve(m_reserved_memory, m_memory_count, prefetchable_window(m_config, device.address));
            reserve(m_reserved_io, m_io_count, m_firmware_io[i]);
        }
    }

    [[nodiscard]] AddressRange firmware_window(std::size_t index, Space space) const {
        return space == Space::Memory ? m_firmware_memory[index] : m_firmware_io[index];
    }

    void push(const Request& request) {
        if (m_top < m_requests.size())
            m_requests[m_top++] = request;
        else
            ++m_report.failed;
    }

    // Appends what `bus` asks of its parent in `space`: the unassigned BARs of its devices,
    // and windows for the bridges on it that the firmware left closed.
    void collect(std::uint8_t bus, Space space) {
        auto devices = m_table.all();
        for (std::size_t i = 0; i < devices.size(); ++i) {
            Device& device = devices[i];
            if (device.address.bus != bus) continue;
            if (!device.is_host_bridge()) {
                for (std::size_t b = 0; b < k_max_bars; ++b) {
                    const Bar& bar = device.bars[b];
                    if (!bar.present() || bar.assigned() || space_of(bar) != space) continue;
                    std::uint64_t alignment =
                        space == Space::Memory ? std::max(bar.size, k_min_memory_bar_alignment) : bar.size;
                    push({static_cast<std::uint16_t>(i), static_cast<std::uint8_t>(b), space, alignment, alignment});
                }
            }
            if (device.is_bridge() && device.secondary_bus != 0 && firmware_window(i, space).empty()) {
                Need need = measure(device.secondary_bus, space);
                if (need.size != 0) push({static_cast<std::uint16_t>(i), k_window, space, need.size, need.alignment});
            }
        }
    }

    // The window a closed bridge needs for everything behind it, laid out the way place()
    // will lay it out: from a base aligned to the largest alignment inside, so no gap
    // differs between the two.
    Need measure(std::uint8_t bus, Space space) {
        std::size_t base = m_top;
        collect(bus, space);
        std::span<Request> list(m_requests.data() + base, m_top - base);
        std::sort(list.begin(), list.end(), placed_before);
        Need need{0, granularity(space)};
        for (const Request& request : list) {
            need.size = add(align_up(need.size, request.alignment), request.size);
            need.alignment = std::max(need.alignment, request.alignment);
        }
        m_top = base;
        if (need.size != 0) need.size = align_up(need.size, granularity(space));
        return need;
    }

    void place(std::uint8_t bus, RangeAllocator& memory, RangeAllocator& io) {
        std::size_t base = m_top;
        collect(bus, Space::Memory);
        collect(bus, Space::Io);
        std::span<Request> list(m_requests.data() + base, m_top - base);
        std::sort(list.begin(), list.end(), placed_before);
        auto devices = m_table.all();
        for (const Request& request : list) {
            Device& device = devices[request.device];
            std::optional<std::uint64_t> at =
                (request.space == Space::Memory ? memory : io).allocate(request.size, request.alignment);
            if (!at) {
                ++m_report.failed;
                continue;
            }
            if (request.bar != k_window) {
                std::size_t index = request.bar;
                program_bar(m_config, device.address, index, device.bars[index], *at);
                device.bars[index].address = *at;
                ++m_report.assigned;
            } else if (request.space == Space::Memory) {
                m_opened_memory[request.device] = {*at, *at + request.size};
            } else {
                m_opened_io[request.device] = {*at, *at + request.size};
            }
        }
        m_top = base;

        for (std::size_t i = 0; i < devices.size(); ++i) {
            Device& device = devices[i];
            if (device.address.bus != bus || !device.is_bridge() || device.secondary_bus == 0) continue;
            if (!m_opened_memory[i].empty() || !m_opened_io[i].empty()) open_bridge(i);
            AddressRange memory_range = m_firmware_memory[i].empty() ? m_opened_memory[i] : m_firmware_memory[i];
            AddressRange io_range = m_firmware_io[i].empty() ? m_opened_io[i] : m_firmware_io[i];
            RangeAllocator child_memory(memory_range, {m_reserved_memory.data(), m_memory_count});
            RangeAllocator child_io(io_range, {m_reserved_io.data(), m_io_count});
            place(device.secondary_bus, child_memory, child_io);
        }
    }

    // Programs the windows of a bridge the firmware left closed, and lets it forward.
    void open_bridge(std::size_t index) {
        Device& bridge = m_table.all()[index];
        Address address = bridge.address;
        std::uint16_t enable = command::k_bus_master;  // so the devices behind can reach memory
        if (m_firmware_memory[index].empty()) {
            write_memory_window(m_config, address, m_opened_memory[index]);
            if (prefetchable_window(m_config, address).empty()) close_prefetchable_window(m_config, address);
        }
        if (m_firmware_io[index].empty()) write_io_window(m_config, address, m_opened_io[index]);
        if (!m_firmware_memory[index].empty() || !m_opened_memory[index].empty()) enable |= command::k_memory_space;
        if (!m_firmware_io[index].empty() || !m_opened_io[index].empty()) enable |= command::k_io_space;
        m_config.write(address, regs::k_command,
                       static_cast<std::uint16_t>(m_config.read(address, regs::k_command) | enable));
        ++m_report.bridges_opened;
    }

    ConfigSpace& m_config;
    DeviceTable& m_table;
    ResourceReport& m_report;
    // Filled from the front; only the first m_*_count (m_top) entries are ever read.
    std::array<AddressRange, k_max_reserved> m_reserved_memory;
    std::size_t m_memory_count = 0;
    std::array<AddressRange, k_max_reserved> m_reserved_io;
    std::size_t m_io_count = 0;
    std::array<Request, k_max_requests> m_requests;
    std::size_t m_top = 0;
    std::array<AddressRange, k_capacity> m_firmware_memory{};
    std::array<AddressRange, k_capacity> m_firmware_io{};
    std::array<AddressRange, k_capacity> m_opened_memory{};
    std::array<AddressRange, k_capacity> m_opened_io{};
};

}  // namespace

ResourceReport assign_resources(ConfigSpace& config, DeviceTable& table, const ResourceWindows& windows) {
    ResourceReport report;
    std::size_t unassigned = 0;
    for (const Device& device : table.all()) {
        for (const Bar& bar : device.bars) {
            if (bar.assigned()) ++report.kept;
            if (bar.present() && !bar.assigned() && !device.is_host_bridge()) ++unassigned;
        }
    }
    if (unassigned == 0) return report;  // what SeaBIOS leaves: nothing to do
    report.kept = 0;
    // About 30 KiB of bookkeeping: from the heap, not the boot stack.
    auto* assigner = new (std::nothrow) Assigner(config, table, report);
    if (assigner == nullptr) {
        report.failed = unassigned;
        return report;
    }
    assigner->run(windows);
    delete assigner;
    return report;
}

}  // namespace pci
