#pragma once
// A set of physical frames as a bitmap, one bit per 4 KiB frame up to a limit: what the
// balloon remembers of the frames it holds. It lives in the driver's own memory (the
// heap), never in the frames it describes, which belong to the host while ballooned.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace balloon {

class FrameSet {
public:
    FrameSet() = default;
    // Room for frames below `limit` (a physical address); empty on lack of memory.
    static FrameSet create(std::uint64_t limit);
    FrameSet(FrameSet&& other) noexcept;
    FrameSet& operator=(FrameSet&& other) noexcept;
    FrameSet(const FrameSet&) = delete;
    FrameSet& operator=(const FrameSet&) = delete;
    ~FrameSet();

    [[nodiscard]] bool valid() const { return m_words != nullptr; }
    // False if the frame is outside the set's range or already in (or, for remove, not in).
    bool insert(std::uint64_t address);
    bool remove(std::uint64_t address);
    [[nodiscard]] bool contains(std::uint64_t address) const;
    [[nodiscard]] std::size_t size() const { return m_count; }
    // Removes and returns some member (scanning on from where the last one was found).
    std::optional<std::uint64_t> take_any();

private:
    std::uint64_t* m_words = nullptr;
    std::size_t m_word_count = 0;
    std::size_t m_count = 0;
    std::size_t m_cursor = 0;  // a word to start the next take_any() at
};

}  // namespace balloon
