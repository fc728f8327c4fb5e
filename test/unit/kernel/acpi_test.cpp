#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "kernel/acpi.hpp"

using namespace kernel::acpi;

namespace {

// Physical memory from 0 to 2 MiB with a BIOS area, as SeaBIOS lays tables out.
struct FakeFirmware {
    std::vector<std::byte> bytes = std::vector<std::byte>(2 << 20);

    template <typename T>
    void put(std::uint64_t address, const T& value) {
        std::memcpy(bytes.data() + address, &value, sizeof value);
    }
    void put_bytes(std::uint64_t address, std::initializer_list<std::uint8_t> values) {
        for (auto v : values) bytes[address++] = std::byte{v};
    }
    void fix_checksum(std::uint64_t address, std::size_t length, std::size_t checksum_offset) {
        bytes[address + checksum_offset] = std::byte{0};
        std::uint8_t sum = 0;
        for (std::size_t i = 0; i < length; ++i)
            sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(bytes[address + i]));
        bytes[address + checksum_offset] = std::byte{static_cast<std::uint8_t>(-sum)};
    }
    SdtHeader header(const char* signature, std::uint32_t length) {
        SdtHeader h{};
        std::memcpy(h.signature, signature, 4);
        h.length = length;
        return h;
    }
    kernel::SpanReader reader() const { return kernel::SpanReader(0, bytes); }
};

constexpr std::uint64_t k_rsdp = 0xF5A40;
constexpr std::uint64_t k_rsdt = 0x100000;
constexpr std::uint64_t k_fadt = 0x100100;
constexpr std::uint64_t k_dsdt = 0x100300;
constexpr std::uint64_t k_apic = 0x100800;

FakeFirmware seabios_like() {
    FakeFirmware f;
    Rsdp rsdp{};
    std::memcpy(rsdp.signature, "RSD PTR ", 8);
    rsdp.revision = 0;
    rsdp.rsdt_address = k_rsdt;
    f.put(k_rsdp, rsdp);
    f.fix_checksum(k_rsdp, 20, 8);

    f.put(k_rsdt, f.header("RSDT", 36 + 8));
    f.put(k_rsdt + 36, std::uint32_t{k_fadt});
    f.put(k_rsdt + 40, std::uint32_t{k_apic});
    f.fix_checksum(k_rsdt, 44, 9);

    f.put(k_fadt, f.header("FACP", 244));
    f.put(k_fadt + 40, std::uint32_t{k_dsdt});
    f.put(k_fadt + 46, std::uint16_t{9});
    f.put(k_fadt + 64, std::uint32_t{0x604});
    f.put(k_fadt + 76, std::uint32_t{0x608});
    f.put(k_fadt + 112, std::uint32_t{1u << 8});
    f.fix_checksum(k_fadt, 244, 9);

    // DSDT: some AML, then Name(\_S5, Package(4) {5, Zero, 0, 0}).
    std::uint32_t dsdt_length = 36 + 40;
    f.put(k_dsdt, f.header("DSDT", dsdt_length));
    f.put_bytes(k_dsdt + 36 + 20,
                {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x00, 0x0A, 0x00, 0x0A, 0x00});
    f.fix_checksum(k_dsdt, dsdt_length, 9);

    f.put(k_apic, f.header("APIC", 44));
    f.fix_checksum(k_apic, 44, 9);
    return f;
}

}  // namespace

TEST_CASE("acpi: RSDP in the BIOS area, RSDT, FADT and \\_S5") {
    auto firmware = seabios_like();
    auto tables = discover(firmware.reader());
    REQUIRE(tables);
    CHECK(tables->rsdp_address == k_rsdp);
    CHECK_FALSE(tables->uses_xsdt);
    CHECK(tables->count == 2);
    CHECK(tables->rejected == 0);
    CHECK(tables->find("APIC")->address == k_apic);
    CHECK_FALSE(tables->find("MCFG").has_value());

    auto fadt = read_fadt(firmware.reader(), *tables);
    REQUIRE(fadt);
    CHECK(fadt->dsdt == k_dsdt);
    CHECK(fadt->pm1a_control == 0x604);
    CHECK(fadt->pm_timer == 0x608);
    CHECK(fadt->pm_timer_32bit);
    CHECK(fadt->sci_interrupt == 9);

    auto s5 = find_s5(firmware.reader(), fadt->dsdt);
    REQUIRE(s5);
    CHECK(s5->a == 5);
    CHECK(s5->b == 0);
}

TEST_CASE("acpi: the RSDP is found through the EBDA pointer too") {
    auto firmware = seabios_like();
    std::vector<std::byte> rsdp(firmware.bytes.begin() + k_rsdp, firmware.bytes.begin() + k_rsdp + 36);
    std::fill(firmware.bytes.begin() + k_rsdp, firmware.bytes.begin() + k_rsdp + 36, std::byte{0});
    firmware.put(0x40E, std::uint16_t{0x9FC0});
    std::memcpy(firmware.bytes.data() + 0x9FC00 + 0x40, rsdp.data(), rsdp.size());
    auto tables = discover(firmware.reader());
    REQUIRE(tables);
    CHECK(tables->rsdp_address == 0x9FC40);
}

TEST_CASE("acpi: the RSDP is found in the E segment too, after the F segment") {
    auto firmware = seabios_like();
    std::vector<std::byte> rsdp(firmware.bytes.begin() + k_rsdp, firmware.bytes.begin() + k_rsdp + 36);
    std::fill(firmware.bytes.begin() + k_rsdp, firmware.bytes.begin() + k_rsdp + 36, std::byte{0});
    std::memcpy(firmware.bytes.data() + 0xE1230, rsdp.data(), rsdp.size());
    auto tables = discover(firmware.reader());
    REQUIRE(tables);
    CHECK(tables->rsdp_address == 0xE1230);
}

TEST_CASE("acpi: bad checksums are rejected with a reason") {
    auto firmware = seabios_like();
    firmware.bytes[k_rsdp + 8] ^= std::byte{1};  // RSDP checksum
    CHECK(discover(firmware.reader()).error() == Error::NoRsdp);

    auto firmware2 = seabios_like();
    firmware2.bytes[k_rsdt + 20] ^= std::byte{1};
    CHECK(discover(firmware2.reader()).error() == Error::RootTableChecksum);

    auto firmware3 = seabios_like();
    firmware3.bytes[k_fadt + 50] ^= std::byte{1};  // the FADT alone goes bad
    auto tables = discover(firmware3.reader());
    REQUIRE(tables);
    CHECK(tables->rejected == 1);
    CHECK(read_fadt(firmware3.reader(), *tables).error() == Error::NoFadt);
}

TEST_CASE("acpi: pointers into nowhere and absurd lengths are errors, not reads") {
    auto firmware = seabios_like();
    firmware.put(k_rsdt + 40, std::uint32_t{0xFFFF0000});  // the APIC entry points off the end
    firmware.fix_checksum(k_rsdt, 44, 9);
    auto tables = discover(firmware.reader());
    REQUIRE(tables);
    CHECK(tables->count == 1);
    CHECK(tables->rejected == 1);

    auto firmware2 = seabios_like();
    firmware2.put(k_rsdt + 4, std::uint32_t{0xFFFFFFF0});  // RSDT length
    CHECK(discover(firmware2.reader()).error() == Error::RootTableUnreadable);

    CHECK(find_s5(firmware.reader(), 0x1FFFFF).error() == Error::NoSleepState);
    CHECK(find_s5(firmware.reader(), k_fadt).error() == Error::NoSleepState);  // not a DSDT
}
