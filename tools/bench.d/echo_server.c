// The TCP echo server of the Linux guest in tools/bench: the same work as the unikernel's
// echo image (every byte received on port 7 goes back on the same connection).
//
//   echo_server [PORT] [BIND_ADDRESS]      (default: 7 on every address)
//
// One thread, epoll, non-blocking sockets: the guest has one vCPU, as the unikernel has.
// A connection's unsent bytes stay in its buffer and it is not read again until they are
// written, so a slow reader slows down only its own sender (TCP flow control) and no byte
// is dropped. Built statically by tools/bench with the host's C compiler.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { k_buffer_size = 64 * 1024, k_max_events = 64 };

struct connection {
    int fd;
    size_t pending_start;
    size_t pending_end;
    char buffer[k_buffer_size];
};

static void close_connection(int epoll_fd, struct connection* c) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static int watch(int epoll_fd, int op, struct connection* c, unsigned events) {
    struct epoll_event event = {.events = events, .data.ptr = c};
    return epoll_ctl(epoll_fd, op, c->fd, &event);
}

// Writes what is pending. Returns 1 when all of it went, 0 when the socket is full, -1 on error.
static int flush(struct connection* c) {
    while (c->pending_start < c->pending_end) {
        ssize_t n = send(c->fd, c->buffer + c->pending_start, c->pending_end - c->pending_start, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        c->pending_start += (size_t)n;
    }
    c->pending_start = c->pending_end = 0;
    return 1;
}

// Handles readiness on one connection; returns 0 when the connection is finished.
static int serve(int epoll_fd, struct connection* c) {
    for (;;) {
        int flushed = flush(c);
        if (flushed < 0) return 0;
        if (flushed == 0) return watch(epoll_fd, EPOLL_CTL_MOD, c, EPOLLOUT) == 0;
        ssize_t n = recv(c->fd, c->buffer, sizeof c->buffer, 0);
        if (n == 0) return 0;  // the peer closed and everything it sent has been echoed
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return watch(epoll_fd, EPOLL_CTL_MOD, c, EPOLLIN) == 0;
            return 0;
        }
        c->pending_end = (size_t)n;
    }
}

static void accept_all(int epoll_fd, int listen_fd) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // Out of descriptors or memory: the connection waits in the backlog.
                perror("echo_server: accept");
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection* c = malloc(sizeof *c);
        if (c == NULL) {
            fprintf(stderr, "echo_server: out of memory, connection refused\n");
            close(fd);
            continue;
        }
        c->fd = fd;
        c->pending_start = c->pending_end = 0;
        if (watch(epoll_fd, EPOLL_CTL_ADD, c, EPOLLIN) != 0) {
            perror("echo_server: epoll_ctl");
            close(fd);
            free(c);
            continue;
        }
    }
}

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    const char* bind_address = argc > 2 ? argv[2] : "0.0.0.0";
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: echo_server [PORT] [BIND_ADDRESS]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, bind_address, &address.sin_addr) != 1) {
        fprintf(stderr, "echo_server: bad address %s\n", bind_address);
        return 2;
    }
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr*)&address, sizeof address) != 0 ||
        listen(listen_fd, 1024) != 0) {
        perror("echo_server: listen");
        return 1;
    }
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0) {
        perror("echo_server: epoll");
        return 1;
    }
    printf("echo_server: listening on %s:%d\n", bind_address, port);
    fflush(stdout);

    struct epoll_event events[k_max_events];
    for (;;) {
        int n = epoll_wait(epoll_fd, events, k_max_events, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("echo_server: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            struct connection* c = events[i].data.ptr;
            if (c == NULL) {
                accept_all(epoll_fd, listen_fd);
            } else if (!serve(epoll_fd, c)) {
                close_connection(epoll_fd, c);
            }
        }
    }
}
