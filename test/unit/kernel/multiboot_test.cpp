#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "kernel/multiboot.hpp"
#include "test/unit/kernel/fake_boot_memory.hpp"

using namespace kernel::multiboot;

namespace {

using FakeMemory = test::FakeBootMemory;

FakeMemory qemu_like_memory() {
    FakeMemory m;
    Info info{};
    info.flags = flags::k_memory | flags::k_cmdline | flags::k_mmap | flags::k_modules | flags::k_loader_name;
    info.cmdline = 0x11000;
    info.mmap_addr = 0x12000;
    info.mmap_length = 3 * sizeof(MmapEntry);
    info.mods_count = 1;
    info.mods_addr = 0x13000;
    info.boot_loader_name = 0x11100;
    m.put(0x10000, info);
    m.put_string(0x11000, "/echo.elf ip=10.0.0.2/24");
    m.put_string(0x11100, "qemu");
    m.put(0x12000, MmapEntry{20, 0, 0x9FC00, 1});
    m.put(0x12018, MmapEntry{20, 0x100000, 0x7EE0000, 1});
    m.put(0x12030, MmapEntry{20, 0xFFFC0000, 0x40000, 2});
    m.put(0x13000, Module{0x200000, 0x201000, 0x11200, 0});
    m.put_string(0x11200, "initrd");
    return m;
}

}  // namespace

TEST_CASE("multiboot: memory map, command line, modules and loader name") {
    auto memory = qemu_like_memory();
    BootInfo info;
    REQUIRE(parse(memory.reader(), k_loader_magic, 0x10000, info).has_value());
    REQUIRE(info.regions().size() == 3);
    CHECK(info.regions()[1].base == 0x100000);
    CHECK(info.regions()[2].type == MemoryType::Reserved);
    CHECK(info.usable_bytes() == 0x9FC00 + 0x7EE0000);
    CHECK(info.command_line == "/echo.elf ip=10.0.0.2/24");
    CHECK(info.loader_name == "qemu");
    REQUIRE(info.modules().size() == 1);
    CHECK(info.modules()[0].start == 0x200000);
    CHECK(info.modules()[0].name == "initrd");
}

TEST_CASE("multiboot: wrong magic, unreadable info, no memory map") {
    auto memory = qemu_like_memory();
    BootInfo info;
    CHECK(parse(memory.reader(), 0x1234, 0x10000, info).error() == Error::BadMagic);
    BootInfo info2;
    CHECK(parse(memory.reader(), k_loader_magic, 0x900000, info2).error() == Error::InfoUnreadable);
    Info no_map{};
    memory.put(0x10000, no_map);
    BootInfo info3;
    CHECK(parse(memory.reader(), k_loader_magic, 0x10000, info3).error() == Error::NoMemoryMap);
}

TEST_CASE("multiboot: hostile memory maps are cut short and counted, never overread") {
    auto memory = qemu_like_memory();
    // The second entry claims a size too small to be an entry; a third would wrap.
    memory.put(0x12018, MmapEntry{4, 0x100000, 0x1000, 1});
    BootInfo info;
    REQUIRE(parse(memory.reader(), k_loader_magic, 0x10000, info).has_value());
    CHECK(info.regions().size() == 1);
    CHECK(info.dropped_regions == 1);

    auto memory2 = qemu_like_memory();
    memory2.put(0x12018, MmapEntry{20, 0xFFFFFFFFFFFFF000, 0x2000, 1});  // wraps around
    Info info_header{};
    std::memcpy(&info_header, memory2.bytes.data(), sizeof info_header);
    info_header.mmap_length = 0x3000;  // runs off the end of memory
    memory2.put(0x10000, info_header);
    BootInfo info2;
    auto result = parse(memory2.reader(), k_loader_magic, 0x10000, info2);
    // Either the map ends in unreadable memory (an error) or the junk entries are dropped.
    if (result)
        CHECK(info2.dropped_regions >= 1);
    else
        CHECK(result.error() == Error::MemoryMapUnreadable);
}

TEST_CASE("multiboot: an unterminated command line is cut at the limit") {
    auto memory = qemu_like_memory();
    std::memset(memory.bytes.data() + 0x1000, 'x', 0x1000);  // no NUL before the next page
    memory.put_string(0x12000 - 1, "");
    BootInfo info;
    REQUIRE(parse(memory.reader(), k_loader_magic, 0x10000, info).has_value());
    CHECK(info.command_line.size() == 1024);
}
