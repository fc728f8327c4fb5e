#include <catch2/catch.hpp>
#include <sstream>

#include "test/sim/results_table.hpp"

using namespace std::chrono_literals;

TEST_CASE("sim results: durations, bandwidths and probabilities read as people write them", "[sim]") {
    CHECK(sim::format_duration(0ns) == "0 ns");
    CHECK(sim::format_duration(250us) == "250 us");
    CHECK(sim::format_duration(1'234'567ns) == "1.234 ms");
    CHECK(sim::format_duration(1'500ms) == "1.5 s");
    CHECK(sim::format_bandwidth(0) == "unlimited");
    CHECK(sim::format_bandwidth(10'000'000) == "10 Mbit/s");
    CHECK(sim::format_bandwidth(1'500'000'000) == "1.5 Gbit/s");
    CHECK(sim::format_probability(sim::Probability::percent(10)) == "10%");
    CHECK(sim::format_probability({5'000}) == "0.5%");
    CHECK(sim::format_probability({}) == "0%");
    CHECK(sim::format_throughput(1'000'000, 1s) == "8 Mbit/s");
    CHECK(sim::format_throughput(1, 0ns) == "-");
}

TEST_CASE("sim results: the table's columns line up", "[sim]") {
    sim::ResultsTable table;
    sim::ResultRow slow{"slow and lossy", {.delay = 50ms, .bits_per_second = 1'000'000}, 1'000'000, 9s, {}};
    slow.link.loss = sim::Probability::percent(10);
    slow.counters.lost = 123;
    table.add(slow);
    table.add({"fast", {.delay = 100us}, 42, 1ms, {}});
    std::ostringstream out;
    table.print(out);
    std::istringstream in(out.str());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    REQUIRE(lines.size() == 4);  // header, rule, two rows
    for (const auto& line : lines) CHECK(line.size() == lines[0].size());
    CHECK(lines[0].rfind("scenario", 0) == 0);
    CHECK(lines[2].find("slow and lossy") == 0);
    CHECK(lines[2].find("10%") != std::string::npos);
    CHECK(lines[2].find("888.889 kbit/s") != std::string::npos);  // 8 Mbit over 9 s
    CHECK(lines[2].find("123") != std::string::npos);
    CHECK(lines[3].find("unlimited") != std::string::npos);
    // Right-aligned: the time column ends where its header does.
    std::size_t time_end = lines[0].find(" time") + 5;
    CHECK(lines[2].substr(time_end - 3, 3) == "9 s");
    CHECK(lines[3].substr(time_end - 4, 4) == "1 ms");
}
