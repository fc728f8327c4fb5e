#pragma once
// The virtio-balloon driver's logic (virtio 1.2 §5.5), apart from the bus: it follows the
// device's num_pages target with frames from the frame allocator, reports `actual`,
// answers the device's statistics requests, reports free memory where the device offers
// free page reporting, and gives pages back under memory pressure where
// VIRTIO_BALLOON_F_DEFLATE_ON_OOM allows it.
//
//     auto* balloon = TRY(Balloon::create(options, queues, access, dma, frames, &heap));
//     // the device's queue and configuration interrupts: balloon->interrupt()
//     balloon->start();                       // after DRIVER_OK
//     for (;;) { wait for the wake hook or the deadline; next = balloon->poll(now_ns); }
//
// Interrupts only record work (interrupt()); everything else runs in poll(), from the
// event loop (runtime/balloon_service.cpp in the unikernel). Frames in the balloon are
// lent to the host (FrameAllocator::lend): the allocator and the balloon agree at all
// times that the guest owns managed_frames() - lent_frames(). Their numbers are kept in
// a bitmap in the heap; the frames themselves are never touched while ballooned.
//
// The floor: the balloon never takes a frame when that would leave fewer than
// floor_frames free, and says so once per target it cannot reach.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "balloon/frame_set.hpp"
#include "kernel/format.hpp"
#include "kernel/frame_allocator.hpp"
#include "kernel/heap.hpp"
#include "kernel/result.hpp"
#include "virtio/dma.hpp"
#include "virtio/virtqueue.hpp"

namespace balloon {

enum class Error {
    OutOfMemory,  // for the page lists, the statistics buffer or the bitmaps
    NoQueue,      // the inflate or deflate queue is missing
};
const char* to_string(Error error);

// What the balloon needs of its device besides the queues.
class DeviceAccess {
public:
    [[nodiscard]] virtual std::uint32_t num_pages() = 0;  // §5.5.4: the target
    virtual void set_actual(std::uint32_t pages) = 0;     // §5.5.4: pages in the balloon
    virtual void notify(std::uint16_t queue) = 0;         // an available buffer notification

protected:
    DeviceAccess() = default;
    DeviceAccess(const DeviceAccess&) = default;
    DeviceAccess& operator=(const DeviceAccess&) = default;
    ~DeviceAccess() = default;
};

struct QueueRef {
    virtio::Virtqueue* queue = nullptr;
    std::uint16_t index = 0;
};

struct Queues {
    QueueRef inflate;
    QueueRef deflate;
    QueueRef stats;      // with VIRTIO_BALLOON_F_STATS_VQ
    QueueRef reporting;  // with VIRTIO_BALLOON_F_PAGE_REPORTING
};

struct Options {
    std::uint64_t features = 0;                         // negotiated: MUST_TELL_HOST, DEFLATE_ON_OOM matter here
    std::size_t floor_frames = 4096;                    // 16 MiB that inflation never takes
    std::uint64_t report_interval_ns = 10'000'000'000;  // free page reporting, at most this often
    kernel::fmt::Sink* log = nullptr;                   // where messages go ("balloon: ...\n"); none if null
};

struct Stats {
    std::uint64_t inflated = 0;         // pages the device acknowledged on the inflate queue
    std::uint64_t deflated = 0;         // pages taken back through the deflate queue
    std::uint64_t pressure_pages = 0;   // of those, taken back under memory pressure
    std::uint64_t pressure_events = 0;  // times memory pressure deflated the balloon
    std::uint64_t floor_holds = 0;      // targets the floor kept the balloon from reaching
    std::uint64_t stats_sent = 0;       // statistics buffers given to the device
    std::uint64_t reports = 0;          // free page reports
    std::uint64_t reported_frames = 0;  // frames in them
    std::uint64_t device_errors = 0;    // queue errors (the balloon stops moving after one)
};

class Balloon {
public:
    // Frames per inflate or deflate buffer (Linux uses the same 256).
    static constexpr std::uint32_t k_batch = 256;
    // Free page reporting: runs of this many frames (1 MiB), at most this many per report.
    static constexpr std::size_t k_report_run = 256;
    static constexpr std::size_t k_report_runs = 16;
    // At least this many pages leave the balloon per memory-pressure call (1 MiB).
    static constexpr std::size_t k_pressure_batch = 256;
    // After memory pressure deflated the balloon, it does not inflate for this long.
    static constexpr std::uint64_t k_pressure_backoff_ns = 2'000'000'000;
    // While the floor holds the balloon back, it looks again this often.
    static constexpr std::uint64_t k_floor_retry_ns = 1'000'000'000;

    // Nothing is given to the device until start().
    static kernel::Result<Balloon*, Error> create(const Options& options, const Queues& queues, DeviceAccess& device,
                                                  virtio::DmaAllocator& dma, kernel::FrameAllocator& frames,
                                                  const kernel::Heap* heap);
    Balloon(const Balloon&) = delete;
    Balloon& operator=(const Balloon&) = delete;
    ~Balloon();

    // After DRIVER_OK: the first statistics buffer (§5.5.6.3), and work to look at.
    void start();

    // --- Interrupt context ---------------------------------------------------------------
    // A queue or the configuration changed: records it and calls the wake hook.
    void interrupt() noexcept;
    // Called (possibly in interrupt context) whenever poll() has work.
    void set_wake(void (*wake)(void* context), void* context);
    [[nodiscard]] bool work_pending() const { return m_work.load(std::memory_order_acquire); }

    // --- Event loop ----------------------------------------------------------------------
    // Takes back what the device returned, then moves towards the target by one batch.
    // Returns the time by which it wants to be called again even if nothing wakes it.
    std::optional<std::uint64_t> poll(std::uint64_t now_ns);

    // --- Memory pressure (FrameAllocator::PressureHandler) -------------------------------
    // Gives at least `frames` frames (at least k_pressure_batch) back to the allocator at
    // once, if DEFLATE_ON_OOM was negotiated and MUST_TELL_HOST was not (§5.5.6.1); the
    // device hears of it from the next poll(). Allocates nothing. Returns the frames freed.
    std::size_t relieve(std::size_t frames);
    static std::size_t pressure_handler(void* balloon, std::size_t frames) {
        return static_cast<Balloon*>(balloon)->relieve(frames);
    }

    // The application's own inflation above the device's target (§5.5.6.1: the driver
    // MAY supply pages beyond num_pages), e.g. to exercise the queues.
    void set_extra_pages(std::uint32_t pages);

    // --- State ---------------------------------------------------------------------------
    [[nodiscard]] std::uint32_t target() const { return m_target; }  // num_pages, as last read
    // Pages the device counts in the balloon (what `actual` says).
    [[nodiscard]] std::uint32_t pages() const;
    // Pages the guest has lent and not taken back (pages() minus those taken back under
    // pressure and not yet told to the device).
    [[nodiscard]] std::size_t held_pages() const { return m_held.size(); }
    // Nothing in flight, nothing to tell, and at the target (or held by the floor).
    [[nodiscard]] bool settled() const;
    [[nodiscard]] bool held_by_floor() const { return m_floor_hold; }
    [[nodiscard]] bool stopped() const { return m_stopped; }
    [[nodiscard]] std::size_t floor_frames() const { return m_options.floor_frames; }
    [[nodiscard]] std::uint64_t features() const { return m_options.features; }
    [[nodiscard]] bool has_stats_queue() const { return m_queues.stats.queue != nullptr; }
    [[nodiscard]] bool has_reporting_queue() const { return m_queues.reporting.queue != nullptr; }
    [[nodiscard]] const Stats& stats() const { return m_stats; }

private:
    Balloon(const Options& options, const Queues& queues, DeviceAccess& device, kernel::FrameAllocator& frames,
            const kernel::Heap* heap);

    template <typename... Args>
    void log(kernel::fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
        if (m_options.log != nullptr) kernel::fmt::format_to<Args...>(*m_options.log, format, args...);
    }
    void wake() noexcept;
    void stop(const char* what, virtio::QueueError error);
    void drain();
    void finish_inflate();
    void finish_deflate();
    void finish_report();
    bool send_pages(const QueueRef& queue, std::uint32_t* list, std::uint32_t count);
    void tell_taken_back();
    void inflate(std::uint32_t count, std::uint64_t now_ns);
    void deflate(std::uint32_t count);
    void send_stats();
    void report_free(std::uint64_t now_ns);
    void update_actual();
    [[nodiscard]] bool may_take_back_early() const;

    Options m_options;
    Queues m_queues;
    DeviceAccess* m_device;
    kernel::FrameAllocator* m_frames;
    const kernel::Heap* m_heap;

    virtio::DmaBuffer m_inflate_list;  // k_batch page numbers
    virtio::DmaBuffer m_deflate_list;
    virtio::DmaBuffer m_stats_buffer;
    FrameSet m_held;        // lent to the host, acknowledged
    FrameSet m_taken_back;  // taken back under pressure, the device not yet told

    std::uint32_t m_inflating = 0;   // pages in the inflate buffer the device holds
    std::uint32_t m_deflating = 0;   // pages in the deflate buffer the device holds
    bool m_deflating_early = false;  // those were given back to the allocator at once
    bool m_stats_in_flight = false;
    bool m_report_in_flight = false;
    std::array<virtio::Segment, k_report_runs> m_report_runs{};
    std::size_t m_report_run_count = 0;
    std::uint64_t m_next_report_ns = 0;
    std::optional<std::uint64_t> m_allocations_at_report;

    std::uint32_t m_target = 0;
    std::uint32_t m_extra = 0;
    std::optional<std::uint32_t> m_floor_logged_for;  // the target the floor message was for
    bool m_floor_hold = false;
    std::uint64_t m_pressure_seen = 0;      // m_stats.pressure_events at the last poll
    std::uint64_t m_pressure_until_ns = 0;  // no inflation before this, after memory pressure
    std::uint64_t m_floor_retry_ns = 0;     // the floor held us back: look again then
    bool m_stopped = false;
    bool m_started = false;

    std::atomic<bool> m_work{false};
    void (*m_wake)(void*) = nullptr;
    void* m_wake_context = nullptr;
    Stats m_stats;
};

}  // namespace balloon
