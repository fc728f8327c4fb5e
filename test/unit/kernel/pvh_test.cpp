#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/pvh.hpp"
#include "test/unit/kernel/fake_boot_memory.hpp"

using kernel::multiboot::BootInfo;
using kernel::multiboot::MemoryType;
using namespace kernel::pvh;

namespace {

using FakeMemory = test::FakeBootMemory;

StartInfo start_info(std::uint64_t memmap_paddr, std::uint32_t memmap_entries) {
    StartInfo start{};
    start.magic = k_start_magic;
    start.version = 1;
    start.memmap_paddr = memmap_paddr;
    start.memmap_entries = memmap_entries;
    return start;
}

// What QEMU's PVH option ROM and Firecracker hand over: version 1, an E820-like map.
FakeMemory firecracker_like_memory() {
    FakeMemory m;
    StartInfo start = start_info(0x12000, 4);
    start.nr_modules = 1;
    start.modlist_paddr = 0x13000;
    start.cmdline_paddr = 0x11000;
    start.rsdp_paddr = 0xE0000;
    m.put(0x10000, start);
    m.put_string(0x11000, "ip=10.0.0.2/24 gw=10.0.0.1");
    m.put(0x12000, MemmapEntry{0, 0x9FC00, 1, 0});
    m.put(0x12018, MemmapEntry{0x100000, 0x7F00000, 1, 0});
    m.put(0x12030, MemmapEntry{0x8000000, 0x10000, 3, 0});
    m.put(0x12048, MemmapEntry{0xFEC00000, 0x1000, 2, 0});
    m.put(0x13000, ModlistEntry{0x200000, 0x1000, 0x11100, 0});
    m.put_string(0x11100, "initrd");
    return m;
}

}  // namespace

TEST_CASE("pvh: memory map, command line, RSDP and modules", "[pvh]") {
    auto memory = firecracker_like_memory();
    BootInfo info;
    REQUIRE(parse(memory.reader(), 0x10000, info).has_value());
    REQUIRE(info.regions().size() == 4);
    CHECK(info.regions()[1].base == 0x100000);
    CHECK(info.regions()[1].type == MemoryType::Usable);
    CHECK(info.regions()[2].type == MemoryType::AcpiReclaimable);
    CHECK(info.regions()[3].type == MemoryType::Reserved);
    CHECK(info.usable_bytes() == 0x9FC00 + 0x7F00000);
    // PVH's command line is the settings alone; multiboot's starts with the image's path.
    CHECK(info.command_line == "ip=10.0.0.2/24 gw=10.0.0.1");
    CHECK_FALSE(info.command_line_has_path);
    CHECK(info.rsdp_address == 0xE0000);
    REQUIRE(info.modules().size() == 1);
    CHECK(info.modules()[0].start == 0x200000);
    CHECK(info.modules()[0].end == 0x201000);
    CHECK(info.modules()[0].name == "initrd");
}

TEST_CASE("pvh: no command line, RSDP or modules is not an error", "[pvh]") {
    auto memory = firecracker_like_memory();
    StartInfo start = start_info(0x12000, 2);
    memory.put(0x10000, start);
    BootInfo info;
    REQUIRE(parse(memory.reader(), 0x10000, info).has_value());
    CHECK(info.command_line.empty());
    CHECK(info.rsdp_address == 0);
    CHECK(info.modules().empty());
    CHECK(info.regions().size() == 2);
}

TEST_CASE("pvh: what cannot be trusted is refused or dropped and counted", "[pvh]") {
    SECTION("a bad magic") {
        auto memory = firecracker_like_memory();
        memory.put(0x10000, std::uint32_t{0x2BADB002});
        BootInfo info;
        CHECK(parse(memory.reader(), 0x10000, info).error() == Error::BadMagic);
    }
    SECTION("a structure outside memory") {
        auto memory = firecracker_like_memory();
        BootInfo info;
        CHECK(parse(memory.reader(), 0x90000, info).error() == Error::InfoUnreadable);
        // Version 1 is 56 bytes: one that starts 40 bytes before the end is cut short.
        std::uint64_t at = FakeMemory::k_base + FakeMemory::k_size - 40;
        memory.put(at, k_start_magic);
        memory.put(at + 4, std::uint32_t{1});
        CHECK(parse(memory.reader(), at, info).error() == Error::InfoUnreadable);
    }
    SECTION("version 0 has no memory map, and is read only as far as it goes") {
        FakeMemory memory;
        StartInfo start{};
        start.magic = k_start_magic;
        start.version = 0;
        // At the very end of memory: the 16 bytes version 1 adds are not there to read.
        std::uint64_t at = FakeMemory::k_base + FakeMemory::k_size - k_start_info_v0_size;
        std::memcpy(memory.bytes.data() + (at - FakeMemory::k_base), &start, k_start_info_v0_size);
        BootInfo info;
        CHECK(parse(memory.reader(), at, info).error() == Error::NoMemoryMap);
    }
    SECTION("a memory map outside memory") {
        auto memory = firecracker_like_memory();
        StartInfo start = start_info(0x13FF0, 2);
        memory.put(0x10000, start);
        BootInfo info;
        CHECK(parse(memory.reader(), 0x10000, info).error() == Error::MemoryMapUnreadable);
    }
    SECTION("empty and wrapping regions, and a module that wraps or cannot be read") {
        auto memory = firecracker_like_memory();
        memory.put(0x12000, MemmapEntry{0x1000, 0, 1, 0});
        memory.put(0x12018, MemmapEntry{0xFFFFFFFFFFFFF000, 0x2000, 1, 0});
        StartInfo start = start_info(0x12000, 4);
        start.nr_modules = 3;
        start.modlist_paddr = 0x13FD0;  // the second and third entries run past the end
        memory.put(0x10000, start);
        memory.put(0x13FD0, ModlistEntry{0xFFFFFFFFFFFFF000, 0x2000, 0, 0});
        BootInfo info;
        REQUIRE(parse(memory.reader(), 0x10000, info).has_value());
        CHECK(info.regions().size() == 2);
        CHECK(info.dropped_regions == 2);
        CHECK(info.modules().empty());
        CHECK(info.dropped_modules == 3);
    }
    SECTION("only memory regions: a map with none usable") {
        auto memory = firecracker_like_memory();
        memory.put(0x12000, MemmapEntry{0x1000, 0, 1, 0});
        StartInfo start = start_info(0x12000, 1);
        memory.put(0x10000, start);
        BootInfo info;
        CHECK(parse(memory.reader(), 0x10000, info).error() == Error::NoMemoryMap);
    }
}

TEST_CASE("boot info: strings that fill the storage are cut, never written past it", "[pvh]") {
    FakeMemory memory;
    std::string long_text(1500, 'x');
    memory.put_string(0x11000, long_text.c_str());
    BootInfo info;
    std::size_t copies = 0;
    while (info.strings_used < info.strings.size()) {
        auto kept = info.keep_string(memory.reader(), 0x11000);
        CHECK(kept.size() <= 1024);
        ++copies;
        REQUIRE(copies < 10);
    }
    CHECK(info.strings_used == info.strings.size());
    CHECK(info.keep_string(memory.reader(), 0x11000).empty());  // full: nothing more, no overrun
    CHECK(info.keep_string(memory.reader(), 0x11000).empty());
}
