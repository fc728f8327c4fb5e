#include "apic/io_apic.hpp"

#include <catch2/catch.hpp>

#include "test/unit/apic/fake_apic_access.hpp"

using namespace apic;
using apic::test::FakeIoApic;

TEST_CASE("io apic: the version register gives the pin count") {
    FakeIoApic fake(24, 9);
    auto io_apic = IoApic::create(fake, 0);
    REQUIRE(io_apic);
    CHECK(io_apic->pin_count() == 24);
    CHECK(io_apic->version() == 0x20);
    CHECK(io_apic->id() == 9);
    CHECK(io_apic->handles(0));
    CHECK(io_apic->handles(23));
    CHECK_FALSE(io_apic->handles(24));

    auto second = IoApic::create(fake, 24);
    REQUIRE(second);
    CHECK_FALSE(second->handles(23));
    CHECK(second->handles(47));
}

TEST_CASE("io apic: nothing at the address is an error, not 256 pins") {
    FakeIoApic ones;
    ones.registers[1] = 0xFFFFFFFF;
    CHECK(IoApic::create(ones, 0).error() == IoApicError::NotPresent);
    FakeIoApic zero;
    zero.registers[1] = 0;
    CHECK(IoApic::create(zero, 0).error() == IoApicError::NotPresent);

    // The largest count the version register can state is more than 8-bit indexes reach.
    FakeIoApic huge;
    huge.registers[1] = 0x00FF0020;
    CHECK(IoApic::create(huge, 0)->pin_count() == 120);
}

TEST_CASE("io apic: mask_all masks every input") {
    FakeIoApic fake(24);
    for (std::uint32_t pin = 0; pin < 24; ++pin) fake.registers[0x10 + 2 * pin] = 0x30 + pin;  // as firmware left them
    auto io_apic = IoApic::create(fake, 0);
    REQUIRE(io_apic);
    io_apic->mask_all();
    for (std::uint32_t pin = 0; pin < 24; ++pin) CHECK(fake.entry(pin).masked);
    CHECK(fake.writes.size() == 24);
}

TEST_CASE("io apic: an entry is written masked, then completed, then unmasked") {
    FakeIoApic fake(24);
    auto io_apic = IoApic::create(fake, 0);
    REQUIRE(io_apic);
    io_apic->set(9, {0x41, Polarity::ActiveLow, Trigger::Level, false, 3});
    REQUIRE(fake.writes.size() == 3);
    CHECK(fake.writes[0] == FakeIoApic::Write{0x22, 0x41 | 1u << 13 | 1u << 15 | 1u << 16});
    CHECK(fake.writes[1] == FakeIoApic::Write{0x23, 3u << 24});
    CHECK(fake.writes[2] == FakeIoApic::Write{0x22, 0x41 | 1u << 13 | 1u << 15});

    auto entry = io_apic->get(9);
    CHECK(entry.vector == 0x41);
    CHECK(entry.polarity == Polarity::ActiveLow);
    CHECK(entry.trigger == Trigger::Level);
    CHECK_FALSE(entry.masked);
    CHECK(entry.destination == 3);

    io_apic->mask(9);
    CHECK(fake.entry(9).masked);
    CHECK(fake.entry(9).vector == 0x41);

    fake.writes.clear();
    io_apic->set(24, {0x42, Polarity::ActiveHigh, Trigger::Edge, false, 0});  // no such pin
    io_apic->mask(200);
    CHECK(fake.writes.empty());
}

TEST_CASE("io apic: redirection entries encode as the 82093AA lays them out") {
    Redirection r{0x30, Polarity::ActiveHigh, Trigger::Edge, false, 0};
    CHECK(r.encode() == 0x30);
    Redirection masked{};
    CHECK(masked.encode() == 1u << 16);
    Redirection full{0xFE, Polarity::ActiveLow, Trigger::Level, true, 0xFF};
    CHECK(full.encode() == (0xFFull << 56 | 1u << 16 | 1u << 15 | 1u << 13 | 0xFE));
    auto back = Redirection::decode(full.encode());
    CHECK(back.vector == 0xFE);
    CHECK(back.destination == 0xFF);
    CHECK(back.masked);
}
