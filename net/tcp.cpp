#include "net/tcp.hpp"

#include <utility>

#include "net/interface.hpp"
#include "net/tcp_internal.hpp"
#include "net/wire/ipv4.hpp"
#include "netif/packet_buffer.hpp"
#include "runtime/event_loop.hpp"

namespace net {

using namespace tcp_flags;

namespace {

constexpr std::uint16_t k_ephemeral_first = 49152;  // RFC 6335 §6
constexpr std::uint32_t k_ephemeral_count = 65536 - k_ephemeral_first;

std::uint64_t mix(std::uint64_t x) {
    // splitmix64's finalizer: enough to spread four-tuples over the buckets.
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace

// --- the layer ---

TcpLayer::TcpLayer(Interface& interface, const TcpConfig& config, std::uint64_t seed, runtime::Signal* wake)
    : m_interface(interface),
      m_config(config),
      m_wake(wake),
      m_isn(mix(seed ^ 0x5453'4E49)),
      m_cookies(mix(seed ^ 0x4B4F'4F43)),
      m_hash_key(mix(seed)),
      m_next_port(static_cast<std::uint16_t>(k_ephemeral_first + mix(seed + 1) % k_ephemeral_count)) {
    interface.set_tcp(this);
}

TcpLayer::~TcpLayer() {
    m_interface.set_tcp(nullptr);
    // Listeners and streams must be gone before the layer; what the stack still finishes
    // in the background goes now.
    while (m_all != nullptr) {
        TcpConnection* c = m_all;
        unlink(c);
        delete c;
    }
    for (TcpListener* l = m_listeners; l != nullptr; l = l->m_next) l->m_port = 0;
}

std::array<std::size_t, 10> TcpLayer::state_counts() const {
    std::array<std::size_t, 10> counts{};
    for (const TcpConnection* c = m_all; c != nullptr; c = c->next_in_list)
        ++counts[static_cast<std::size_t>(c->state())];
    return counts;
}

std::size_t TcpLayer::bucket(const TcpFourTuple& t) const {
    std::uint64_t a = (std::uint64_t{t.remote.value} << 32) | (std::uint64_t{t.remote_port} << 16) | t.local_port;
    return mix(a ^ m_hash_key ^ (std::uint64_t{t.local.value} << 7)) % k_buckets;
}

TcpConnection* TcpLayer::find(const TcpFourTuple& tuple) {
    for (TcpConnection* c = m_buckets[bucket(tuple)]; c != nullptr; c = c->next_in_bucket) {
        if (c->tuple() == tuple) return c;
    }
    return nullptr;
}

TcpListener* TcpLayer::find_listener(std::uint16_t port) {
    for (TcpListener* l = m_listeners; l != nullptr; l = l->m_next) {
        if (l->m_port == port) return l;
    }
    return nullptr;
}

TcpConnection* TcpLayer::create(const TcpFourTuple& tuple, runtime::Instant now) {
    if (m_connection_count >= m_config.max_connections) {
        ++m_stats.table_full;
        return nullptr;
    }
    auto* c = new (std::nothrow) TcpConnection(*this, tuple, m_config, now);
    if (c == nullptr) {
        ++m_stats.no_memory;
        return nullptr;
    }
    std::size_t b = bucket(tuple);
    c->next_in_bucket = m_buckets[b];
    m_buckets[b] = c;
    c->in_table = true;
    c->next_in_list = m_all;
    if (m_all != nullptr) m_all->previous_in_list = c;
    m_all = c;
    ++m_connection_count;
    ++m_stats.connections_opened;
    return c;
}

void TcpLayer::connection_closed(TcpConnection& connection) {
    // Out of the table: later segments for this four-tuple are answered with a reset.
    if (!connection.in_table) return;
    TcpConnection** link = &m_buckets[bucket(connection.tuple())];
    while (*link != nullptr && *link != &connection) link = &(*link)->next_in_bucket;
    if (*link != nullptr) *link = connection.next_in_bucket;
    connection.next_in_bucket = nullptr;
    connection.in_table = false;
    ++m_stats.connections_closed;
}

void TcpLayer::unlink(TcpConnection* c) {
    connection_closed(*c);
    if (c->previous_in_list != nullptr)
        c->previous_in_list->next_in_list = c->next_in_list;
    else
        m_all = c->next_in_list;
    if (c->next_in_list != nullptr) c->next_in_list->previous_in_list = c->previous_in_list;
    --m_connection_count;
}

void TcpLayer::destroy(TcpConnection* c) {
    if (c->listener != nullptr) {
        c->listener->forget(*c);
        c->listener = nullptr;
    }
    unlink(c);
    delete c;
}

void TcpLayer::reap(TcpConnection* c) {
    if (c->finished()) destroy(c);
}

void TcpLayer::release(TcpConnection& connection) {
    // A callback closing its own connection: freed once the layer is done with it.
    if (&connection != m_busy) reap(&connection);
}

bool TcpLayer::charge(std::size_t bytes) {
    if (m_memory_used + bytes > m_config.memory_limit) {
        ++m_stats.no_memory;
        return false;
    }
    m_memory_used += bytes;
    return true;
}

bool TcpLayer::allow_challenge_ack(runtime::Instant now) {
    if (now - m_challenge_window >= std::chrono::seconds(1)) {
        m_challenge_window = now;
        m_challenge_acks = 0;
    }
    if (m_challenge_acks >= m_config.challenge_acks_per_second) {
        ++m_stats.challenge_acks_limited;
        return false;
    }
    ++m_challenge_acks;
    return true;
}

void TcpLayer::deadline_changed(runtime::Instant deadline) {
    if (m_poll_at && *m_poll_at <= deadline) return;
    m_poll_at = deadline;
    if (m_wake != nullptr) m_wake->notify();
}

void TcpLayer::after_call(TcpConnection& connection) {
    // With a poller to wake, the device is told once for everything the applications did
    // in this turn of the loop (one notification, not one per write).
    if (m_wake != nullptr)
        m_wake->notify();
    else
        flush();
    if (auto next = connection.next_deadline()) deadline_changed(*next);
}

netif::PacketBuffer* TcpLayer::allocate_buffer() { return m_interface.allocate_buffer(); }
netif::PacketBuffer* TcpLayer::allocate_tso_buffer() { return m_interface.device().allocate_tso_buffer(); }
std::size_t TcpLayer::tso_limit() const {
    auto c = m_interface.device().capabilities();
    return c.tx_checksum_offload && c.max_tso_segment > c.mtu ? std::min<std::size_t>(c.max_tso_segment, 0xFFFF) : 0;
}
bool TcpLayer::checksum_offload() const { return m_interface.device().capabilities().tx_checksum_offload; }
std::size_t TcpLayer::mtu() const { return m_interface.device().capabilities().mtu; }
void TcpLayer::flush() { m_interface.device().flush(); }

bool TcpLayer::transmit(netif::PacketBuffer* segment, Ipv4Address destination, runtime::Instant now) {
    ++m_stats.segments_sent;
    return m_interface.send_ipv4(segment, destination, IpProtocol::Tcp, now);
}

void TcpLayer::send_control(const TcpFourTuple& tuple, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                            runtime::Instant now, std::uint16_t window, const TcpOptions& options) {
    netif::PacketBuffer* buffer = allocate_buffer();
    std::size_t length = TcpSegment::header_length(options);
    if (buffer == nullptr || !buffer->resize(length)) {
        netif::release_buffer(buffer);
        ++m_stats.no_buffer;
        return;
    }
    TcpSegment::emit(buffer->bytes(),
                     {.source_port = tuple.local_port,
                      .destination_port = tuple.remote_port,
                      .sequence = seq,
                      .acknowledgment = ack,
                      .flags = flags,
                      .window = window,
                      .options = options},
                     tuple.local, tuple.remote, 0);
    if ((flags & k_rst) != 0) ++m_stats.resets_sent;
    transmit(buffer, tuple.remote, now);
}

void TcpLayer::send_reset_for(const TcpSegment& seg, const TcpFourTuple& tuple, runtime::Instant now) {
    // RFC 9293 §3.10.7.1: never answer a reset; otherwise make the reset acceptable to the sender.
    if (seg.has(k_rst)) return;
    if (seg.has(k_ack))
        send_control(tuple, seg.acknowledgment(), 0, k_rst, now);
    else
        send_control(tuple, 0, seg.sequence() + seg.sequence_length(), static_cast<std::uint8_t>(k_rst | k_ack), now);
}

void TcpLayer::receive(netif::PacketBuffer* packet, const Ipv4Packet& ip, runtime::Instant now) {
    netif::BufferOwner owner(packet);
    m_now = now;
    ++m_stats.segments_received;
    auto check = packet->metadata.checksum_verified ? TcpSegment::ChecksumCheck::AlreadyVerified
                                                    : TcpSegment::ChecksumCheck::Verify;
    auto segment = TcpSegment::parse(ip.payload(), ip.source(), ip.destination(), check);
    if (!segment) {
        ++m_stats.malformed;
        return;
    }
    const TcpSegment& seg = *segment;
    auto address = m_interface.address();
    // TCP is unicast only (RFC 1122 §4.2.3.10): a broadcast source or destination is dropped.
    if (!address || ip.destination() != address->address || ip.source().is_broadcast() || ip.source().is_multicast() ||
        ip.source() == address->directed_broadcast()) {
        ++m_stats.no_connection;
        return;
    }
    TcpFourTuple tuple{ip.destination(), seg.destination_port(), ip.source(), seg.source_port()};
    if (TcpConnection* c = find(tuple)) {
        // A new SYN for a four-tuple in TIME-WAIT, above what the old connection used,
        // may start a new incarnation (RFC 9293 §3.6.1, RFC 6191).
        bool reopen = c->state() == TcpState::TimeWait && seg.has(k_syn) && !seg.has(k_ack) &&
                      find_listener(tuple.local_port) != nullptr && c->accepts_new_incarnation(seg);
        if (!reopen) {
            m_busy = c;
            c->on_segment(seg, now);
            c->run_callbacks();
            m_busy = nullptr;
            if (c->finished()) {
                destroy(c);
            } else if (auto next = c->next_deadline()) {
                deadline_changed(*next);
            }
            return;
        }
        // The old incarnation leaves the table. A stream may still hold it: then it stays
        // as a closed handle (reading the end of its stream) until the application lets go.
        c->abort(now);
        reap(c);
    }
    if (TcpListener* l = find_listener(tuple.local_port)) return listen_segment(*l, seg, tuple, now);
    ++m_stats.no_connection;
    send_reset_for(seg, tuple, now);
}

void TcpLayer::listen_segment(TcpListener& l, const TcpSegment& seg, const TcpFourTuple& tuple, runtime::Instant now) {
    // RFC 9293 §3.10.7.2.
    if (seg.has(k_rst)) return;
    if (seg.has(k_ack)) {
        if (!seg.has(k_syn) && m_config.syn_cookies) {
            if (auto options = m_cookies.decode(tuple, seg.sequence() - 1, seg.acknowledgment() - 1, now)) {
                if (l.m_queued >= l.m_backlog) {
                    ++m_stats.accept_queue_full;
                    return;  // the peer retransmits; perhaps there is room then
                }
                TcpConnection* c = create(tuple, now);
                if (c == nullptr) return;
                if (!c->open_from_cookie(seg, seg.acknowledgment() - 1, *options, l, now)) {
                    destroy(c);
                    return;
                }
                ++m_stats.syn_cookies_accepted;
                m_busy = c;
                if (!seg.payload().empty() || seg.has(k_fin)) c->on_segment(seg, now);
                c->run_callbacks();
                m_busy = nullptr;
                reap(c);
                return;
            }
            ++m_stats.syn_cookies_rejected;
        }
        send_reset_for(seg, tuple, now);
        return;
    }
    if (!seg.has(k_syn)) return;
    if (l.m_queued >= l.m_backlog) {
        ++m_stats.accept_queue_full;
        return;
    }
    if (l.m_half_open >= m_config.syn_queue || m_connection_count >= m_config.max_connections) {
        if (m_config.syn_cookies) return send_cookie_syn_ack(l, seg, tuple, now);
        ++m_stats.table_full;
        return;
    }
    TcpConnection* c = create(tuple, now);
    if (c == nullptr) {
        if (m_config.syn_cookies) send_cookie_syn_ack(l, seg, tuple, now);
        return;
    }
    c->open_passive(seg, m_isn.isn(tuple, now), l, now);
    if (auto next = c->next_deadline()) deadline_changed(*next);
}

void TcpLayer::send_cookie_syn_ack(TcpListener& listener, const TcpSegment& syn, const TcpFourTuple& tuple,
                                   runtime::Instant now) {
    (void)listener;
    const TcpOptions& peer = syn.options();
    auto our_mss = static_cast<std::uint16_t>(mtu() - 40);
    SynCookieOptions cookie{.mss = std::min<std::uint16_t>(peer.mss.value_or(536), our_mss),
                            .window_scale = std::nullopt,
                            .sack_permitted = peer.sack_permitted && m_config.sack};
    TcpOptions options;
    options.mss = our_mss;
    if (peer.window_scale && m_config.window_scaling) {
        cookie.window_scale = *peer.window_scale;
        options.window_scale = tcp_detail::window_shift_for(m_config.receive_buffer);
    }
    options.sack_permitted = cookie.sack_permitted;
    std::uint32_t iss = m_cookies.encode(tuple, syn.sequence(), cookie, now);
    ++m_stats.syn_cookies_sent;
    send_control(tuple, iss, syn.sequence() + 1, static_cast<std::uint8_t>(k_syn | k_ack), now,
                 static_cast<std::uint16_t>(std::min<std::size_t>(m_config.receive_buffer, 0xFFFF)), options);
}

void TcpLayer::starved(TcpConnection& connection) {
    connection.output_blocked = true;
    if (!m_starved) {
        m_starved = true;
        deadline_changed(m_now + k_starved_retry);
    }
}

void TcpLayer::poll(runtime::Instant now) {
    m_now = now;
    m_poll_at.reset();
    if (m_starved) {
        m_starved = false;
        for (TcpConnection* c = m_all; c != nullptr; c = c->next_in_list) {
            if (c->output_blocked) c->retry_output(now);
        }
    }
    TcpConnection* c = m_all;
    while (c != nullptr) {
        TcpConnection* next = c->next_in_list;
        if (auto at = c->next_deadline(); at && *at <= now) {
            m_busy = c;
            c->on_timer(now);
            c->run_callbacks();
            m_busy = nullptr;
            reap(c);
        }
        c = next;
    }
}

std::optional<runtime::Instant> TcpLayer::poll_at() {
    std::optional<runtime::Instant> next;
    if (m_starved) next = m_now + k_starved_retry;
    for (TcpConnection* c = m_all; c != nullptr; c = c->next_in_list) {
        if (auto at = c->next_deadline(); at && (!next || *at < *next)) next = at;
    }
    m_poll_at = next;
    return next;
}

kernel::Result<std::uint16_t, TcpError> TcpLayer::ephemeral_port(Ipv4Address remote, std::uint16_t remote_port) {
    Ipv4Address local = m_interface.address() ? m_interface.address()->address : Ipv4Address::any();
    for (std::uint32_t i = 0; i < k_ephemeral_count; ++i) {
        std::uint16_t port = m_next_port;
        m_next_port = m_next_port == 65535 ? k_ephemeral_first : static_cast<std::uint16_t>(m_next_port + 1);
        if (find_listener(port) != nullptr || find({local, port, remote, remote_port}) != nullptr) continue;
        return port;
    }
    return kernel::err(TcpError::NoPorts);
}

kernel::Result<TcpConnection*, TcpError> TcpLayer::open(Ipv4Address address, std::uint16_t port, runtime::Instant now) {
    auto local = m_interface.address();
    if (!local || address.is_any() || address.is_broadcast() || address.is_multicast())
        return kernel::err(TcpError::NoRoute);
    auto local_port = ephemeral_port(address, port);
    if (!local_port) return kernel::err(local_port.error());
    TcpFourTuple tuple{local->address, *local_port, address, port};
    TcpConnection* c = create(tuple, now);
    if (c == nullptr) return kernel::err(TcpError::TooManyConnections);
    if (auto opened = c->open_active(m_isn.isn(tuple, now), now); !opened) {
        destroy(c);
        return kernel::err(opened.error());
    }
    c->attach();
    after_call(*c);
    return c;
}

kernel::Result<TcpStream, TcpError> TcpLayer::start_connect(Ipv4Address address, std::uint16_t port) {
    auto c = open(address, port, runtime::now());
    if (!c) return kernel::err(c.error());
    return TcpStream(*this, **c);
}

kernel::Result<void, TcpError> TcpLayer::add_listener(TcpListener& listener, std::uint16_t port) {
    if (port == 0 || find_listener(port) != nullptr) return kernel::err(TcpError::AddressInUse);
    listener.m_port = port;
    listener.m_next = m_listeners;
    m_listeners = &listener;
    return {};
}

void TcpLayer::remove_listener(TcpListener& listener) {
    TcpListener** link = &m_listeners;
    while (*link != nullptr && *link != &listener) link = &(*link)->m_next;
    if (*link != nullptr) *link = listener.m_next;
    // Half-open and unaccepted connections of this listener are reset.
    runtime::Instant now = runtime::now();
    TcpConnection* c = m_all;
    while (c != nullptr) {
        TcpConnection* next = c->next_in_list;
        if (c->listener == &listener) {
            // Closing hands the connection back to the listener (forget), which lets go of
            // the accept queue's hold, so a connection nobody accepted is freed here.
            c->abort(now);
            c->listener = nullptr;
            reap(c);
        }
        c = next;
    }
    flush();
    listener.m_queue = listener.m_queue_tail = nullptr;
    listener.m_queued = listener.m_half_open = 0;
    listener.m_port = 0;
}

TcpLayer::ConnectAwaiter::~ConnectAwaiter() {
    if (m_connection != nullptr) {
        m_connection->connector = nullptr;
        m_connection->detach(runtime::now());
        m_layer.after_call(*m_connection);
        m_layer.release(*m_connection);
    }
}

bool TcpLayer::ConnectAwaiter::await_ready() {
    auto c = m_layer.open(m_address, m_port, runtime::now());
    if (!c) {
        m_error = c.error();
        return true;
    }
    m_connection = *c;
    return m_connection->state() != TcpState::SynSent && m_connection->state() != TcpState::SynReceived;
}

kernel::Result<TcpStream, TcpError> TcpLayer::ConnectAwaiter::await_resume() {
    if (m_error) return kernel::err(*m_error);
    TcpConnection* c = std::exchange(m_connection, nullptr);
    TcpStream stream(m_layer, *c);  // from here the stream owns it
    if (c->error()) return kernel::err(*c->error());
    if (c->state() == TcpState::SynSent || c->state() == TcpState::SynReceived || c->state() == TcpState::Closed)
        return kernel::err(TcpError::TimedOut);
    return stream;
}

// --- listeners ---

TcpListener::~TcpListener() { close(); }

void TcpListener::close() {
    if (m_port == 0) return;
    m_layer.remove_listener(*this);
    if (m_waiter) runtime::EventLoop::current().schedule(std::exchange(m_waiter, nullptr));
}

kernel::Result<void, TcpError> TcpListener::listen(std::uint16_t port, std::size_t backlog) {
    if (m_port != 0) return kernel::err(TcpError::AddressInUse);
    m_backlog = backlog == 0 ? 1 : backlog;
    return m_layer.add_listener(*this, port);
}

void TcpListener::enqueue(TcpConnection& connection) {
    connection.next_accept = nullptr;
    if (m_queue_tail != nullptr)
        m_queue_tail->next_accept = &connection;
    else
        m_queue = &connection;
    m_queue_tail = &connection;
    ++m_queued;
    connection.attach();  // the queue holds it like a handle until accepted
    if (m_waiter)
        runtime::EventLoop::current().schedule(std::exchange(m_waiter, nullptr));
    else if (m_callback)
        m_callback();
}

void TcpListener::forget(TcpConnection& connection) {
    TcpConnection** link = &m_queue;
    TcpConnection* previous = nullptr;
    while (*link != nullptr && *link != &connection) {
        previous = *link;
        link = &(*link)->next_accept;
    }
    if (*link == nullptr) {
        // Not queued: a half-open one that gave up.
        if (connection.state() == TcpState::SynReceived || m_half_open > 0) --m_half_open;
        return;
    }
    *link = connection.next_accept;
    if (m_queue_tail == &connection) m_queue_tail = previous;
    connection.next_accept = nullptr;
    --m_queued;
    // The queue held it like a handle (enqueue): with nobody to accept it now, the layer
    // frees it once it is closed.
    connection.release_queue_hold();
}

std::optional<TcpStream> TcpListener::try_accept() {
    if (m_queue == nullptr) return std::nullopt;
    TcpConnection* c = m_queue;
    m_queue = c->next_accept;
    if (m_queue == nullptr) m_queue_tail = nullptr;
    c->next_accept = nullptr;
    c->listener = nullptr;
    --m_queued;
    return TcpStream(m_layer, *c);
}

TcpListener::AcceptAwaiter::~AcceptAwaiter() { m_listener.m_waiter = nullptr; }

kernel::Result<TcpStream, TcpError> TcpListener::AcceptAwaiter::await_resume() {
    if (auto stream = m_listener.try_accept()) return std::move(*stream);
    return kernel::err(TcpError::Closed);
}

// --- streams ---

TcpStream::TcpStream(TcpLayer& layer, TcpConnection& connection) : m_layer(&layer), m_connection(&connection) {
    connection.attach();
}

TcpStream::TcpStream(TcpStream&& other) noexcept
    : m_layer(std::exchange(other.m_layer, nullptr)), m_connection(std::exchange(other.m_connection, nullptr)) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
    if (this != &other) {
        close();
        m_layer = std::exchange(other.m_layer, nullptr);
        m_connection = std::exchange(other.m_connection, nullptr);
    }
    return *this;
}

kernel::Result<std::size_t, TcpError> TcpStream::try_read(std::span<std::byte> buffer) {
    if (m_connection == nullptr) return kernel::err(TcpError::NotConnected);
    auto n = m_connection->read(buffer, runtime::now());
    m_layer->after_call(*m_connection);
    return n;
}

kernel::Result<std::size_t, TcpError> TcpStream::try_write(std::span<const std::byte> data) {
    if (m_connection == nullptr) return kernel::err(TcpError::NotConnected);
    auto n = m_connection->write(data, runtime::now());
    m_layer->after_call(*m_connection);
    return n;
}

TcpStream::ReadAwaiter::~ReadAwaiter() {
    if (m_stream.m_connection != nullptr) m_stream.m_connection->reader = nullptr;
}

bool TcpStream::WriteAwaiter::await_ready() {
    if (m_stream.m_connection == nullptr) {
        m_error = TcpError::NotConnected;
        return true;
    }
    auto n = m_stream.try_write(m_data);
    if (!n) {
        m_error = n.error();
        return true;
    }
    m_written = *n;
    return m_written == m_data.size();
}

void TcpStream::WriteAwaiter::await_suspend(std::coroutine_handle<> handle) {
    TcpConnection& c = *m_stream.m_connection;
    c.writer = handle;
    c.pending_write = m_data;
    c.pending_written = m_written;
    m_suspended = true;
}

kernel::Result<std::size_t, TcpError> TcpStream::WriteAwaiter::await_resume() {
    if (m_suspended && m_stream.m_connection != nullptr) {
        TcpConnection& c = *m_stream.m_connection;
        m_written = c.pending_written;
        c.pending_write = {};
        c.pending_written = 0;
        m_suspended = false;
        if (m_written < m_data.size()) m_error = c.error().value_or(TcpError::Closed);
    }
    if (m_error) return kernel::err(*m_error);
    return m_written;
}

TcpStream::WriteAwaiter::~WriteAwaiter() {
    if (m_suspended && m_stream.m_connection != nullptr) {
        m_stream.m_connection->writer = nullptr;
        m_stream.m_connection->pending_write = {};
    }
}

void TcpStream::on_readable(runtime::InplaceFunction<void()> callback) {
    if (m_connection != nullptr) m_connection->on_readable = std::move(callback);
}

void TcpStream::on_writable(runtime::InplaceFunction<void()> callback) {
    if (m_connection != nullptr) m_connection->on_writable = std::move(callback);
}

void TcpStream::shutdown() {
    if (m_connection == nullptr) return;
    m_connection->shutdown(runtime::now());
    m_layer->after_call(*m_connection);
}

void TcpStream::close() {
    if (m_connection == nullptr) return;
    TcpConnection* c = std::exchange(m_connection, nullptr);
    c->detach(runtime::now());
    m_layer->after_call(*c);
    m_layer->release(*c);
}

void TcpStream::abort() {
    if (m_connection == nullptr) return;
    m_connection->abort(runtime::now());
    m_layer->after_call(*m_connection);
}

void TcpStream::set_keepalive(std::optional<runtime::Duration> idle) {
    if (m_connection == nullptr) return;
    m_connection->set_keepalive(idle, runtime::now());
    m_layer->after_call(*m_connection);
}

}  // namespace net
