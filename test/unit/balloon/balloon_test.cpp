// The balloon's bookkeeping against a simulated device: the device's side of each queue
// reads what the driver wrote through device addresses only (FakeDma), and the frame
// allocator manages a made-up physical range (it never touches the memory it manages).

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "balloon/balloon.hpp"
#include "balloon/frame_set.hpp"
#include "balloon/wire.hpp"
#include "test/unit/virtio/fake_dma.hpp"
#include "test/unit/virtio/simulated_device.hpp"

using balloon::Balloon;
using kernel::FrameAllocator;

namespace {

constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::uint64_t k_page = 4096;
constexpr std::uint64_t k_base = 16 * k_mib;
constexpr std::size_t k_frames = 8192;  // 32 MiB
constexpr std::uint64_t k_second = 1'000'000'000;

class StringSink final : public kernel::fmt::Sink {
public:
    void write(std::string_view text) override { text_.append(text); }
    std::string text_;
};

struct FakeAccess final : balloon::DeviceAccess {
    std::uint32_t target = 0;
    std::uint32_t actual = 0;
    std::vector<std::uint16_t> doorbells;
    std::uint32_t num_pages() override { return target; }
    void set_actual(std::uint32_t pages) override { actual = pages; }
    void notify(std::uint16_t queue) override { doorbells.push_back(queue); }
};

struct Rig {
    test::FakeDma dma;
    std::vector<std::uint64_t> bitmap =
        std::vector<std::uint64_t>(FrameAllocator::bitmap_words_for(k_base + k_frames * k_page));
    FrameAllocator frames;
    std::vector<std::byte> heap_memory = std::vector<std::byte>(std::size_t{64} * 1024);
    kernel::Heap heap;
    virtio::Virtqueue inflate_queue = virtio::Virtqueue::create(dma, {.size = 64, .event_idx = true}).value();
    virtio::Virtqueue deflate_queue = virtio::Virtqueue::create(dma, {.size = 64, .event_idx = true}).value();
    virtio::Virtqueue stats_queue = virtio::Virtqueue::create(dma, {.size = 64, .event_idx = true}).value();
    virtio::Virtqueue reporting_queue = virtio::Virtqueue::create(dma, {.size = 64, .event_idx = true}).value();
    test::SimulatedDevice inflate_device{dma, inflate_queue, true};
    test::SimulatedDevice deflate_device{dma, deflate_queue, true};
    test::SimulatedDevice stats_device{dma, stats_queue, true};
    test::SimulatedDevice reporting_device{dma, reporting_queue, true};
    FakeAccess access;
    StringSink log;
    Balloon* balloon = nullptr;
    std::set<std::uint64_t> host_pages;  // what the device believes it holds
    std::vector<std::size_t> inflate_batches;
    std::uint64_t now = 0;

    explicit Rig(std::uint64_t features = 0, std::size_t floor_frames = 1024, bool reporting = false) {
        std::vector<kernel::PhysicalRange> usable = {{k_base, k_base + k_frames * k_page}};
        dma.map_external(k_base, k_frames * k_page);  // so the device can reach reported frames
        frames.init(usable, {}, bitmap);
        heap.add_memory(heap_memory);
        balloon::Options options;
        options.features = features;
        options.floor_frames = floor_frames;
        options.report_interval_ns = k_second;
        options.log = &log;
        balloon::Queues queues{{&inflate_queue, 0}, {&deflate_queue, 1}, {&stats_queue, 2}, {}};
        if (reporting) queues.reporting = {&reporting_queue, 3};
        balloon = Balloon::create(options, queues, access, dma, frames, &heap).value();
        frames.set_pressure_handler(&Balloon::pressure_handler, balloon);
        balloon->start();
    }
    ~Rig() { delete balloon; }
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    std::vector<std::uint64_t> read_pages(const test::DeviceChain& chain) {
        REQUIRE(chain.segments.size() == 1);
        const auto& segment = chain.segments[0];
        REQUIRE_FALSE(segment.device_writes);
        REQUIRE(segment.length % 4 == 0);
        std::vector<std::uint32_t> numbers(segment.length / 4);
        std::memcpy(numbers.data(), dma.translate(segment.address, segment.length), segment.length);
        std::vector<std::uint64_t> pages;
        pages.reserve(numbers.size());
        for (auto n : numbers) pages.push_back(std::uint64_t{n} * k_page);
        return pages;
    }

    // The device takes what the driver offered on the inflate and deflate queues.
    void serve() {
        while (auto chain = inflate_device.pop()) {
            auto pages = read_pages(*chain);
            inflate_batches.push_back(pages.size());
            for (auto p : pages) {
                CHECK(frames.is_free(p) == false);  // lent, so not the guest's to hand out
                CHECK(host_pages.insert(p).second);
            }
            inflate_device.complete(*chain, 0);
        }
        while (auto chain = deflate_device.pop()) {
            for (auto p : read_pages(*chain)) CHECK(host_pages.erase(p) == 1);
            deflate_device.complete(*chain, 0);
        }
    }

    // Polls and serves until the balloon settles (or a bound is reached).
    void settle(int rounds = 100) {
        for (int i = 0; i < rounds; ++i) {
            balloon->poll(now);
            if (balloon->settled()) return;
            serve();
        }
    }

    // The allocator and the balloon agree on which pages the guest owns.
    void check_agreement() {
        CHECK(frames.lent_frames() == balloon->held_pages());
        CHECK(access.actual == balloon->pages());
    }
};

}  // namespace

TEST_CASE("balloon: frame set insert, remove and take") {
    auto set = balloon::FrameSet::create(1 << 20);
    REQUIRE(set.valid());
    CHECK(set.insert(0x5000));
    CHECK_FALSE(set.insert(0x5000));
    CHECK_FALSE(set.insert(0x5001));   // not a frame address
    CHECK_FALSE(set.insert(2 << 20));  // beyond the limit
    CHECK(set.insert(0x8000));
    CHECK(set.size() == 2);
    CHECK(set.contains(0x8000));
    CHECK(set.remove(0x8000));
    CHECK_FALSE(set.remove(0x8000));
    CHECK(set.take_any() == std::optional<std::uint64_t>(0x5000));
    CHECK_FALSE(set.take_any());
    CHECK(set.size() == 0);
}

TEST_CASE("balloon: inflates to the target in batches, reports actual, lends the frames") {
    Rig rig;
    rig.access.target = 600;
    std::size_t free_before = rig.frames.free_frames();
    rig.settle();
    REQUIRE(rig.balloon->settled());
    CHECK(rig.inflate_batches == std::vector<std::size_t>{256, 256, 88});
    CHECK(rig.host_pages.size() == 600);
    CHECK(rig.access.actual == 600);
    CHECK(rig.frames.free_frames() == free_before - 600);
    CHECK(rig.balloon->stats().inflated == 600);
    rig.check_agreement();
    for (auto p : rig.host_pages) CHECK(p >= k_base);

    SECTION("deflates to a lower target; the frames are free again") {
        std::set<std::uint64_t> before = rig.host_pages;
        rig.access.target = 100;
        rig.settle();
        CHECK(rig.host_pages.size() == 100);
        CHECK(rig.access.actual == 100);
        CHECK(rig.frames.free_frames() == free_before - 100);
        for (auto p : before)
            if (rig.host_pages.count(p) == 0) CHECK(rig.frames.is_free(p));
        rig.check_agreement();
    }
    SECTION("to zero and back") {
        rig.access.target = 0;
        rig.settle();
        CHECK(rig.host_pages.empty());
        CHECK(rig.frames.lent_frames() == 0);
        CHECK(rig.frames.free_frames() == free_before);
        rig.access.target = 300;
        rig.settle();
        CHECK(rig.host_pages.size() == 300);
        rig.check_agreement();
    }
}

TEST_CASE("balloon: no new buffer while the device holds one") {
    Rig rig;
    rig.access.target = 1000;
    rig.balloon->poll(0);
    rig.balloon->poll(0);
    CHECK(rig.inflate_device.pending_avail() == 1);
    CHECK(rig.access.actual == 0);  // nothing acknowledged yet
    CHECK(rig.frames.lent_frames() == 256);
}

TEST_CASE("balloon: the floor stops inflation and is logged once per target") {
    Rig rig(0, /*floor_frames=*/k_frames - 1000);
    rig.access.target = 2000;
    rig.settle();
    CHECK(rig.balloon->held_by_floor());
    CHECK(rig.balloon->settled());
    CHECK(rig.frames.free_frames() == k_frames - 1000);
    CHECK(rig.host_pages.size() == 1000);
    CHECK(rig.access.actual == 1000);
    auto count = [&rig] {
        std::size_t n = 0;
        for (std::size_t at = rig.log.text_.find("floor"); at != std::string::npos;
             at = rig.log.text_.find("floor", at + 1))
            ++n;
        return n;
    };
    CHECK(count() == 1);
    CHECK(rig.log.text_.find("target 2000 pages") != std::string::npos);
    // Looking again later, the same target: no second message.
    rig.now += 5 * k_second;
    rig.settle();
    CHECK(count() == 1);
    // A new target that cannot be reached either: one more.
    rig.access.target = 3000;
    rig.now += 5 * k_second;
    rig.settle();
    CHECK(count() == 2);
    CHECK(rig.balloon->stats().floor_holds == 2);
    rig.check_agreement();
}

TEST_CASE("balloon: deflate on OOM gives frames back at once and tells the device afterwards") {
    Rig rig(balloon::wire::k_deflate_on_oom, /*floor_frames=*/256);
    rig.access.target = 4000;
    rig.settle();
    REQUIRE(rig.host_pages.size() == 4000);
    // The application takes every free frame.
    while (rig.frames.allocate(FrameAllocator::Relief::None)) {
    }
    REQUIRE(rig.frames.free_frames() == 0);
    // The next allocation asks the balloon, which gives a batch back without allocating.
    auto frame = rig.frames.allocate();
    REQUIRE(frame);
    CHECK(rig.host_pages.count(*frame) == 1);  // a ballooned page, the device not yet told
    CHECK(rig.balloon->held_pages() == 4000 - Balloon::k_pressure_batch);
    CHECK(rig.frames.lent_frames() == rig.balloon->held_pages());
    CHECK(rig.balloon->pages() == 4000);  // the device's view until it hears of it
    CHECK(rig.balloon->stats().pressure_events == 1);
    // A contiguous run larger than one batch: several calls, until a run is free.
    auto run = rig.frames.allocate_contiguous(300);
    REQUIRE(run);

    // The event loop tells the device through the deflate queue, a batch at a time.
    rig.settle();
    CHECK(rig.balloon->stats().deflated == rig.balloon->stats().pressure_pages);
    CHECK(rig.host_pages.size() == rig.balloon->held_pages());
    CHECK(rig.access.actual == rig.balloon->held_pages());
    CHECK(rig.log.text_.find("memory pressure") != std::string::npos);
    rig.check_agreement();
    // It does not inflate straight back.
    rig.serve();
    CHECK(rig.inflate_device.pending_avail() == 0);
}

TEST_CASE("balloon: without DEFLATE_ON_OOM, or with MUST_TELL_HOST, pressure gets nothing") {
    auto features = GENERATE(std::uint64_t{0}, balloon::wire::k_deflate_on_oom | balloon::wire::k_must_tell_host);
    Rig rig(features, 256);
    rig.access.target = 1000;
    rig.settle();
    while (rig.frames.allocate(FrameAllocator::Relief::None)) {
    }
    CHECK(rig.frames.allocate().error() == kernel::MemoryError::OutOfMemory);
    CHECK(rig.balloon->held_pages() == 1000);
    rig.check_agreement();
}

TEST_CASE("balloon: with MUST_TELL_HOST deflated frames come back only when the device answers") {
    Rig rig(balloon::wire::k_must_tell_host);
    rig.access.target = 256;
    rig.settle();
    std::size_t free_before = rig.frames.free_frames();
    rig.access.target = 0;
    rig.balloon->poll(rig.now);
    CHECK(rig.frames.free_frames() == free_before);  // sent, not acknowledged
    CHECK(rig.access.actual == 256);
    rig.serve();
    rig.balloon->poll(rig.now);
    CHECK(rig.frames.free_frames() == free_before + 256);
    CHECK(rig.access.actual == 0);
    rig.check_agreement();
}

TEST_CASE("balloon: statistics are sent at start and again each time the device asks") {
    Rig rig;
    auto chain = rig.stats_device.pop();
    REQUIRE(chain);
    REQUIRE(chain->segments.size() == 1);
    auto read_stats = [&rig](const test::DeviceChain& c) {
        const auto& s = c.segments[0];
        REQUIRE(s.length % sizeof(balloon::wire::Stat) == 0);
        std::vector<balloon::wire::Stat> stats(s.length / sizeof(balloon::wire::Stat));
        std::memcpy(stats.data(), rig.dma.translate(s.address, s.length), s.length);
        std::map<std::uint16_t, std::uint64_t> by_tag;
        for (const auto& stat : stats) by_tag[stat.tag] = stat.value;
        return by_tag;
    };
    auto first = read_stats(*chain);
    namespace tag = balloon::wire::stat_tag;
    CHECK(first.at(tag::k_memory_free) == rig.frames.free_frames() * k_page);
    CHECK(first.at(tag::k_memory_total) == k_frames * k_page);
    CHECK(first.at(tag::k_available) == first.at(tag::k_memory_free) + rig.heap.free_bytes());
    CHECK(first.count(tag::k_swap_in) == 0);  // no swap: not reported

    rig.access.target = 512;
    rig.settle();
    // Nothing more until the device returns the buffer.
    CHECK_FALSE(rig.stats_device.pop());
    rig.stats_device.complete(*chain, 0);
    rig.balloon->poll(rig.now);
    auto again = rig.stats_device.pop();
    REQUIRE(again);
    auto second = read_stats(*again);
    CHECK(second.at(tag::k_memory_total) == (k_frames - 512) * k_page);
    CHECK(second.at(tag::k_memory_free) == rig.frames.free_frames() * k_page);
    CHECK(rig.balloon->stats().stats_sent == 2);
}

TEST_CASE("balloon: free page reporting takes free runs above the floor and gives them back") {
    Rig rig(0, /*floor_frames=*/2048, /*reporting=*/true);
    std::size_t free_before = rig.frames.free_frames();
    rig.balloon->poll(rig.now);
    auto chain = rig.reporting_device.pop();
    REQUIRE(chain);
    std::size_t reported = 0;
    for (const auto& s : chain->segments) {
        CHECK(s.device_writes);
        CHECK(s.length == Balloon::k_report_run * k_page);
        CHECK_FALSE(rig.frames.is_free(s.address));
        reported += s.length / k_page;
    }
    CHECK(reported > 0);
    CHECK(reported <= (free_before - 2048) / 2);
    CHECK(rig.frames.free_frames() == free_before - reported);
    rig.reporting_device.complete(*chain, 0);
    rig.balloon->poll(rig.now);
    CHECK(rig.frames.free_frames() == free_before);
    for (const auto& s : chain->segments) CHECK(rig.frames.is_free(s.address));

    // Nothing new was allocated: no report, even after the interval; and the balloon asks
    // to be called again later, not at once (a deadline in the past would spin the loop).
    rig.now += 2 * k_second;
    auto next = rig.balloon->poll(rig.now);
    CHECK_FALSE(rig.reporting_device.pop());
    REQUIRE(next);
    CHECK(*next > rig.now);
    // After an allocation, the next interval brings another report.
    REQUIRE(rig.frames.allocate());
    rig.now += 2 * k_second;
    rig.balloon->poll(rig.now);
    CHECK(rig.reporting_device.pop());
    CHECK(rig.balloon->stats().reports == 2);
}

TEST_CASE("balloon: a device that returns a buffer it was never given stops the balloon, nothing breaks") {
    Rig rig;
    rig.access.target = 100;
    rig.balloon->poll(rig.now);
    rig.inflate_device.write_used_element(0, 63, 0);  // an id that heads no chain
    rig.inflate_device.write_used_idx(1);
    rig.balloon->poll(rig.now);
    CHECK(rig.balloon->stopped());
    CHECK(rig.balloon->stats().device_errors == 1);
    CHECK(rig.log.text_.find("inflate queue") != std::string::npos);
    // Memory pressure gets nothing from a stopped balloon, and polling does nothing.
    CHECK(rig.balloon->relieve(10) == 0);
    CHECK_FALSE(rig.balloon->poll(rig.now));
}
