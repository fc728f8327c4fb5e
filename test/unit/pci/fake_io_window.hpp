#pragma once
// Device registers for host tests: a block of bytes behind the pci::IoWindow interface,
// with a log of the writes and an optional hook that gives registers behaviour.

#include <cstdint>
#include <functional>
#include <vector>

#include "pci/io_window.hpp"

namespace test {

class FakeIoWindow final : public pci::IoWindow {
public:
    struct Write {
        std::size_t offset;
        unsigned width;
        std::uint32_t value;
    };

    explicit FakeIoWindow(std::size_t size) : bytes(size) {}

    [[nodiscard]] std::size_t size() const override { return bytes.size(); }

    [[nodiscard]] std::uint32_t get(std::size_t offset, unsigned width) const {
        std::uint32_t value = 0;
        for (unsigned i = 0; i < width; ++i) value |= std::uint32_t{bytes[offset + i]} << (8 * i);
        return value;
    }
    void put(std::size_t offset, unsigned width, std::uint32_t value) {
        for (unsigned i = 0; i < width; ++i) bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }

    std::vector<std::uint8_t> bytes;
    std::vector<Write> writes;
    int reads = 0;
    // Called for every write after it is logged; returns true if it stored the value itself.
    std::function<bool(std::size_t offset, unsigned width, std::uint32_t value)> on_write;
    // Called for every read; returns true if it set `value` itself, false to read the bytes.
    std::function<bool(std::size_t offset, unsigned width, std::uint32_t& value)> on_read;

protected:
    std::uint32_t read_raw(std::size_t offset, unsigned width) override {
        ++reads;
        std::uint32_t value = 0;
        if (on_read && on_read(offset, width, value)) return value;
        return get(offset, width);
    }
    void write_raw(std::size_t offset, unsigned width, std::uint32_t value) override {
        writes.push_back({offset, width, value});
        if (on_write && on_write(offset, width, value)) return;
        put(offset, width, value);
    }
};

}  // namespace test
