#pragma once
// A fake physical memory image starting at 0x10000 that the boot-information tests
// (multiboot, PVH) fill with the loader's structures.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernel/physical_reader.hpp"

namespace test {

struct FakeBootMemory {
    static constexpr std::uint64_t k_base = 0x10000;
    static constexpr std::size_t k_size = 0x4000;
    std::vector<std::byte> bytes = std::vector<std::byte>(k_size);

    template <typename T>
    void put(std::uint64_t address, const T& value) {
        std::memcpy(bytes.data() + (address - k_base), &value, sizeof value);
    }
    void put_string(std::uint64_t address, const char* text) {
        std::memcpy(bytes.data() + (address - k_base), text, std::strlen(text) + 1);
    }
    [[nodiscard]] kernel::SpanReader reader() const { return kernel::SpanReader(k_base, bytes); }
};

}  // namespace test
