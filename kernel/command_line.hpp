#pragma once
// The kernel command line: the image's path, then settings.
//
//     /boot/echo.elf ip=10.0.0.2/24 gw=10.0.0.1 name="my echo" verbose
//
// A setting is key=value (the value may be "quoted" to hold spaces) or a bare key, which
// reads as "true". Malformed tokens are reported with their column and skipped; the rest
// of the line still applies. A repeated key keeps its last value and is reported too.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernel/format.hpp"

namespace kernel {

class CommandLine {
public:
    static constexpr std::size_t k_max_settings = 64;
    static constexpr std::size_t k_max_length = 2048;
    static constexpr std::size_t k_max_problems = 8;

    struct Setting {
        std::string_view key;
        std::string_view value;
    };

    enum class Problem { UnterminatedQuote, EmptyKey, BadKeyCharacter, DuplicateKey, TooManySettings, TooLong };
    struct Diagnostic {
        Problem problem;
        std::size_t column;  // 1-based, in the original text
        std::string_view token;
    };

    CommandLine() = default;
    // Parses text. With has_image_path, a first token without '=' is the image's path.
    void parse(std::string_view text, bool has_image_path = true);

    [[nodiscard]] std::string_view image_path() const { return m_image_path; }
    [[nodiscard]] std::span<const Setting> settings() const { return {m_settings.data(), m_setting_count}; }
    [[nodiscard]] std::span<const Diagnostic> problems() const { return {m_problems.data(), m_problem_count}; }
    // Problems beyond k_max_problems are counted here.
    [[nodiscard]] std::size_t unreported_problems() const { return m_unreported; }

    [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const;
    [[nodiscard]] bool has(std::string_view key) const { return get(key).has_value(); }
    // A bare key, or key=1/true/yes/on, is true; key=0/false/no/off is false.
    [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const;
    // Decimal or 0x-prefixed hexadecimal; nullopt if absent or malformed.
    [[nodiscard]] std::optional<std::uint64_t> get_u64(std::string_view key) const;

    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

private:
    void report(Problem problem, std::size_t column, std::string_view token);
    void add(std::string_view key, std::string_view value, std::size_t column, std::string_view token);

    std::array<char, k_max_length> m_storage{};
    std::size_t m_storage_used = 0;
    std::string_view m_image_path;
    std::array<Setting, k_max_settings> m_settings{};
    std::size_t m_setting_count = 0;
    std::array<Diagnostic, k_max_problems> m_problems{};
    std::size_t m_problem_count = 0;
    std::size_t m_unreported = 0;
};

const char* to_string(CommandLine::Problem problem);
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace kernel

template <>
struct kernel::fmt::Formatter<kernel::CommandLine::Diagnostic> {
    static void format(Sink& sink, const Spec& spec, const kernel::CommandLine::Diagnostic& value);
};
