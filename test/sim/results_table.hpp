#pragma once
// The simulation's results: one row per scenario (the link's settings, the bytes moved,
// the virtual time it took, and what the link did to the frames), printed as a table with
// aligned columns when sim_tests ends.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/time.hpp"
#include "test/sim/sim_link.hpp"

namespace sim {

struct ResultRow {
    std::string scenario;
    DirectionConfig link;             // the direction the data went
    std::uint64_t bytes = 0;          // application bytes moved
    runtime::Duration completion{0};  // virtual time from start to the last byte
    LinkCounters counters;            // both directions together
};

class ResultsTable {
public:
    // The table sim_tests prints at the end.
    static ResultsTable& global();

    void add(ResultRow row) { m_rows.push_back(std::move(row)); }
    [[nodiscard]] bool empty() const { return m_rows.empty(); }
    [[nodiscard]] const std::vector<ResultRow>& rows() const { return m_rows; }
    // A header, a rule and one line per row, each column as wide as its widest cell.
    void print(std::ostream& out) const;

private:
    std::vector<ResultRow> m_rows;
};

// "1.234 ms", "250 us", "5 s": three significant decimals at most, trailing zeros cut.
std::string format_duration(runtime::Duration d);
// "10 Mbit/s", "1.5 Gbit/s", "unlimited" (for 0).
std::string format_bandwidth(std::uint64_t bits_per_second);
// "10%", "0.5%", "0%".
std::string format_probability(Probability p);
// bytes / time as a bandwidth; "-" when no time passed.
std::string format_throughput(std::uint64_t bytes, runtime::Duration d);

}  // namespace sim
