// operator new and delete over the kernel heap. The throwing forms panic when memory runs
// out (there are no exceptions to throw); the nothrow forms return nullptr and let the
// caller decide. Coroutine frames use the nothrow path (see runtime/).

#include <cstddef>
#include <new>

#include "kernel/memory.hpp"
#include "kernel/panic.hpp"

// The hosted library would define this; `new (std::nothrow)` refers to it.
const std::nothrow_t std::nothrow{};

namespace {

void* allocate_or_panic(std::size_t size, std::size_t alignment) {
    void* p = kernel::memory::heap().allocate(size == 0 ? 1 : size, alignment);
    if (p == nullptr) {
        const auto& stats = kernel::memory::heap().stats();
        kernel::panic(
            "out of memory: cannot allocate {} bytes (aligned to {}); heap holds {} KiB, {} KiB in use, {} free frames",
            size, alignment, stats.chunk_bytes / 1024, stats.used_bytes / 1024, kernel::memory::frames().free_frames());
    }
    return p;
}

void release(void* p) {
    auto result = kernel::memory::heap().release(p);
    if (!result) kernel::panic("operator delete({}): {}", p, kernel::to_string(result.error()));
}

constexpr std::size_t k_default = kernel::Heap::k_min_alignment;
std::size_t to_size(std::align_val_t a) { return static_cast<std::size_t>(a); }

}  // namespace

void* operator new(std::size_t size) { return allocate_or_panic(size, k_default); }
void* operator new[](std::size_t size) { return allocate_or_panic(size, k_default); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate_or_panic(size, to_size(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate_or_panic(size, to_size(a)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return kernel::memory::heap().allocate(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return kernel::memory::heap().allocate(size == 0 ? 1 : size);
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
    return kernel::memory::heap().allocate(size == 0 ? 1 : size, to_size(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
    return kernel::memory::heap().allocate(size == 0 ? 1 : size, to_size(a));
}

void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
