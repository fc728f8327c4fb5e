#pragma once
// Configuration space (PCI Local Bus 3.0 §6.1): the 256 bytes each function has for its
// identity and its setup, 4 KiB where PCI Express's extended space is reachable (PCIe 6.0
// §7.2.2). Enumeration, BAR sizing, capabilities and MSI-X all go through a ConfigSpace,
// so they run against a fake configuration space in the host tests; the kernel passes the
// port mechanism (port_config_space.hpp) or ECAM (ecam_config_space.hpp).

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>

#include "pci/address.hpp"

namespace pci {

// A register of the configuration header: its offset, and its width as its type.
template <typename T>
struct ConfigRegister {
    static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t> ||
                  std::is_same_v<T, std::uint32_t>);
    std::uint16_t offset;
};

// One read of a vectored read (ConfigSpace::read_each): it leaves what it read in `value`.
struct ConfigRead {
    Address address;
    std::uint16_t offset = 0;
    std::uint8_t width = 4;  // 1, 2 or 4
    std::uint32_t value = 0;
};

class ConfigSpace {
public:
    // 256 for the port mechanism, 4096 with ECAM.
    [[nodiscard]] virtual std::uint16_t extent() const = 0;
    // Whether this access method reaches `bus` at all (an ECAM region may cover fewer buses).
    [[nodiscard]] virtual bool reaches(std::uint8_t bus) const = 0;

    // A misaligned access, or one past extent(), does not reach the device: reads give all
    // ones and writes are dropped, as for a function that is not there (PCI 3.0 §6.1).
    template <typename T>
    [[nodiscard]] T read(Address address, std::uint16_t offset) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4);
        if (!valid(address, offset, sizeof(T))) return static_cast<T>(~T{0});
        return static_cast<T>(read_raw(address, offset, sizeof(T)));
    }
    template <typename T>
    void write(Address address, std::uint16_t offset, T value) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4);
        if (valid(address, offset, sizeof(T))) write_raw(address, offset, sizeof(T), value);
    }
    template <typename T>
    [[nodiscard]] T read(Address address, ConfigRegister<T> reg) {
        return read<T>(address, reg.offset);
    }
    template <typename T>
    void write(Address address, ConfigRegister<T> reg, T value) {
        write<T>(address, reg.offset, value);
    }

    // Independent reads, each as read<T> would do it (one it refuses reads all ones), for
    // where their count matters: the bus scan reads a register of each of 32 slots, and
    // the port mechanism makes them one gate where the kernel runs in ring 3
    // (kernel/gates/). Everything else reads a register at a time.
    void read_each(std::span<ConfigRead> reads) {
        bool all_valid = std::all_of(reads.begin(), reads.end(), [&](const ConfigRead& read) {
            return (read.width == 1 || read.width == 2 || read.width == 4) &&
                   valid(read.address, read.offset, read.width);
        });
        if (all_valid) {
            read_each_raw(reads);
            return;
        }
        for (ConfigRead& read : reads) {
            read.value = valid(read.address, read.offset, read.width)
                             ? read_raw(read.address, read.offset, read.width)
                             : (read.width == 4 ? ~0u : (1u << (8 * read.width)) - 1);
        }
    }

protected:
    ConfigSpace() = default;
    ConfigSpace(const ConfigSpace&) = default;
    ConfigSpace& operator=(const ConfigSpace&) = default;
    ~ConfigSpace() = default;

    // width is 1, 2 or 4, offset is aligned to it and below extent(); the value sits in
    // the low `width` bytes.
    virtual std::uint32_t read_raw(Address address, std::uint16_t offset, unsigned width) = 0;
    virtual void write_raw(Address address, std::uint16_t offset, unsigned width, std::uint32_t value) = 0;
    // Every read valid; one read_raw each unless overridden.
    virtual void read_each_raw(std::span<ConfigRead> reads) {
        for (ConfigRead& read : reads) read.value = read_raw(read.address, read.offset, read.width);
    }

private:
    [[nodiscard]] bool valid(Address address, std::uint16_t offset, unsigned width) const {
        return address.device < k_devices_per_bus && address.function < k_functions_per_device && offset % width == 0 &&
               offset + width <= extent() && reaches(address.bus);
    }
};

}  // namespace pci
