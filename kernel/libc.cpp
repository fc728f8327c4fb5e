// The few C library functions that compiled code calls implicitly (copies of structs,
// zeroing of arrays) or that libstdc++'s headers use. Built with -fno-builtin so the
// compiler does not turn these loops back into calls to themselves.

#include <cstddef>
#include <cstdint>

extern "C" {

void* memcpy(void* destination, const void* source, std::size_t count) {
    void* d = destination;
    asm volatile("rep movsb" : "+D"(d), "+S"(source), "+c"(count) : : "memory");
    return destination;
}

void* memset(void* destination, int value, std::size_t count) {
    void* d = destination;
    asm volatile("rep stosb" : "+D"(d), "+c"(count) : "a"(value) : "memory");
    return destination;
}

void* memmove(void* destination, const void* source, std::size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d == s || count == 0) return destination;
    if (d < s || d >= s + count) return memcpy(destination, source, count);
    for (std::size_t i = count; i > 0; --i) d[i - 1] = s[i - 1];
    return destination;
}

int memcmp(const void* a, const void* b, std::size_t count) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (std::size_t i = 0; i < count; ++i) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

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
