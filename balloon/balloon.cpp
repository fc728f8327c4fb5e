#include "balloon/balloon.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <new>
#include <span>

#include "balloon/wire.hpp"

namespace balloon {

// Page numbers and statistics go to the device in the CPU's byte order, which must be
// the little-endian order the device reads (§5.5.6).
static_assert(std::endian::native == std::endian::little);

namespace {

constexpr std::uint64_t k_page = wire::k_page_size;
constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::size_t k_stat_count = 6;

std::uint32_t page_number(std::uint64_t address) { return static_cast<std::uint32_t>(address >> wire::k_pfn_shift); }
std::uint64_t address_of(std::uint32_t page) { return std::uint64_t{page} << wire::k_pfn_shift; }

}  // namespace

const char* to_string(Error error) {
    switch (error) {
        case Error::OutOfMemory: return "out of memory for the balloon's page lists and bitmaps";
        case Error::NoQueue: return "the inflate or deflate queue is missing";
    }
    return "unknown balloon error";
}

Balloon::Balloon(const Options& options, const Queues& queues, DeviceAccess& device, kernel::FrameAllocator& frames,
                 const kernel::Heap* heap)
    : m_options(options), m_queues(queues), m_device(&device), m_frames(&frames), m_heap(heap) {}

Balloon::~Balloon() = default;

kernel::Result<Balloon*, Error> Balloon::create(const Options& options, const Queues& queues, DeviceAccess& device,
                                                virtio::DmaAllocator& dma, kernel::FrameAllocator& frames,
                                                const kernel::Heap* heap) {
    if (queues.inflate.queue == nullptr || queues.deflate.queue == nullptr) return kernel::err(Error::NoQueue);
    auto* balloon = new (std::nothrow) Balloon(options, queues, device, frames, heap);
    if (balloon == nullptr) return kernel::err(Error::OutOfMemory);
    auto inflate_list = virtio::DmaBuffer::allocate(dma, k_batch * sizeof(std::uint32_t), 16);
    auto deflate_list = virtio::DmaBuffer::allocate(dma, k_batch * sizeof(std::uint32_t), 16);
    auto stats_buffer = virtio::DmaBuffer::allocate(dma, k_stat_count * sizeof(wire::Stat), 16);
    balloon->m_held = FrameSet::create(frames.highest_address());
    balloon->m_taken_back = FrameSet::create(frames.highest_address());
    if (!inflate_list || !deflate_list || !stats_buffer || !balloon->m_held.valid() || !balloon->m_taken_back.valid()) {
        delete balloon;
        return kernel::err(Error::OutOfMemory);
    }
    balloon->m_inflate_list = std::move(inflate_list.value());
    balloon->m_deflate_list = std::move(deflate_list.value());
    balloon->m_stats_buffer = std::move(stats_buffer.value());
    return balloon;
}

void Balloon::start() {
    m_started = true;
    if (m_queues.stats.queue != nullptr) send_stats();
    m_work.store(true, std::memory_order_release);
    wake();
}

void Balloon::set_wake(void (*wake)(void*), void* context) {
    m_wake = wake;
    m_wake_context = context;
}

void Balloon::wake() noexcept {
    if (m_wake != nullptr) m_wake(m_wake_context);
}

void Balloon::interrupt() noexcept {
    m_work.store(true, std::memory_order_release);
    wake();
}

void Balloon::set_extra_pages(std::uint32_t pages) {
    m_extra = pages;
    m_work.store(true, std::memory_order_release);
    wake();
}

std::uint32_t Balloon::pages() const {
    return static_cast<std::uint32_t>(m_held.size() + m_taken_back.size() + m_deflating);
}

bool Balloon::settled() const {
    if (m_inflating != 0 || m_deflating != 0 || m_taken_back.size() != 0 || work_pending()) return false;
    std::uint64_t want = std::uint64_t{m_target} + m_extra;
    return m_held.size() == want || (m_held.size() < want && m_floor_hold);
}

bool Balloon::may_take_back_early() const { return (m_options.features & wire::k_must_tell_host) == 0; }

void Balloon::stop(const char* what, virtio::QueueError error) {
    ++m_stats.device_errors;
    if (!m_stopped) log("balloon: {} queue: {}; the balloon stops here\n", what, virtio::to_string(error));
    m_stopped = true;
}

void Balloon::update_actual() { m_device->set_actual(pages()); }

bool Balloon::send_pages(const QueueRef& queue, std::uint32_t* list, std::uint32_t count) {
    const virtio::Segment segment{
        queue.queue == m_queues.inflate.queue ? m_inflate_list.device_address() : m_deflate_list.device_address(),
        count * static_cast<std::uint32_t>(sizeof *list)};
    auto added = queue.queue->add_buffer(std::span(&segment, 1), {}, queue.index);
    if (!added) {
        stop(queue.index == m_queues.inflate.index ? "inflate" : "deflate", added.error());
        return false;
    }
    if (queue.queue->kick_needed()) m_device->notify(queue.index);
    return true;
}

// --- Taking back what the device returned ------------------------------------------------

void Balloon::finish_inflate() {
    // §5.5.6.1: the pages are the host's from the acknowledgement on.
    const auto* list = reinterpret_cast<const std::uint32_t*>(m_inflate_list.cpu());
    for (std::uint32_t i = 0; i < m_inflating; ++i) static_cast<void>(m_held.insert(address_of(list[i])));
    m_stats.inflated += m_inflating;
    m_inflating = 0;
    update_actual();
}

void Balloon::finish_deflate() {
    // §5.5.6.1: with MUST_TELL_HOST the pages are usable only now.
    if (!m_deflating_early) {
        const auto* list = reinterpret_cast<const std::uint32_t*>(m_deflate_list.cpu());
        for (std::uint32_t i = 0; i < m_deflating; ++i) static_cast<void>(m_frames->take_back(address_of(list[i])));
    }
    m_stats.deflated += m_deflating;
    m_deflating = 0;
    update_actual();
}

void Balloon::finish_report() {
    // Reported frames are the guest's again once the device returns the buffer
    // (§5.5.6.7); their contents are undefined, which a frame fresh from the allocator
    // may be anyway.
    for (std::size_t i = 0; i < m_report_run_count; ++i)
        static_cast<void>(m_frames->free_contiguous(m_report_runs[i].device_address, k_report_run));
    m_report_run_count = 0;
    m_report_in_flight = false;
    m_allocations_at_report = m_frames->allocation_count();
}

void Balloon::drain() {
    struct Step {
        QueueRef queue;
        const char* name;
        void (Balloon::*finish)();
    };
    const std::array<Step, 4> steps = {{{m_queues.inflate, "inflate", &Balloon::finish_inflate},
                                        {m_queues.deflate, "deflate", &Balloon::finish_deflate},
                                        {m_queues.stats, "statistics", &Balloon::send_stats},
                                        {m_queues.reporting, "reporting", &Balloon::finish_report}}};
    for (const Step& step : steps) {
        if (step.queue.queue == nullptr) continue;
        for (;;) {
            auto used = step.queue.queue->get_used();
            if (!used) {
                stop(step.name, used.error());
                return;
            }
            if (!used.value()) break;
            if (step.finish == &Balloon::send_stats) m_stats_in_flight = false;
            (this->*step.finish)();
        }
    }
}

// --- Moving towards the target -----------------------------------------------------------

void Balloon::inflate(std::uint32_t count, std::uint64_t now_ns) {
    auto* list = reinterpret_cast<std::uint32_t*>(m_inflate_list.cpu());
    std::uint32_t taken = 0;
    bool floor_reached = false;
    while (taken < count) {
        if (m_frames->free_frames() <= m_options.floor_frames) {
            floor_reached = true;
            break;
        }
        auto frame = m_frames->allocate(kernel::FrameAllocator::Relief::None);
        if (!frame) {
            floor_reached = true;
            break;
        }
        if (*frame >> wire::k_pfn_shift > std::numeric_limits<std::uint32_t>::max()) {
            // A page number the device cannot take: leave the frame allocated to no one
            // would leak it, so give it back and stop here.
            static_cast<void>(m_frames->free(*frame));
            floor_reached = true;
            break;
        }
        static_cast<void>(m_frames->lend(*frame));
        list[taken++] = page_number(*frame);
    }
    if (taken > 0) {
        if (send_pages(m_queues.inflate, list, taken)) {
            m_inflating = taken;
        } else {
            for (std::uint32_t i = 0; i < taken; ++i) static_cast<void>(m_frames->take_back(address_of(list[i])));
        }
    }
    m_floor_hold = floor_reached;
    if (floor_reached) {
        if (m_floor_logged_for != m_target) {
            m_floor_logged_for = m_target;
            ++m_stats.floor_holds;
            log("balloon: target {} pages ({} MiB) would leave less than the floor of {} MiB free; holding at {} "
                "pages\n",
                m_target, std::uint64_t{m_target} * k_page / k_mib, m_options.floor_frames * k_page / k_mib,
                m_held.size() + taken);
        }
        m_floor_retry_ns = now_ns + k_floor_retry_ns;
    }
}

void Balloon::deflate(std::uint32_t count) {
    auto* list = reinterpret_cast<std::uint32_t*>(m_deflate_list.cpu());
    bool early = may_take_back_early();
    std::uint32_t taken = 0;
    while (taken < count) {
        auto frame = m_held.take_any();
        if (!frame) break;
        // §5.5.6.1: without MUST_TELL_HOST the pages may be used before the device answers.
        if (early) static_cast<void>(m_frames->take_back(*frame));
        list[taken++] = page_number(*frame);
    }
    if (taken == 0) return;
    m_deflating = taken;
    m_deflating_early = early;
    if (!send_pages(m_queues.deflate, list, taken)) {
        m_deflating = 0;
        for (std::uint32_t i = 0; i < taken; ++i) {
            if (early)
                static_cast<void>(m_taken_back.insert(address_of(list[i])));
            else
                static_cast<void>(m_held.insert(address_of(list[i])));
        }
    }
}

void Balloon::tell_taken_back() {
    // The frames are the guest's already (relieve()); §5.5.6.1 still wants the device told
    // through the deflate queue.
    auto* list = reinterpret_cast<std::uint32_t*>(m_deflate_list.cpu());
    std::uint32_t taken = 0;
    while (taken < k_batch) {
        auto frame = m_taken_back.take_any();
        if (!frame) break;
        list[taken++] = page_number(*frame);
    }
    if (taken == 0) return;
    m_deflating = taken;
    m_deflating_early = true;
    if (!send_pages(m_queues.deflate, list, taken)) {
        m_deflating = 0;
        for (std::uint32_t i = 0; i < taken; ++i) static_cast<void>(m_taken_back.insert(address_of(list[i])));
    }
}

std::size_t Balloon::relieve(std::size_t frames) {
    // §5.5.6.1: only with DEFLATE_ON_OOM may the guest take pages back below num_pages,
    // and only without MUST_TELL_HOST may it use them before the device acknowledges.
    if ((m_options.features & wire::k_deflate_on_oom) == 0 || !may_take_back_early() || m_stopped) return 0;
    std::size_t wanted = std::max(frames, k_pressure_batch);
    std::size_t given = 0;
    while (given < wanted) {
        auto frame = m_held.take_any();
        if (!frame) break;
        static_cast<void>(m_frames->take_back(*frame));
        static_cast<void>(m_taken_back.insert(*frame));
        ++given;
    }
    if (given > 0) {
        m_stats.pressure_pages += given;
        ++m_stats.pressure_events;
        m_work.store(true, std::memory_order_release);
        wake();
    }
    return given;
}

// --- Statistics (§5.5.6.3) ---------------------------------------------------------------

void Balloon::send_stats() {
    if (m_queues.stats.queue == nullptr || m_stats_in_flight || m_stopped) return;
    std::uint64_t free_bytes = m_frames->free_frames() * k_page;
    std::uint64_t total = (m_frames->managed_frames() - m_frames->lent_frames()) * k_page;
    std::uint64_t heap_free = m_heap != nullptr ? m_heap->free_bytes() : 0;
    // No swap, so no swap figures. Nothing is paged in or out (a page fault is a bug that
    // stops the kernel) and nothing is cached: those counters are honestly zero.
    const std::array<wire::Stat, k_stat_count> figures = {{
        {wire::stat_tag::k_memory_free, free_bytes},
        {wire::stat_tag::k_memory_total, total},
        {wire::stat_tag::k_available, free_bytes + heap_free},
        {wire::stat_tag::k_major_faults, 0},
        {wire::stat_tag::k_minor_faults, 0},
        {wire::stat_tag::k_caches, 0},
    }};
    std::memcpy(m_stats_buffer.cpu(), figures.data(), sizeof figures);
    const virtio::Segment segment{m_stats_buffer.device_address(), static_cast<std::uint32_t>(sizeof figures)};
    auto added = m_queues.stats.queue->add_buffer(std::span(&segment, 1), {}, m_queues.stats.index);
    if (!added) {
        stop("statistics", added.error());
        return;
    }
    m_stats_in_flight = true;
    ++m_stats.stats_sent;
    if (m_queues.stats.queue->kick_needed()) m_device->notify(m_queues.stats.index);
}

// --- Free page reporting (§5.5.6.7) ------------------------------------------------------

void Balloon::report_free(std::uint64_t now_ns) {
    if (m_queues.reporting.queue == nullptr || m_report_in_flight || now_ns < m_next_report_ns) return;
    m_next_report_ns = now_ns + m_options.report_interval_ns;
    // Nothing allocated since the last report: the free frames are the ones reported then.
    if (m_allocations_at_report == m_frames->allocation_count()) return;
    // While reported, the frames are the device's: take at most half of what lies above
    // the floor, so that allocations meanwhile still find memory.
    std::size_t free = m_frames->free_frames();
    std::size_t spare = free > m_options.floor_frames ? (free - m_options.floor_frames) / 2 : 0;
    std::size_t runs = std::min(spare / k_report_run, k_report_runs);
    m_report_run_count = 0;
    for (std::size_t i = 0; i < runs; ++i) {
        auto first = m_frames->allocate_contiguous(k_report_run, k_report_run, kernel::FrameAllocator::Relief::None);
        if (!first) break;
        m_report_runs[m_report_run_count++] = {*first, static_cast<std::uint32_t>(k_report_run * k_page)};
    }
    if (m_report_run_count == 0) {
        m_allocations_at_report = m_frames->allocation_count();
        return;
    }
    // Device-writable: the device may discard the contents (§5.5.6.7).
    auto added = m_queues.reporting.queue->add_buffer({}, std::span(m_report_runs.data(), m_report_run_count),
                                                      m_queues.reporting.index);
    if (!added) {
        for (std::size_t i = 0; i < m_report_run_count; ++i)
            static_cast<void>(m_frames->free_contiguous(m_report_runs[i].device_address, k_report_run));
        m_report_run_count = 0;
        stop("reporting", added.error());
        return;
    }
    m_report_in_flight = true;
    ++m_stats.reports;
    m_stats.reported_frames += m_report_run_count * k_report_run;
    if (m_queues.reporting.queue->kick_needed()) m_device->notify(m_queues.reporting.index);
}

// --- The loop's entry --------------------------------------------------------------------

std::optional<std::uint64_t> Balloon::poll(std::uint64_t now_ns) {
    m_work.store(false, std::memory_order_release);
    if (m_stopped || !m_started) return std::nullopt;
    drain();
    if (m_stopped) return std::nullopt;

    if (m_stats.pressure_events != m_pressure_seen) {
        m_pressure_seen = m_stats.pressure_events;
        log("balloon: memory pressure: {} pages taken back in {} events; no inflation for {} ms\n",
            m_stats.pressure_pages, m_stats.pressure_events, k_pressure_backoff_ns / 1'000'000);
        m_pressure_until_ns = now_ns + k_pressure_backoff_ns;
    }

    std::optional<std::uint64_t> deadline;
    auto wake_by = [&deadline](std::uint64_t at) { deadline = deadline ? std::min(*deadline, at) : at; };

    report_free(now_ns);
    if (m_queues.reporting.queue != nullptr && !m_report_in_flight) wake_by(m_next_report_ns);

    if (m_inflating != 0 || m_deflating != 0) return deadline;  // the interrupt brings us back
    if (m_taken_back.size() != 0) {
        tell_taken_back();
        return deadline;
    }
    std::uint32_t target = m_device->num_pages();
    if (target != m_target) {
        m_floor_hold = false;
        m_floor_retry_ns = 0;
    }
    m_target = target;
    std::uint64_t want = std::uint64_t{m_target} + m_extra;
    std::uint64_t have = m_held.size();
    std::uint64_t hold_until = std::max(m_pressure_until_ns, m_floor_retry_ns);
    if (have < want) {
        if (now_ns < hold_until) {
            wake_by(hold_until);
        } else {
            inflate(static_cast<std::uint32_t>(std::min<std::uint64_t>(k_batch, want - have)), now_ns);
            if (m_floor_hold) wake_by(m_floor_retry_ns);
        }
    } else if (have > want) {
        m_floor_hold = false;
        deflate(static_cast<std::uint32_t>(std::min<std::uint64_t>(k_batch, have - want)));
    } else {
        m_floor_hold = false;
    }
    return deadline;
}

}  // namespace balloon
