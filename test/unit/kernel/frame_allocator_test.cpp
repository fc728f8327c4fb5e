#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "kernel/frame_allocator.hpp"

using kernel::FrameAllocator;
using kernel::MemoryError;
using kernel::PhysicalRange;

namespace {
constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::uint64_t k_frame = FrameAllocator::k_frame_size;
}  // namespace

TEST_CASE("frame allocator: usable minus reserved, partial frames excluded") {
    std::vector<PhysicalRange> usable = {{0, 0x9FC00}, {k_mib, 16 * k_mib}};
    std::vector<PhysicalRange> reserved = {{0, k_mib}, {k_mib, k_mib + 0x1800}};
    std::vector<std::uint64_t> bitmap(FrameAllocator::bitmap_words_for(16 * k_mib));
    FrameAllocator frames;
    frames.init(usable, reserved, bitmap);
    // 15 MiB of frames minus the two frames the reservation touches.
    CHECK(frames.free_frames() == 15 * 256 - 2);
    CHECK(frames.managed_frames() == frames.free_frames());
    CHECK_FALSE(frames.is_free(0));
    CHECK_FALSE(frames.is_free(k_mib + k_frame));
    CHECK(frames.is_free(k_mib + 2 * k_frame));
    auto first = frames.allocate();
    REQUIRE(first);
    CHECK(*first == k_mib + 2 * k_frame);
}

TEST_CASE("frame allocator: allocate until empty, then out of memory; free makes room") {
    std::vector<PhysicalRange> usable = {{0x10000, 0x20000}};
    std::vector<std::uint64_t> bitmap(FrameAllocator::bitmap_words_for(0x20000));
    FrameAllocator frames;
    frames.init(usable, {}, bitmap);
    std::vector<std::uint64_t> got;
    while (auto f = frames.allocate()) got.push_back(*f);
    CHECK(got.size() == 16);
    CHECK(frames.allocate().error() == MemoryError::OutOfMemory);
    CHECK(frames.free(got[5]).has_value());
    CHECK(frames.allocate().value() == got[5]);
}

TEST_CASE("frame allocator: contiguous and aligned runs skip holes") {
    std::vector<PhysicalRange> usable = {{0, 64 * k_frame}};
    std::vector<PhysicalRange> reserved = {{3 * k_frame, 4 * k_frame}};
    std::vector<std::uint64_t> bitmap(1);
    FrameAllocator frames;
    frames.init(usable, reserved, bitmap);
    auto run = frames.allocate_contiguous(4);
    REQUIRE(run);
    CHECK(*run == 4 * k_frame);  // 0..2 is too short before the hole at 3
    auto aligned = frames.allocate_contiguous(8, 16);
    REQUIRE(aligned);
    CHECK(*aligned == 16 * k_frame);
    CHECK(frames.allocate_contiguous(64).error() == MemoryError::OutOfMemory);
    CHECK(frames.allocate_contiguous(0).error() == MemoryError::BadRequest);
    CHECK(frames.allocate_contiguous(2, 3).error() == MemoryError::BadRequest);
    CHECK(frames.free_contiguous(*run, 4).has_value());
    CHECK(frames.is_free(*run));
}

TEST_CASE("frame allocator: bad frees are errors, not corruption") {
    std::vector<PhysicalRange> usable = {{0, 64 * k_frame}};
    std::vector<std::uint64_t> bitmap(1);
    FrameAllocator frames;
    frames.init(usable, {}, bitmap);
    auto f = frames.allocate().value();
    CHECK(frames.free(f + 1).error() == MemoryError::Misaligned);
    CHECK(frames.free(1000 * k_frame).error() == MemoryError::OutOfRange);
    CHECK(frames.free(f).has_value());
    CHECK(frames.free(f).error() == MemoryError::NotAllocated);
    CHECK(frames.free_frames() == 64);
}

TEST_CASE("frame allocator: find_space avoids reserved ranges") {
    std::vector<PhysicalRange> usable = {{0, k_mib}, {k_mib, 8 * k_mib}};
    std::vector<PhysicalRange> reserved = {{0, k_mib}, {k_mib, 2 * k_mib + 5}, {3 * k_mib, 4 * k_mib}};
    auto spot = FrameAllocator::find_space(usable, reserved, k_mib);
    REQUIRE(spot);
    CHECK(*spot == 4 * k_mib);  // [2 MiB + 4 KiB, 3 MiB) is too small
    CHECK_FALSE(FrameAllocator::find_space(usable, reserved, 8 * k_mib).has_value());
}

namespace {

// A pressure handler that hands back frames it holds, a few per call.
struct Lender {
    FrameAllocator* frames = nullptr;
    std::vector<std::uint64_t> held;
    std::size_t per_call = 1;
    std::size_t calls = 0;
    static std::size_t relieve(void* context, std::size_t wanted) {
        auto& self = *static_cast<Lender*>(context);
        ++self.calls;
        std::size_t given = 0;
        while (given < std::max(wanted, self.per_call) && !self.held.empty()) {
            REQUIRE(self.frames->take_back(self.held.back()));
            self.held.pop_back();
            ++given;
        }
        return given;
    }
};

}  // namespace

TEST_CASE("frame allocator: the pressure handler is asked before an allocation fails") {
    std::vector<PhysicalRange> usable = {{0x10000, 0x20000}};
    std::vector<std::uint64_t> bitmap(FrameAllocator::bitmap_words_for(0x20000));
    FrameAllocator frames;
    frames.init(usable, {}, bitmap);
    Lender lender;
    lender.frames = &frames;
    // Lend half the frames, keep the rest allocated.
    for (int i = 0; i < 8; ++i) {
        auto f = frames.allocate();
        REQUIRE(f);
        REQUIRE(frames.lend(*f));
        lender.held.push_back(*f);
    }
    CHECK(frames.lent_frames() == 8);
    while (frames.allocate(FrameAllocator::Relief::None)) {
    }
    CHECK(frames.free_frames() == 0);
    CHECK(lender.calls == 0);

    frames.set_pressure_handler(&Lender::relieve, &lender);
    // Without relief nothing changes.
    CHECK(frames.allocate(FrameAllocator::Relief::None).error() == MemoryError::OutOfMemory);
    CHECK(lender.calls == 0);
    auto one = frames.allocate();
    REQUIRE(one);
    CHECK(lender.calls == 1);
    CHECK(frames.lent_frames() == 7);
    CHECK(frames.pressure_frames() == 1);

    // Contiguous: lent frames come back one per call until two neighbours are free.
    auto pair = frames.allocate_contiguous(2);
    REQUIRE(pair);
    CHECK(frames.is_free(*pair) == false);
    CHECK(lender.calls >= 2);
    // Guest-owned memory is always managed minus lent.
    CHECK(frames.managed_frames() - frames.lent_frames() == 16 - lender.held.size());

    // Once the lender is dry the allocation fails, after asking once more.
    while (frames.allocate()) {
    }
    CHECK(lender.held.empty());
    std::size_t calls = lender.calls;
    CHECK(frames.allocate().error() == MemoryError::OutOfMemory);
    CHECK(lender.calls == calls + 1);
}

TEST_CASE("frame allocator: lending needs an allocated frame, taking back a lent one") {
    std::vector<PhysicalRange> usable = {{0x10000, 0x20000}};
    std::vector<std::uint64_t> bitmap(FrameAllocator::bitmap_words_for(0x20000));
    FrameAllocator frames;
    frames.init(usable, {}, bitmap);
    CHECK(frames.lend(0x10000).error() == MemoryError::NotAllocated);
    CHECK(frames.lend(0x10001).error() == MemoryError::Misaligned);
    CHECK(frames.take_back(0x10000).error() == MemoryError::NotAllocated);
    auto f = frames.allocate();
    REQUIRE(f);
    std::uint64_t count = frames.allocation_count();
    REQUIRE(frames.lend(*f));
    CHECK(frames.lent_frames() == 1);
    REQUIRE(frames.take_back(*f));
    CHECK(frames.lent_frames() == 0);
    CHECK(frames.is_free(*f));
    CHECK(frames.allocation_count() == count);
}
