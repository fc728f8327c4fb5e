#pragma once
// The copying and filling behind the kernel's memcpy, memset and memmove (kernel/libc.cpp),
// in a header so that host unit tests run the same code.
//
// Eight bytes per iteration, then the tail: as fast as `rep movsb` on hardware, and eight
// times fewer iterations under QEMU's TCG, which runs a string instruction one element at
// a time. The network path copies every byte it moves, so this shows in its throughput.
// x86-64 only; the direction flag is clear on entry and on exit, as the ABI requires.

#include <cstddef>
#include <cstdint>

namespace kernel::string_ops {

inline void copy_forward(void* destination, const void* source, std::size_t count) {
    std::size_t words = count / 8;
    std::size_t tail = count % 8;
    asm volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
                 : "+D"(destination), "+S"(source), "+c"(words)
                 : "r"(tail)
                 : "memory");
}

// For a destination that overlaps the source from above: the last bytes move first.
inline void copy_backward(void* destination, const void* source, std::size_t count) {
    if (count == 0) return;
    std::size_t words = count / 8;
    std::size_t tail = count % 8;
    auto* last_d = static_cast<unsigned char*>(destination) + count - 1;
    const auto* last_s = static_cast<const unsigned char*>(source) + count - 1;
    // The odd tail bytes first, then step back to the start of the last whole word.
    asm volatile("std\n\trep movsb\n\tsub $7, %%rdi\n\tsub $7, %%rsi\n\tmov %3, %%rcx\n\trep movsq\n\tcld"
                 : "+D"(last_d), "+S"(last_s), "+c"(tail)
                 : "r"(words)
                 : "memory", "cc");
}

inline void fill(void* destination, std::uint8_t value, std::size_t count) {
    std::uint64_t pattern = value * 0x0101010101010101ull;
    std::size_t words = count / 8;
    std::size_t tail = count % 8;
    asm volatile("rep stosq\n\tmov %2, %%rcx\n\trep stosb"
                 : "+D"(destination), "+c"(words)
                 : "r"(tail), "a"(pattern)
                 : "memory");
}

// memcmp: eight bytes at a time while they are equal (unaligned loads are fine on x86),
// then the first byte that differs decides.
inline int compare(const void* a, const void* b, std::size_t count) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    std::size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        std::uint64_t u;
        std::uint64_t v;
        __builtin_memcpy(&u, x + i, 8);
        __builtin_memcpy(&v, y + i, 8);
        if (u != v) break;
    }
    for (; i < count; ++i) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

// memmove: forwards unless the destination starts inside the source.
inline void move(void* destination, const void* source, std::size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d == s || count == 0) return;
    if (d < s || d >= s + count)
        copy_forward(d, s, count);
    else
        copy_backward(d, s, count);
}

}  // namespace kernel::string_ops
