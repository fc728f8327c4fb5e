#include "test/sim/results_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace sim {
namespace {

// value / unit with up to three decimals (truncated), trailing zeros cut, then the suffix.
std::string scaled(std::uint64_t value, std::uint64_t unit, const char* suffix) {
    std::string text = std::to_string(value / unit);
    std::uint64_t thousandths = (value % unit) * 1000 / unit;
    if (thousandths != 0) {
        std::string decimals = std::to_string(thousandths);
        decimals.insert(0, 3 - decimals.size(), '0');
        while (decimals.back() == '0') decimals.pop_back();
        text += "." + decimals;
    }
    return text + suffix;
}

// Chooses the largest unit the value reaches.
std::string with_unit(std::uint64_t value, const std::array<std::pair<std::uint64_t, const char*>, 4>& units) {
    for (const auto& [unit, suffix] : units) {
        if (value >= unit) return scaled(value, unit, suffix);
    }
    return scaled(value, units.back().first, units.back().second);
}

enum class Align : std::uint8_t { Left, Right };

}  // namespace

std::string format_duration(runtime::Duration d) {
    auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
    return with_unit(ns, {{{1'000'000'000, " s"}, {1'000'000, " ms"}, {1'000, " us"}, {1, " ns"}}});
}

std::string format_bandwidth(std::uint64_t bits_per_second) {
    if (bits_per_second == 0) return "unlimited";
    return with_unit(bits_per_second,
                     {{{1'000'000'000, " Gbit/s"}, {1'000'000, " Mbit/s"}, {1'000, " kbit/s"}, {1, " bit/s"}}});
}

std::string format_probability(Probability p) {
    // One percent is 10'000 ppm: four decimals at most.
    std::string text = std::to_string(p.ppm / 10'000);
    if (std::uint32_t rest = p.ppm % 10'000; rest != 0) {
        std::string decimals = std::to_string(rest);
        decimals.insert(0, 4 - decimals.size(), '0');
        while (decimals.back() == '0') decimals.pop_back();
        text += "." + decimals;
    }
    return text + "%";
}

std::string format_throughput(std::uint64_t bytes, runtime::Duration d) {
    if (d.count() <= 0) return "-";
    // Host-only code: floating point is fine here, and it cannot overflow.
    double bits_per_second = static_cast<double>(bytes) * 8.0 * 1e9 / static_cast<double>(d.count());
    return format_bandwidth(static_cast<std::uint64_t>(std::llround(bits_per_second)));
}

ResultsTable& ResultsTable::global() {
    static ResultsTable table;
    return table;
}

void ResultsTable::print(std::ostream& out) const {
    struct Column {
        const char* title;
        Align align;
    };
    static constexpr std::array<Column, 16> k_columns{{
        {"scenario", Align::Left},
        {"loss", Align::Right},
        {"reorder", Align::Right},
        {"dup", Align::Right},
        {"corrupt", Align::Right},
        {"delay", Align::Right},
        {"bandwidth", Align::Right},
        {"bytes", Align::Right},
        {"time", Align::Right},
        {"throughput", Align::Right},
        {"lost", Align::Right},
        {"duplicated", Align::Right},
        {"reordered", Align::Right},
        {"corrupted", Align::Right},
        {"queue drops", Align::Right},
        {"filtered", Align::Right},
    }};
    std::vector<std::array<std::string, k_columns.size()>> cells;
    cells.reserve(m_rows.size());
    for (const ResultRow& row : m_rows) {
        cells.push_back({
            row.scenario,
            format_probability(row.link.loss),
            format_probability(row.link.reorder),
            format_probability(row.link.duplicate),
            format_probability(row.link.corrupt),
            format_duration(row.link.delay),
            format_bandwidth(row.link.bits_per_second),
            std::to_string(row.bytes),
            format_duration(row.completion),
            format_throughput(row.bytes, row.completion),
            std::to_string(row.counters.lost),
            std::to_string(row.counters.duplicated),
            std::to_string(row.counters.reordered),
            std::to_string(row.counters.corrupted),
            std::to_string(row.counters.queue_drops),
            std::to_string(row.counters.filtered),
        });
    }
    std::array<std::size_t, k_columns.size()> widths{};
    for (std::size_t c = 0; c < k_columns.size(); ++c) {
        widths[c] = std::string(k_columns[c].title).size();
        for (const auto& line : cells) widths[c] = std::max(widths[c], line[c].size());
    }
    auto print_cell = [&](std::size_t c, const std::string& text) {
        std::string padding(widths[c] - text.size(), ' ');
        if (c != 0) out << "  ";
        out << (k_columns[c].align == Align::Left ? text + padding : padding + text);
    };
    for (std::size_t c = 0; c < k_columns.size(); ++c) print_cell(c, k_columns[c].title);
    out << '\n';
    for (std::size_t c = 0; c < k_columns.size(); ++c) {
        if (c != 0) out << "  ";
        out << std::string(widths[c], '-');
    }
    out << '\n';
    for (const auto& line : cells) {
        for (std::size_t c = 0; c < k_columns.size(); ++c) print_cell(c, line[c]);
        out << '\n';
    }
}

}  // namespace sim
