#include "kernel/format.hpp"

#include <array>

namespace kernel::fmt {

void BufferSink::write(std::string_view text) {
    m_wanted += text.size();
    std::size_t room = m_buffer.size() - m_used;
    std::size_t n = text.size() < room ? text.size() : room;
    for (std::size_t i = 0; i < n; ++i) m_buffer[m_used + i] = text[i];
    m_used += n;
}

namespace {

void write_fill(Sink& sink, char fill, std::size_t count) {
    std::array<char, 32> chunk{};
    chunk.fill(fill);
    while (count > 0) {
        std::size_t n = count < chunk.size() ? count : chunk.size();
        sink.write(std::string_view(chunk.data(), n));
        count -= n;
    }
}

// Writes prefix (sign, 0x) and digits, honouring width, alignment and zero padding.
void write_number(Sink& sink, const Spec& spec, std::string_view prefix, std::string_view digits) {
    std::size_t length = prefix.size() + digits.size();
    std::size_t padding = spec.width > length ? spec.width - length : 0;
    if (spec.zero_pad && spec.align == 0) {
        sink.write(prefix);
        write_fill(sink, '0', padding);
        sink.write(digits);
        return;
    }
    char align = spec.align == 0 ? '>' : spec.align;
    std::size_t before = align == '>' ? padding : align == '^' ? padding / 2 : 0;
    write_fill(sink, spec.fill, before);
    sink.write(prefix);
    sink.write(digits);
    write_fill(sink, spec.fill, padding - before);
}

void format_integer(Sink& sink, const Spec& spec, std::uint64_t magnitude, bool negative) {
    unsigned base = 10;
    bool upper = false;
    std::string_view prefix_text;
    switch (spec.type) {
        case 'x':
            base = 16;
            prefix_text = "0x";
            break;
        case 'X':
            base = 16;
            upper = true;
            prefix_text = "0X";
            break;
        case 'b':
            base = 2;
            prefix_text = "0b";
            break;
        case 'o':
            base = 8;
            prefix_text = "0o";
            break;
        case 'p':
            base = 16;
            prefix_text = "0x";
            break;
        default: break;
    }
    std::array<char, 64> digits{};
    std::size_t pos = digits.size();
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[--pos] = alphabet[magnitude % base];
        magnitude /= base;
    } while (magnitude != 0);
    std::array<char, 3> prefix{};
    std::size_t prefix_length = 0;
    if (negative) prefix[prefix_length++] = '-';
    if ((spec.alternate || spec.type == 'p') && !prefix_text.empty()) {
        prefix[prefix_length++] = prefix_text[0];
        prefix[prefix_length++] = prefix_text[1];
    }
    write_number(sink, spec, std::string_view(prefix.data(), prefix_length),
                 std::string_view(digits.data() + pos, digits.size() - pos));
}

}  // namespace

void pad_and_write(Sink& sink, const Spec& spec, std::string_view text, char default_align) {
    if (spec.precision >= 0 && text.size() > static_cast<std::size_t>(spec.precision)) {
        text = text.substr(0, static_cast<std::size_t>(spec.precision));
    }
    std::size_t padding = spec.width > text.size() ? spec.width - text.size() : 0;
    char align = spec.align == 0 ? default_align : spec.align;
    std::size_t before = align == '>' ? padding : align == '^' ? padding / 2 : 0;
    write_fill(sink, spec.fill, before);
    sink.write(text);
    write_fill(sink, spec.fill, padding - before);
}

void Arg::format(Sink& sink, const Spec& spec) const {
    switch (m_kind) {
        case Kind::Signed: {
            bool negative = m_signed < 0;
            std::uint64_t magnitude =
                negative ? 0 - static_cast<std::uint64_t>(m_signed) : static_cast<std::uint64_t>(m_signed);
            return format_integer(sink, spec, magnitude, negative);
        }
        case Kind::Unsigned: return format_integer(sink, spec, m_unsigned, false);
        case Kind::Bool: return pad_and_write(sink, spec, m_bool ? "true" : "false");
        case Kind::Char:
            if (spec.type != 0 && spec.type != 'c')
                return format_integer(sink, spec, static_cast<unsigned char>(m_char), false);
            return pad_and_write(sink, spec, std::string_view(&m_char, 1));
        case Kind::String: return pad_and_write(sink, spec, m_string);
        case Kind::Pointer: {
            Spec pointer_spec = spec;
            pointer_spec.type = 'p';
            return format_integer(sink, pointer_spec, reinterpret_cast<std::uintptr_t>(m_pointer), false);
        }
        case Kind::Custom: return m_custom.fn(sink, spec, m_custom.object);
    }
}

void vformat(Sink& sink, std::string_view format, std::span<const Arg> args) {
    std::size_t next_arg = 0;
    std::size_t literal_start = 0;
    auto flush_literal = [&](std::size_t end) {
        if (end > literal_start) sink.write(format.substr(literal_start, end - literal_start));
    };
    for (std::size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if ((c == '{' || c == '}') && i + 1 < format.size() && format[i + 1] == c) {
            flush_literal(i + 1);
            literal_start = i + 2;
            ++i;
            continue;
        }
        if (c != '{') continue;
        flush_literal(i);
        std::size_t close = format.find('}', i);
        Spec spec;
        std::string_view inside =
            close == std::string_view::npos ? std::string_view() : format.substr(i + 1, close - i - 1);
        bool valid = close != std::string_view::npos &&
                     (inside.empty() || (inside[0] == ':' && parse_spec(inside.substr(1), spec)));
        if (!valid || next_arg >= args.size()) {
            // Only reachable through vformat with a string not checked at compile time.
            sink.write("{?}");
            literal_start = close == std::string_view::npos ? format.size() : close + 1;
            i = literal_start - 1;
            continue;
        }
        args[next_arg++].format(sink, spec);
        literal_start = close + 1;
        i = close;
    }
    flush_literal(format.size());
}

}  // namespace kernel::fmt
