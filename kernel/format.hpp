#pragma once
// Type-safe formatted output in the spirit of std::format, for a kernel without a heap:
//
//     kernel::println("{} frames free, first at {:#x}", count, address);
//
// The format string is checked at compile time against the number of arguments, and each
// argument's type chooses how it prints. Output goes to a Sink, so the same code formats
// to the serial console, into a fixed buffer, or into a test's string.
//
// Spec grammar (a subset of std::format's): {[:[[fill]align][#][0][width][.precision][type]]}
// align is < > ^; type is d x X b o c s p. There is no floating point: kernel code runs without
// SSE or x87 (see docs/kvm-on-this-host.md), so figures are scaled to integers. Types supply their own printing by
// specialising kernel::fmt::Formatter<T>.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace kernel::fmt {

class Sink {
public:
    virtual void write(std::string_view text) = 0;
    void put(char c) { write(std::string_view(&c, 1)); }

protected:
    Sink() = default;
    Sink(const Sink&) = default;
    Sink& operator=(const Sink&) = default;
    ~Sink() = default;
};

// Formats into a fixed buffer; text past the end is counted but dropped.
class BufferSink final : public Sink {
public:
    explicit BufferSink(std::span<char> buffer) : m_buffer(buffer) {}
    void write(std::string_view text) override;
    [[nodiscard]] std::string_view view() const { return {m_buffer.data(), m_used}; }
    [[nodiscard]] std::size_t wanted() const { return m_wanted; }
    [[nodiscard]] bool truncated() const { return m_wanted > m_used; }

private:
    std::span<char> m_buffer;
    std::size_t m_used = 0;
    std::size_t m_wanted = 0;
};

struct Spec {
    char fill = ' ';
    char align = 0;  // 0 means the type's default: numbers right, text left
    bool alternate = false;
    bool zero_pad = false;
    std::uint32_t width = 0;
    std::int32_t precision = -1;
    char type = 0;
};

// Parses the part between ':' and '}'. Returns false for a malformed spec.
constexpr bool parse_spec(std::string_view text, Spec& spec) {
    std::size_t i = 0;
    auto is_align = [](char c) { return c == '<' || c == '>' || c == '^'; };
    if (text.size() >= 2 && is_align(text[1])) {
        spec.fill = text[0];
        spec.align = text[1];
        i = 2;
    } else if (!text.empty() && is_align(text[0])) {
        spec.align = text[0];
        i = 1;
    }
    if (i < text.size() && text[i] == '#') {
        spec.alternate = true;
        ++i;
    }
    if (i < text.size() && text[i] == '0') {
        spec.zero_pad = true;
        ++i;
    }
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        spec.width = spec.width * 10 + static_cast<std::uint32_t>(text[i] - '0');
        if (spec.width > 1000) return false;
        ++i;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
        spec.precision = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            spec.precision = spec.precision * 10 + (text[i] - '0');
            if (spec.precision > 100) return false;
            ++i;
        }
    }
    if (i < text.size()) {
        constexpr std::string_view types = "dxXbocsp";
        if (types.find(text[i]) == std::string_view::npos) return false;
        spec.type = text[i];
        ++i;
    }
    return i == text.size();
}

// Counts the replacement fields of a format string; -1 if it is malformed.
constexpr int count_fields(std::string_view text) {
    int fields = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{') {
            if (i + 1 < text.size() && text[i + 1] == '{') {
                ++i;
                continue;
            }
            std::size_t close = text.find('}', i);
            if (close == std::string_view::npos) return -1;
            std::string_view inside = text.substr(i + 1, close - i - 1);
            if (!inside.empty()) {
                if (inside[0] != ':') return -1;
                Spec spec;
                if (!parse_spec(inside.substr(1), spec)) return -1;
            }
            ++fields;
            i = close;
        } else if (text[i] == '}') {
            if (i + 1 < text.size() && text[i + 1] == '}') {
                ++i;
                continue;
            }
            return -1;
        }
    }
    return fields;
}

// Not constexpr on purpose: reaching one of these during constant evaluation makes a bad
// format string a compile error that names the problem.
void format_string_is_malformed();
void format_string_and_arguments_disagree_in_number();

template <typename... Args>
struct FormatString {
    template <typename S>
    requires std::convertible_to<const S&, std::string_view>
    consteval FormatString(const S& s) : text(s) {  // NOLINT(google-explicit-constructor)
        int fields = count_fields(text);
        if (fields < 0) format_string_is_malformed();
        if (fields != static_cast<int>(sizeof...(Args))) format_string_and_arguments_disagree_in_number();
    }
    std::string_view text;
};

// Specialise to print a type of your own: static void format(Sink&, const Spec&, const T&).
template <typename T>
struct Formatter;

template <typename T>
concept HasFormatter = requires(Sink& sink, const Spec& spec, const T& value) {
    Formatter<T>::format(sink, spec, value);
};

class Arg {
public:
    enum class Kind : std::uint8_t { Signed, Unsigned, Bool, Char, String, Pointer, Custom };
    using CustomFn = void (*)(Sink&, const Spec&, const void*);

    static Arg from_signed(std::int64_t v) {
        Arg a(Kind::Signed);
        a.m_signed = v;
        return a;
    }
    static Arg from_unsigned(std::uint64_t v) {
        Arg a(Kind::Unsigned);
        a.m_unsigned = v;
        return a;
    }
    static Arg from_bool(bool v) {
        Arg a(Kind::Bool);
        a.m_bool = v;
        return a;
    }
    static Arg from_char(char v) {
        Arg a(Kind::Char);
        a.m_char = v;
        return a;
    }
    static Arg from_string(std::string_view v) {
        Arg a(Kind::String);
        a.m_string = v;
        return a;
    }
    static Arg from_pointer(const void* v) {
        Arg a(Kind::Pointer);
        a.m_pointer = v;
        return a;
    }
    static Arg from_custom(const void* object, CustomFn fn) {
        Arg a(Kind::Custom);
        a.m_custom = {object, fn};
        return a;
    }

    void format(Sink& sink, const Spec& spec) const;

private:
    struct CustomValue {
        const void* object;
        CustomFn fn;
    };
    explicit Arg(Kind kind) : m_kind(kind) {}
    Kind m_kind;
    union {
        std::int64_t m_signed;
        std::uint64_t m_unsigned;
        bool m_bool;
        char m_char;
        std::string_view m_string;
        const void* m_pointer;
        CustomValue m_custom;
    };
};

template <typename T>
Arg make_arg(const T& value) {
    using U = std::remove_cvref_t<T>;
    if constexpr (HasFormatter<U>) {
        return Arg::from_custom(&value, [](Sink& sink, const Spec& spec, const void* object) {
            Formatter<U>::format(sink, spec, *static_cast<const U*>(object));
        });
    } else if constexpr (std::is_same_v<U, bool>) {
        return Arg::from_bool(value);
    } else if constexpr (std::is_same_v<U, char>) {
        return Arg::from_char(value);
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
        return Arg::from_signed(value);
    } else if constexpr (std::is_integral_v<U>) {
        return Arg::from_unsigned(value);
    } else if constexpr (std::is_enum_v<U>) {
        return make_arg(static_cast<std::underlying_type_t<U>>(value));
    } else if constexpr (std::is_floating_point_v<U>) {
        static_assert(sizeof(U) == 0, "no floating point in the kernel: print scaled integers");
    } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
        if constexpr (std::is_pointer_v<U>) {
            if (value == nullptr) return Arg::from_string("(null)");
        }
        return Arg::from_string(std::string_view(value));
    } else if constexpr (std::is_pointer_v<U> || std::is_null_pointer_v<U>) {
        return Arg::from_pointer(value);
    } else {
        static_assert(sizeof(U) == 0, "no way to format this type: specialise kernel::fmt::Formatter");
    }
}

void vformat(Sink& sink, std::string_view format, std::span<const Arg> args);

template <typename... Args>
void format_to(Sink& sink, FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    if constexpr (sizeof...(Args) == 0) {
        vformat(sink, format.text, {});
    } else {
        const Arg packed[] = {make_arg(args)...};
        vformat(sink, format.text, packed);
    }
}

// Writes text padded to spec.width with spec.fill; default alignment is left.
void pad_and_write(Sink& sink, const Spec& spec, std::string_view text, char default_align = '<');

}  // namespace kernel::fmt
