#include "kernel/command_line.hpp"

#include <limits>

namespace kernel {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_key_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

}  // namespace

const char* to_string(CommandLine::Problem problem) {
    switch (problem) {
        case CommandLine::Problem::UnterminatedQuote: return "unterminated quote";
        case CommandLine::Problem::EmptyKey: return "setting has no name before '='";
        case CommandLine::Problem::BadKeyCharacter: return "setting name may hold only letters, digits, '_', '-', '.'";
        case CommandLine::Problem::DuplicateKey: return "setting given twice; the last one applies";
        case CommandLine::Problem::TooManySettings: return "too many settings; this one is ignored";
        case CommandLine::Problem::TooLong: return "command line too long; the rest is ignored";
    }
    return "unknown problem";
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    unsigned base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = static_cast<unsigned>(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            digit = static_cast<unsigned>(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            digit = static_cast<unsigned>(c - 'A' + 10);
        else
            return std::nullopt;
        if (digit >= base) return std::nullopt;
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / base) return std::nullopt;
        value = value * base + digit;
    }
    return value;
}

void CommandLine::report(Problem problem, std::size_t column, std::string_view token) {
    if (m_problem_count == m_problems.size()) {
        ++m_unreported;
        return;
    }
    m_problems[m_problem_count++] = {problem, column, token};
}

void CommandLine::add(std::string_view key, std::string_view value, std::size_t column, std::string_view token) {
    for (std::size_t i = 0; i < m_setting_count; ++i) {
        if (m_settings[i].key == key) {
            m_settings[i].value = value;
            report(Problem::DuplicateKey, column, token);
            return;
        }
    }
    if (m_setting_count == m_settings.size()) {
        report(Problem::TooManySettings, column, token);
        return;
    }
    m_settings[m_setting_count++] = {key, value};
}

void CommandLine::parse(std::string_view text, bool has_image_path) {
    if (text.size() > m_storage.size()) {
        report(Problem::TooLong, m_storage.size() + 1, text.substr(m_storage.size(), 16));
        text = text.substr(0, m_storage.size());
    }
    // Tokens are copied into m_storage with quotes removed; views point there.
    std::size_t i = 0;
    bool first = true;
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i])) ++i;
        if (i == text.size()) break;
        std::size_t token_start = i;
        std::size_t copy_start = m_storage_used;
        std::size_t equals = std::string_view::npos;  // position in the copy
        bool in_quote = false;
        for (; i < text.size() && (in_quote || !is_space(text[i])); ++i) {
            char c = text[i];
            if (c == '"') {
                in_quote = !in_quote;
                continue;
            }
            if (c == '=' && equals == std::string_view::npos && !in_quote) equals = m_storage_used - copy_start;
            m_storage[m_storage_used++] = c;
        }
        std::string_view token = text.substr(token_start, i - token_start);
        std::string_view copy(m_storage.data() + copy_start, m_storage_used - copy_start);
        std::size_t column = token_start + 1;
        bool was_first = first;
        first = false;
        if (in_quote) {
            report(Problem::UnterminatedQuote, column, token);
            continue;
        }
        if (was_first && has_image_path && equals == std::string_view::npos) {
            m_image_path = copy;
            continue;
        }
        std::string_view key = copy.substr(0, equals);
        std::string_view value = equals == std::string_view::npos ? std::string_view("true") : copy.substr(equals + 1);
        if (key.empty()) {
            report(Problem::EmptyKey, column, token);
            continue;
        }
        bool key_ok = true;
        for (char c : key) key_ok = key_ok && is_key_character(c);
        if (!key_ok) {
            report(Problem::BadKeyCharacter, column, token);
            continue;
        }
        add(key, value, column, token);
    }
}

std::optional<std::string_view> CommandLine::get(std::string_view key) const {
    for (const auto& setting : settings()) {
        if (setting.key == key) return setting.value;
    }
    return std::nullopt;
}

std::optional<bool> CommandLine::get_bool(std::string_view key) const {
    auto value = get(key);
    if (!value) return std::nullopt;
    if (*value == "true" || *value == "1" || *value == "yes" || *value == "on") return true;
    if (*value == "false" || *value == "0" || *value == "no" || *value == "off") return false;
    return std::nullopt;
}

std::optional<std::uint64_t> CommandLine::get_u64(std::string_view key) const {
    auto value = get(key);
    if (!value) return std::nullopt;
    return parse_u64(*value);
}

}  // namespace kernel

void kernel::fmt::Formatter<kernel::CommandLine::Diagnostic>::format(Sink& sink, const Spec&,
                                                                     const kernel::CommandLine::Diagnostic& value) {
    format_to(sink, "column {}: {}: '{}'", value.column, kernel::to_string(value.problem), value.token);
}
