#pragma once
// TCP for applications: listen/accept, connect, read, write, shutdown and close, as
// coroutines with errors as values, plus a callback form.
//
//     net::TcpListener listener(stack.tcp());
//     TRY(listener.listen(7));
//     for (;;) {
//         auto stream = co_await listener.accept();        // Result<TcpStream, TcpError>
//         runtime::spawn(echo(std::move(*stream)));
//     }
//     ...
//     auto n = co_await stream.read(buffer);               // 0: the peer closed its side
//     auto w = co_await stream.write(buffer.first(*n));    // waits for buffer space (back-pressure)
//     stream.close();                                       // FIN after the queued data
//
// TcpLayer is the protocol module: it finds the connection for each segment (a hash of the
// four-tuple), answers SYNs for listeners (a bounded SYN queue, then SYN cookies), resets
// segments for nobody, runs the connections' timers and bounds their memory.

#include <array>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "net/tcp_connection.hpp"
#include "net/tcp_isn.hpp"
#include "runtime/function.hpp"
#include "runtime/signal.hpp"
#include "runtime/time.hpp"

namespace netif {
class PacketBuffer;
}  // namespace netif

namespace net {

class Interface;
class Ipv4Packet;

struct TcpLayerStats {
    std::uint64_t segments_received = 0, segments_sent = 0;
    std::uint64_t malformed = 0;      // checksum, header length, options
    std::uint64_t resets_sent = 0;    // to segments for no connection, and aborts
    std::uint64_t no_connection = 0;  // segments for a closed port
    std::uint64_t syn_cookies_sent = 0, syn_cookies_accepted = 0, syn_cookies_rejected = 0;
    std::uint64_t accept_queue_full = 0;  // SYNs dropped: nobody accepts fast enough
    std::uint64_t table_full = 0;         // SYNs/connects refused: max_connections
    std::uint64_t no_memory = 0;          // refused: memory_limit or the heap
    std::uint64_t no_buffer = 0;          // segments not sent for want of a packet buffer
    std::uint64_t retransmitted_segments = 0, fast_retransmits = 0, timeouts = 0, tail_loss_probes = 0;
    std::uint64_t tso_sends = 0;               // sends of several segments at once (segments_sent counts each once)
    std::uint64_t challenge_acks_limited = 0;  // RFC 5961 §7
    std::uint64_t connections_opened = 0, connections_closed = 0;
};

class TcpStream;

class TcpListener {
public:
    explicit TcpListener(TcpLayer& layer) : m_layer(layer) {}
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;
    // Stops listening: connections not yet accepted are reset.
    ~TcpListener();

    // backlog: established connections waiting for accept().
    kernel::Result<void, TcpError> listen(std::uint16_t port, std::size_t backlog = 128);
    [[nodiscard]] std::uint16_t port() const { return m_port; }
    // Stops listening: a waiting accept() returns TcpError::Closed.
    void close();
    std::optional<TcpStream> try_accept();

    class AcceptAwaiter {
    public:
        explicit AcceptAwaiter(TcpListener& listener) : m_listener(listener) {}
        AcceptAwaiter(const AcceptAwaiter&) = delete;
        AcceptAwaiter& operator=(const AcceptAwaiter&) = delete;
        ~AcceptAwaiter();
        bool await_ready() { return m_listener.m_queue != nullptr || m_listener.m_port == 0; }
        void await_suspend(std::coroutine_handle<> handle) { m_listener.m_waiter = handle; }
        kernel::Result<TcpStream, TcpError> await_resume();

    private:
        TcpListener& m_listener;
    };
    // co_await: the next established connection. One coroutine at a time may wait.
    AcceptAwaiter accept() { return AcceptAwaiter(*this); }
    // The callback form: called when a connection is ready for try_accept().
    void on_accept(runtime::InplaceFunction<void()> callback) { m_callback = std::move(callback); }

    [[nodiscard]] std::size_t half_open() const { return m_half_open; }
    [[nodiscard]] std::size_t queued() const { return m_queued; }

private:
    friend class TcpLayer;
    friend class TcpConnection;
    void enqueue(TcpConnection& connection);
    void forget(TcpConnection& connection);

    TcpLayer& m_layer;
    std::uint16_t m_port = 0;
    std::size_t m_backlog = 0;
    std::size_t m_half_open = 0;  // SYN-RECEIVED connections
    std::size_t m_queued = 0;
    TcpConnection* m_queue = nullptr;  // established, oldest first
    TcpConnection* m_queue_tail = nullptr;
    std::coroutine_handle<> m_waiter;
    runtime::InplaceFunction<void()> m_callback;
    TcpListener* m_next = nullptr;
};

// The application's handle on one connection. Move-only; dropping it closes the
// connection gracefully (the stack finishes sending in the background).
class TcpStream {
public:
    TcpStream() = default;
    TcpStream(TcpLayer& layer, TcpConnection& connection);
    TcpStream(TcpStream&& other) noexcept;
    TcpStream& operator=(TcpStream&& other) noexcept;
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;
    ~TcpStream() { close(); }

    explicit operator bool() const { return m_connection != nullptr; }
    [[nodiscard]] const TcpFourTuple& tuple() const { return m_connection->tuple(); }
    [[nodiscard]] TcpState state() const { return m_connection->state(); }
    [[nodiscard]] const TcpConnection& connection() const { return *m_connection; }

    class ReadAwaiter {
    public:
        ReadAwaiter(TcpStream& stream, std::span<std::byte> buffer) : m_stream(stream), m_buffer(buffer) {}
        ReadAwaiter(const ReadAwaiter&) = delete;
        ReadAwaiter& operator=(const ReadAwaiter&) = delete;
        ~ReadAwaiter();
        bool await_ready() { return m_stream.m_connection == nullptr || m_stream.m_connection->readable(); }
        void await_suspend(std::coroutine_handle<> handle) { m_stream.m_connection->reader = handle; }
        kernel::Result<std::size_t, TcpError> await_resume() { return m_stream.try_read(m_buffer); }

    private:
        TcpStream& m_stream;
        std::span<std::byte> m_buffer;
    };
    class WriteAwaiter {
    public:
        WriteAwaiter(TcpStream& stream, std::span<const std::byte> data) : m_stream(stream), m_data(data) {}
        WriteAwaiter(const WriteAwaiter&) = delete;
        WriteAwaiter& operator=(const WriteAwaiter&) = delete;
        ~WriteAwaiter();
        bool await_ready();
        void await_suspend(std::coroutine_handle<> handle);
        kernel::Result<std::size_t, TcpError> await_resume();

    private:
        TcpStream& m_stream;
        std::span<const std::byte> m_data;
        std::size_t m_written = 0;
        std::optional<TcpError> m_error;
        bool m_suspended = false;
    };

    // co_await: at least one byte into buffer, 0 at the end of the stream, or an error.
    ReadAwaiter read(std::span<std::byte> buffer) { return {*this, buffer}; }
    // co_await: all of data queued for sending (waiting while the send buffer is full), or an error.
    WriteAwaiter write(std::span<const std::byte> data) { return {*this, data}; }
    // Without waiting: what is there now (Result 0 and readable() false: nothing yet).
    kernel::Result<std::size_t, TcpError> try_read(std::span<std::byte> buffer);
    kernel::Result<std::size_t, TcpError> try_write(std::span<const std::byte> data);
    [[nodiscard]] bool readable() const { return m_connection == nullptr || m_connection->readable(); }
    [[nodiscard]] bool writable() const { return m_connection == nullptr || m_connection->writable(); }
    // The callback form: called from the stack when reading or writing would make progress.
    void on_readable(runtime::InplaceFunction<void()> callback);
    void on_writable(runtime::InplaceFunction<void()> callback);

    // No more writes: FIN after the queued data. Reading goes on.
    void shutdown();
    // shutdown() and let go of the connection.
    void close();
    // Reset the connection now, dropping queued data.
    void abort();
    void set_nodelay(bool on) {
        if (m_connection != nullptr) m_connection->set_nodelay(on);
    }
    void set_keepalive(std::optional<runtime::Duration> idle);

private:
    TcpLayer* m_layer = nullptr;
    TcpConnection* m_connection = nullptr;
};

class TcpLayer {
public:
    static constexpr std::size_t k_buckets = 256;

    // wake: notified when a timer moves earlier, so whoever runs poll() comes back sooner
    // (the stack's device signal); may be null when the caller polls on its own.
    TcpLayer(Interface& interface, const TcpConfig& config, std::uint64_t seed, runtime::Signal* wake = nullptr);
    TcpLayer(const TcpLayer&) = delete;
    TcpLayer& operator=(const TcpLayer&) = delete;
    ~TcpLayer();

    [[nodiscard]] const TcpConfig& config() const { return m_config; }
    TcpConfig& config() { return m_config; }
    [[nodiscard]] const TcpLayerStats& stats() const { return m_stats; }
    [[nodiscard]] std::size_t connection_count() const { return m_connection_count; }
    [[nodiscard]] std::size_t memory_used() const { return m_memory_used; }
    // How many connections are in each TcpState (indexed by the state's value).
    [[nodiscard]] std::array<std::size_t, 10> state_counts() const;
    Interface& interface() { return m_interface; }

    // From the interface: an IPv4 packet carrying TCP. Takes ownership of the buffer.
    void receive(netif::PacketBuffer* packet, const Ipv4Packet& ip, runtime::Instant now);
    // Runs the timers that are due; returns when to come back.
    void poll(runtime::Instant now);
    [[nodiscard]] std::optional<runtime::Instant> poll_at();

    class ConnectAwaiter {
    public:
        ConnectAwaiter(TcpLayer& layer, Ipv4Address address, std::uint16_t port)
            : m_layer(layer), m_address(address), m_port(port) {}
        ConnectAwaiter(const ConnectAwaiter&) = delete;
        ConnectAwaiter& operator=(const ConnectAwaiter&) = delete;
        ~ConnectAwaiter();
        bool await_ready();
        void await_suspend(std::coroutine_handle<> handle) { m_connection->connector = handle; }
        kernel::Result<TcpStream, TcpError> await_resume();

    private:
        TcpLayer& m_layer;
        Ipv4Address m_address;
        std::uint16_t m_port;
        TcpConnection* m_connection = nullptr;
        std::optional<TcpError> m_error;
    };
    // co_await: a connected stream, or Refused / TimedOut / NoRoute / ...
    ConnectAwaiter connect(Ipv4Address address, std::uint16_t port) { return {*this, address, port}; }
    // Starts an active open without waiting (the callback form): the stream's on_writable
    // fires once established; an error shows in its reads and writes.
    kernel::Result<TcpStream, TcpError> start_connect(Ipv4Address address, std::uint16_t port);

    // --- for TcpConnection, TcpListener and TcpStream ---
    bool transmit(netif::PacketBuffer* segment, Ipv4Address destination, runtime::Instant now);
    // A segment outside any connection's sending: RSTs, and SYN-ACKs carrying a cookie.
    void send_control(const TcpFourTuple& tuple, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                      runtime::Instant now, std::uint16_t window = 0, const TcpOptions& options = {});
    // After the application used a connection: flush, wake the poller if a timer moved
    // earlier, free it if it is finished.
    void after_call(TcpConnection& connection);
    netif::PacketBuffer* allocate_buffer();
    // A large buffer for a TSO send, or nullptr (none free, or no TSO).
    netif::PacketBuffer* allocate_tso_buffer();
    // The largest IPv4 packet one TSO send may be, 0 when the device has no TSO (or no
    // checksum offload, which TSO needs).
    [[nodiscard]] std::size_t tso_limit() const;
    [[nodiscard]] bool checksum_offload() const;
    [[nodiscard]] std::size_t mtu() const;
    [[nodiscard]] bool charge(std::size_t bytes);
    [[nodiscard]] std::size_t memory_available() const {
        return m_memory_used < m_config.memory_limit ? m_config.memory_limit - m_memory_used : 0;
    }
    void uncharge(std::size_t bytes) { m_memory_used -= bytes; }
    [[nodiscard]] bool allow_challenge_ack(runtime::Instant now);
    void deadline_changed(runtime::Instant deadline);
    // A connection could not get a packet buffer: poll() retries it shortly.
    void starved(TcpConnection& connection);
    static constexpr runtime::Duration k_starved_retry = std::chrono::milliseconds(1);
    void connection_closed(TcpConnection& connection);
    kernel::Result<void, TcpError> add_listener(TcpListener& listener, std::uint16_t port);
    void remove_listener(TcpListener& listener);
    void release(TcpConnection& connection);  // frees it now if finished
    void flush();
    TcpLayerStats& mutable_stats() { return m_stats; }

private:
    [[nodiscard]] std::size_t bucket(const TcpFourTuple& tuple) const;
    TcpConnection* find(const TcpFourTuple& tuple);
    TcpListener* find_listener(std::uint16_t port);
    TcpConnection* create(const TcpFourTuple& tuple, runtime::Instant now);
    void destroy(TcpConnection* connection);
    void unlink(TcpConnection* connection);
    void listen_segment(TcpListener& listener, const TcpSegment& segment, const TcpFourTuple& tuple,
                        runtime::Instant now);
    void send_reset_for(const TcpSegment& segment, const TcpFourTuple& tuple, runtime::Instant now);
    void send_cookie_syn_ack(TcpListener& listener, const TcpSegment& syn, const TcpFourTuple& tuple,
                             runtime::Instant now);
    kernel::Result<std::uint16_t, TcpError> ephemeral_port(Ipv4Address remote, std::uint16_t remote_port);
    kernel::Result<TcpConnection*, TcpError> open(Ipv4Address address, std::uint16_t port, runtime::Instant now);
    void reap(TcpConnection* connection);

    friend class TcpStream;
    Interface& m_interface;
    TcpConfig m_config;
    runtime::Signal* m_wake;
    TcpIsnGenerator m_isn;
    TcpSynCookies m_cookies;
    std::array<TcpConnection*, k_buckets> m_buckets{};
    TcpConnection* m_all = nullptr;  // every connection, in or out of the table
    std::size_t m_connection_count = 0;
    std::size_t m_memory_used = 0;
    TcpListener* m_listeners = nullptr;
    std::uint64_t m_hash_key;
    std::uint16_t m_next_port;
    std::optional<runtime::Instant> m_poll_at;  // what the last poll_at() said
    runtime::Instant m_now{};                   // the latest time we were given
    bool m_starved = false;
    TcpConnection* m_busy = nullptr;  // being processed: not freed under its own feet
    runtime::Instant m_challenge_window{};
    unsigned m_challenge_acks = 0;
    TcpLayerStats m_stats;
};

}  // namespace net
