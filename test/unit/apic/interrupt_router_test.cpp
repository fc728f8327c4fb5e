#include "apic/interrupt_router.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "test/unit/apic/fake_apic_access.hpp"

using namespace apic;
using apic::test::FakeIoApic;
using kernel::acpi::madt::decode_flags;
using kernel::acpi::madt::InterruptOverride;

namespace {

// QEMU's pc and q35 machines: the PIT on GSI 2, the PCI-routed IRQs level triggered.
const std::vector<InterruptOverride> k_qemu_overrides = {
    {0, 0, 2, decode_flags(0)},     {0, 5, 5, decode_flags(0xD)},   {0, 9, 9, decode_flags(0xD)},
    {0, 10, 10, decode_flags(0xD)}, {0, 11, 11, decode_flags(0xD)},
};

}  // namespace

TEST_CASE("router: ISA IRQs follow the MADT's overrides, else IRQ n is GSI n, edge, active high") {
    auto timer = legacy_irq_route(k_qemu_overrides, 0);
    CHECK(timer.gsi == 2);
    CHECK(timer.polarity == Polarity::ActiveHigh);
    CHECK(timer.trigger == Trigger::Edge);
    auto sci = legacy_irq_route(k_qemu_overrides, 9);
    CHECK(sci.gsi == 9);
    CHECK(sci.trigger == Trigger::Level);
    CHECK(sci.polarity == Polarity::ActiveHigh);
    auto com1 = legacy_irq_route(k_qemu_overrides, 4);
    CHECK(com1.gsi == 4);
    CHECK(com1.trigger == Trigger::Edge);

    const InterruptOverride low[] = {{0, 9, 20, decode_flags(0xF)}, {1, 4, 30, decode_flags(0xF)}};
    auto r = legacy_irq_route(low, 9);
    CHECK(r.gsi == 20);
    CHECK(r.polarity == Polarity::ActiveLow);
    CHECK(r.trigger == Trigger::Level);
    CHECK(legacy_irq_route(low, 4).gsi == 4);  // bus 1 is not ISA: ignored
}

TEST_CASE("router: route_legacy_irq programs the overridden pin") {
    FakeIoApic fake(24);
    InterruptRouter router;
    REQUIRE(router.add(IoApic::create(fake, 0).value()));
    router.set_overrides(k_qemu_overrides);
    router.set_destination(0);

    auto gsi = router.route_legacy_irq(0, 0x30);
    REQUIRE(gsi);
    CHECK(*gsi == 2);
    auto entry = fake.entry(2);
    CHECK(entry.vector == 0x30);
    CHECK_FALSE(entry.masked);
    CHECK(entry.trigger == Trigger::Edge);
    CHECK(fake.entry(0).masked);  // pin 0 untouched

    REQUIRE(router.route_legacy_irq(11, 0x31));
    CHECK(fake.entry(11).trigger == Trigger::Level);

    REQUIRE(router.mask_gsi(2));
    CHECK(fake.entry(2).masked);
}

TEST_CASE("router: GSIs are found on the I/O APIC that owns them") {
    FakeIoApic first(24, 1);
    FakeIoApic second(16, 2);
    InterruptRouter router;
    REQUIRE(router.add(IoApic::create(first, 0).value()));
    REQUIRE(router.add(IoApic::create(second, 24).value()));
    router.set_destination(5);
    REQUIRE(router.route_gsi(30, 0x50, Polarity::ActiveLow, Trigger::Level));
    auto entry = second.entry(6);
    CHECK(entry.vector == 0x50);
    CHECK(entry.destination == 5);
    CHECK(entry.polarity == Polarity::ActiveLow);
    CHECK(first.writes.empty());
    CHECK(router.route_gsi(40, 0x50, Polarity::ActiveLow, Trigger::Level).error() == Error::NoSuchGsi);
    CHECK(router.mask_gsi(40).error() == Error::NoSuchGsi);
}

TEST_CASE("router: bad requests are errors with a reason") {
    InterruptRouter empty;
    CHECK(empty.route_legacy_irq(1, 0x30).error() == Error::NoIoApic);
    CHECK(empty.mask_gsi(1).error() == Error::NoIoApic);

    FakeIoApic fake(24);
    InterruptRouter router;
    REQUIRE(router.add(IoApic::create(fake, 0).value()));
    CHECK(router.route_gsi(1, 0x10, Polarity::ActiveHigh, Trigger::Edge).error() == Error::BadVector);
    router.set_destination(300);  // an x2APIC ID the I/O APIC's 8-bit field cannot name
    CHECK(router.route_gsi(1, 0x30, Polarity::ActiveHigh, Trigger::Edge).error() == Error::BadDestination);
    CHECK(fake.writes.empty());
    CHECK(std::string(to_string(Error::BadDestination)).find("destination") != std::string::npos);

    for (std::size_t i = 1; i < InterruptRouter::k_max_io_apics; ++i)
        REQUIRE(router.add(IoApic::create(fake, static_cast<std::uint32_t>(24 * i)).value()));
    CHECK(router.add(IoApic::create(fake, 1000).value()).error() == Error::TooManyIoApics);
}
