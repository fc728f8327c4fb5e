// The load generator of tools/bench. Each run does one test against a TCP echo server and
// prints one line of JSON: the figures, or {"error": "..."} with exit status 1. Every
// echoed byte is checked against what was sent; a wrong byte is an error that names the
// connection and the offset.
//
//   loadgen wait       ADDR PORT TIMEOUT_S     until a connection echoes one byte
//   loadgen throughput ADDR PORT MIB           one connection, MIB MiB sent while reading the echo
//   loadgen rtt        ADDR PORT ROUNDS        1-byte ping-pong on one connection
//   loadgen connrate   ADDR PORT SECONDS       connect, send 1 byte, read it, close; repeated
//   loadgen parallel   ADDR PORT CONNS MIB     CONNS connections at once, each echoing MIB MiB
//
// Options, before the test's name:
//   --stall S      a test that makes no progress for S seconds fails (default 20)
//   --limit S      throughput and parallel fail once they have run S seconds, saying how far
//                  they got (default: no limit)
//
// Written in C so that the client is never what limits a figure: the guests run under TCG
// and are far slower than this on the host.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { k_chunk = 64 * 1024 };
static const uint64_t k_mib = 1024 * 1024;
// A test that makes no progress for this long has failed (the guest hung or lost data).
// Under deliberate packet loss (tools/bench --loss) retransmission timeouts back off to
// tens of seconds, so the limit is an option.
static double g_stall_seconds = 20.0;
// Throughput and parallel give up after this long; 0 is no limit.
static double g_limit_seconds = 0;

static struct sockaddr_in g_server;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn void fail(const char* format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    // The message is ours and holds no quote or backslash, so it is valid JSON as it is.
    printf("{\"error\": \"%s\"}\n", message);
    exit(1);
}

// The bytes connection `stream` sends: splitmix64 of the 8-byte block number, so that a byte
// that arrives at the wrong offset or on the wrong connection does not match by accident.
static uint64_t pattern_block(uint64_t stream, uint64_t block) {
    uint64_t z = block + stream * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint8_t pattern(uint64_t stream, uint64_t offset) {
    return (uint8_t)(pattern_block(stream, offset >> 3) >> ((offset & 7) * 8));
}

static void fill(uint8_t* buffer, uint64_t stream, uint64_t offset, size_t length) {
    size_t i = 0;
    for (; i < length && ((offset + i) & 7) != 0; ++i) buffer[i] = pattern(stream, offset + i);
    for (; i + 8 <= length; i += 8) {
        uint64_t block = pattern_block(stream, (offset + i) >> 3);
        for (unsigned b = 0; b < 8; ++b) buffer[i + b] = (uint8_t)(block >> (b * 8));
    }
    for (; i < length; ++i) buffer[i] = pattern(stream, offset + i);
}

static void check(const uint8_t* buffer, uint64_t stream, uint64_t offset, size_t length) {
    uint8_t expected[k_chunk];
    while (length > 0) {
        size_t part = length < k_chunk ? length : k_chunk;
        fill(expected, stream, offset, part);
        if (memcmp(buffer, expected, part) != 0) {
            size_t i = 0;
            while (buffer[i] == expected[i]) ++i;
            fail("connection %llu: echoed byte at offset %llu is 0x%02x, sent 0x%02x", (unsigned long long)stream,
                 (unsigned long long)(offset + i), buffer[i], expected[i]);
        }
        buffer += part;
        offset += part;
        length -= part;
    }
}

static void set_timeouts(int fd, double seconds) {
    struct timeval t = {.tv_sec = (time_t)seconds, .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}

// A blocking connection with TCP_NODELAY; -1 with errno set on failure.
static int connect_blocking(double timeout_seconds) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeouts(fd, timeout_seconds);  // SO_SNDTIMEO bounds connect() too
    if (connect(fd, (struct sockaddr*)&g_server, sizeof g_server) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void send_all(int fd, const uint8_t* data, size_t length, const char* what) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("%s: send: %s", what, n < 0 ? strerror(errno) : "nothing sent");
        data += n;
        length -= (size_t)n;
    }
}

static void receive_all(int fd, uint8_t* data, size_t length, const char* what) {
    while (length > 0) {
        ssize_t n = recv(fd, data, length, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("%s: receive: %s", what, errno == EAGAIN ? "no echo within the time limit" : strerror(errno));
        if (n == 0) fail("%s: the server closed the connection before echoing everything", what);
        data += n;
        length -= (size_t)n;
    }
}

// Polls until one connection echoes a byte: the guest is up and serving.
static void test_wait(double timeout_seconds) {
    double deadline = now() + timeout_seconds;
    const char* last_error = "no attempt";
    while (now() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail("socket: %s", strerror(errno));
        int result = connect(fd, (struct sockaddr*)&g_server, sizeof g_server);
        if (result != 0 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int error = ETIMEDOUT;
            if (poll(&p, 1, 200) == 1) {
                socklen_t length = sizeof error;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
            }
            result = error == 0 ? 0 : -1;
            errno = error;
        }
        if (result == 0) {
            int flags = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            set_timeouts(fd, 5.0);
            uint8_t byte = 0x5a;
            uint8_t echo = 0;
            send_all(fd, &byte, 1, "readiness check");
            receive_all(fd, &echo, 1, "readiness check");
            close(fd);
            if (echo != byte) fail("readiness check: echoed 0x%02x, sent 0x%02x", echo, byte);
            printf("{\"ready_at\": %.6f}\n", now());
            return;
        }
        last_error = strerror(errno);
        close(fd);
        usleep(20 * 1000);
    }
    fail("no echo server answered within %.0f s (last attempt: %s)", timeout_seconds, last_error);
}

struct stream {
    int fd;
    uint64_t id;
    uint64_t sent;
    uint64_t received;
    int done;
};

// `count` connections, each sending `bytes` bytes and reading all of them back. Returns the
// seconds from the first byte sent to the last byte echoed.
static double run_streams(int count, uint64_t bytes) {
    struct stream* streams = calloc((size_t)count, sizeof *streams);
    uint8_t* buffer = malloc(k_chunk);
    if (streams == NULL || buffer == NULL) fail("out of memory");
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) fail("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < count; ++i) {
        int fd = connect_blocking(10.0);
        if (fd < 0) fail("connection %d of %d: connect: %s", i, count, strerror(errno));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        streams[i] = (struct stream){.fd = fd, .id = (uint64_t)i};
    }
    double start = now();
    for (int i = 0; i < count; ++i) {
        struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &streams[i]};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, streams[i].fd, &event) != 0) fail("epoll_ctl: %s", strerror(errno));
    }
    int remaining = count;
    double last_progress = start;
    struct epoll_event events[64];
    while (remaining > 0) {
        int n = epoll_wait(epoll_fd, events, 64, 500);
        if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
        double t = now();
        if (g_limit_seconds > 0 && t - start > g_limit_seconds) {
            uint64_t echoed = 0;
            for (int i = 0; i < count; ++i) echoed += streams[i].received;
            fail("did not finish in %g s: %llu of %llu bytes echoed, %d of %d connections unfinished", g_limit_seconds,
                 (unsigned long long)echoed, (unsigned long long)(bytes * (uint64_t)count), remaining, count);
        }
        if (n <= 0) {
            if (t - last_progress > g_stall_seconds)
                fail("no progress for %g s with %d of %d connections unfinished", g_stall_seconds, remaining, count);
            continue;
        }
        last_progress = t;
        for (int e = 0; e < n; ++e) {
            struct stream* s = events[e].data.ptr;
            if (s->done) continue;
            if ((events[e].events & EPOLLOUT) && s->sent < bytes) {
                size_t length = (size_t)(bytes - s->sent < k_chunk ? bytes - s->sent : k_chunk);
                fill(buffer, s->id, s->sent, length);
                ssize_t sent = send(s->fd, buffer, length, MSG_NOSIGNAL);
                if (sent < 0 && errno != EAGAIN && errno != EINTR)
                    fail("connection %llu: send after %llu bytes: %s", (unsigned long long)s->id,
                         (unsigned long long)s->sent, strerror(errno));
                if (sent > 0) s->sent += (uint64_t)sent;
                if (s->sent == bytes) {
                    struct epoll_event event = {.events = EPOLLIN, .data.ptr = s};
                    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s->fd, &event);
                }
            }
            if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t got = recv(s->fd, buffer, k_chunk, 0);
                if (got < 0 && errno != EAGAIN && errno != EINTR)
                    fail("connection %llu: receive after %llu of %llu bytes: %s", (unsigned long long)s->id,
                         (unsigned long long)s->received, (unsigned long long)bytes, strerror(errno));
                if (got == 0)
                    fail("connection %llu: the server closed it after echoing %llu of %llu bytes",
                         (unsigned long long)s->id, (unsigned long long)s->received, (unsigned long long)bytes);
                if (got > 0) {
                    if (s->received + (uint64_t)got > s->sent)
                        fail("connection %llu: %llu bytes echoed but only %llu sent", (unsigned long long)s->id,
                             (unsigned long long)(s->received + (uint64_t)got), (unsigned long long)s->sent);
                    check(buffer, s->id, s->received, (size_t)got);
                    s->received += (uint64_t)got;
                }
                if (s->received == bytes) {
                    s->done = 1;
                    --remaining;
                    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
                }
            }
        }
    }
    double seconds = now() - start;
    for (int i = 0; i < count; ++i) close(streams[i].fd);
    close(epoll_fd);
    free(buffer);
    free(streams);
    return seconds;
}

static void test_streams(const char* name, int count, double mib) {
    uint64_t bytes = (uint64_t)(mib * (double)k_mib);
    if (count < 1 || bytes == 0) fail("%s: needs at least one connection and one byte", name);
    double seconds = run_streams(count, bytes);
    double total = (double)bytes * count;
    printf("{\"test\": \"%s\", \"connections\": %d, \"bytes\": %.0f, \"seconds\": %.6f, \"mib_per_s\": %.3f}\n", name,
           count, total, seconds, total / (double)k_mib / seconds);
}

static int compare_doubles(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

// Nearest-rank percentile of sorted values.
static double percentile(const double* sorted, int count, int percent) {
    int rank = (percent * count + 99) / 100;
    return sorted[rank < 1 ? 0 : rank - 1];
}

static void test_rtt(int rounds) {
    enum { k_warm_up = 50 };
    if (rounds < 1) fail("rtt: needs at least one round");
    double* times = malloc((size_t)rounds * sizeof *times);
    if (times == NULL) fail("out of memory");
    int fd = connect_blocking(10.0);
    if (fd < 0) fail("rtt: connect: %s", strerror(errno));
    uint64_t offset = 0;
    for (int i = -k_warm_up; i < rounds; ++i) {
        uint8_t byte = pattern(0, offset);
        uint8_t echo = 0;
        double start = now();
        send_all(fd, &byte, 1, "rtt");
        receive_all(fd, &echo, 1, "rtt");
        double elapsed = now() - start;
        check(&echo, 0, offset, 1);
        ++offset;
        if (i >= 0) times[i] = elapsed * 1e6;
    }
    close(fd);
    double sum = 0;
    for (int i = 0; i < rounds; ++i) sum += times[i];
    qsort(times, (size_t)rounds, sizeof *times, compare_doubles);
    printf(
        "{\"test\": \"rtt\", \"rounds\": %d, \"median_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f, "
        "\"min_us\": %.1f, \"max_us\": %.1f}\n",
        rounds, percentile(times, rounds, 50), percentile(times, rounds, 99), sum / rounds, times[0],
        times[rounds - 1]);
    free(times);
}

static void test_connrate(double seconds) {
    double start = now();
    double end = start + seconds;
    uint64_t count = 0;
    double t = start;
    while (t < end) {
        int fd = connect_blocking(5.0);
        if (fd < 0) fail("connection %llu: connect: %s", (unsigned long long)count, strerror(errno));
        uint8_t byte = pattern(count, 0);
        uint8_t echo = 0;
        send_all(fd, &byte, 1, "connrate");
        receive_all(fd, &echo, 1, "connrate");
        check(&echo, count, 0, 1);
        close(fd);
        ++count;
        t = now();
    }
    printf("{\"test\": \"connrate\", \"connections\": %llu, \"seconds\": %.6f, \"per_s\": %.1f}\n",
           (unsigned long long)count, t - start, (double)count / (t - start));
}

// The value of option `name` at argv[*i] (advancing *i), or fails.
static double option_seconds(int argc, char** argv, int* i, const char* name) {
    char* end = NULL;
    double value = *i + 1 < argc ? strtod(argv[*i + 1], &end) : 0;
    if (end == NULL || *end != '\0' || end == argv[*i + 1] || value <= 0) fail("%s wants a number of seconds", name);
    ++*i;
    return value;
}

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    int first = 1;
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--stall") == 0) {
            g_stall_seconds = option_seconds(argc, argv, &first, "--stall");
        } else if (strcmp(argv[first], "--limit") == 0) {
            g_limit_seconds = option_seconds(argc, argv, &first, "--limit");
        } else {
            fail("unknown option");
        }
        ++first;
    }
    argc -= first - 1;
    argv += first - 1;
    if (argc < 5) {
        fprintf(stderr,
                "usage: loadgen [--stall S] [--limit S] wait|throughput|rtt|connrate ADDR PORT VALUE\n"
                "       loadgen [--stall S] [--limit S] parallel ADDR PORT CONNECTIONS MIB\n");
        return 2;
    }
    const char* test = argv[1];
    g_server.sin_family = AF_INET;
    g_server.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &g_server.sin_addr) != 1) fail("bad IPv4 address");
    double value = atof(argv[4]);
    if (strcmp(test, "wait") == 0) {
        test_wait(value);
    } else if (strcmp(test, "throughput") == 0) {
        test_streams("throughput", 1, value);
    } else if (strcmp(test, "rtt") == 0) {
        test_rtt((int)value);
    } else if (strcmp(test, "connrate") == 0) {
        test_connrate(value);
    } else if (strcmp(test, "parallel") == 0 && argc == 6) {
        test_streams("parallel", (int)value, atof(argv[5]));
    } else {
        fail("unknown test or wrong arguments");
    }
    return 0;
}
