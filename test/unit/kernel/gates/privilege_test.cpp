#include <catch2/catch.hpp>
#include <string_view>

#include "kernel/gates/privilege.hpp"

using namespace kernel::privilege;

TEST_CASE("privilege: ring 3 only where ring 0 is several times slower") {
    // Figures as measured: kvm-pvm, QEMU's TCG, and native speed.
    CHECK(choose(28'012, 142).ring == 3);
    CHECK(choose(100'150, 180).ring == 3);  // the same host with a loop four times as long
    CHECK(choose(28'472, 25'230).ring == 0);
    CHECK(choose(30'246, 26'490).ring == 0);
    CHECK(choose(150, 140).ring == 0);
    // Several times slower but by a few hundred ticks only: noise, not emulation.
    CHECK(choose(900, 100).ring == 0);
    // Slower by a lot but not by the factor: a busy host, not emulation.
    CHECK(choose(60'000, 30'000).ring == 0);
    CHECK(std::string_view(choose(100'150, 180).reason) == "ring-0 code is emulated here");
}

TEST_CASE("privilege: cpu.ring overrides the automatic choice; a bad value is reported") {
    const Decision automatic = choose(100'000, 100);
    CHECK(apply_setting(std::nullopt, automatic).decision.ring == 3);
    CHECK(apply_setting("auto", automatic).decision.ring == 3);
    CHECK(apply_setting("auto", automatic).problem == nullptr);
    auto zero = apply_setting("0", automatic);
    CHECK(zero.decision.ring == 0);
    CHECK(std::string_view(zero.decision.reason) == "cpu.ring=0");
    CHECK(apply_setting("3", choose(10, 10)).decision.ring == 3);
    auto bad = apply_setting("ring0", automatic);
    CHECK(bad.decision.ring == 3);
    REQUIRE(bad.problem != nullptr);
    CHECK(std::string_view(bad.problem).find("expected 0, 3 or auto") != std::string_view::npos);
}
