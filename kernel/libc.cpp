// The few C library functions that compiled code calls implicitly (copies of structs,
// zeroing of arrays) or that libstdc++'s headers use. Built with -fno-builtin so the
// compiler does not turn these loops back into calls to themselves.

#include <cstddef>
#include <cstdint>

#include "kernel/string_ops.hpp"

extern "C" {

void* memcpy(void* destination, const void* source, std::size_t count) {
    kernel::string_ops::copy_forward(destination, source, count);
    return destination;
}

void* memset(void* destination, int value, std::size_t count) {
    kernel::string_ops::fill(destination, static_cast<std::uint8_t>(value), count);
    return destination;
}

void* memmove(void* destination, const void* source, std::size_t count) {
    kernel::string_ops::move(destination, source, count);
    return destination;
}

int memcmp(const void* a, const void* b, std::size_t count) { return kernel::string_ops::compare(a, b, count); }

int bcmp(const void* a, const void* b, std::size_t count) { return memcmp(a, b, count); }

void* memchr(const void* memory, int value, std::size_t count) {
    const auto* p = static_cast<const unsigned char*>(memory);
    for (std::size_t i = 0; i < count; ++i) {
        if (p[i] == static_cast<unsigned char>(value)) return const_cast<unsigned char*>(p + i);
    }
    return nullptr;
}

std::size_t strlen(const char* text) {
    std::size_t n = 0;
    while (text[n] != '\0') ++n;
    return n;
}

std::size_t strnlen(const char* text, std::size_t limit) {
    std::size_t n = 0;
    while (n < limit && text[n] != '\0') ++n;
    return n;
}

int strcmp(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

}  // extern "C"
