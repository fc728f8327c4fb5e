#pragma once
// A virtual-time platform for runtime tests: waiting jumps the clock to the armed
// deadline or to the next scripted "interrupt", whichever is first.

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

#include "runtime/platform.hpp"

namespace test {

struct FatalError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class FakePlatform final : public runtime::Platform {
public:
    runtime::Instant now() override { return m_now; }
    void arm_timer(std::optional<runtime::Instant> deadline) override {
        m_armed = deadline;
        ++arms;
    }
    void wait(bool (*has_work)(void*), void* context) override {
        ++waits;
        if (has_work(context)) return;
        std::optional<runtime::Instant> next = m_armed;
        if (!m_interrupts.empty() && (!next || m_interrupts.begin()->first < *next)) next = m_interrupts.begin()->first;
        if (!next) throw FatalError("deadlock: the loop sleeps with no timer armed and no interrupt to come");
        if (*next > m_now) m_now = *next;
        while (!m_interrupts.empty() && m_interrupts.begin()->first <= m_now) {
            auto handler = m_interrupts.begin()->second;
            m_interrupts.erase(m_interrupts.begin());
            handler();
        }
    }

    // Runs handler (as an interrupt would) when virtual time reaches at.
    void interrupt_at(runtime::Instant at, std::function<void()> handler) {
        m_interrupts.emplace(at, std::move(handler));
    }
    void advance(runtime::Duration d) { m_now += d; }

    int arms = 0;
    int waits = 0;

private:
    runtime::Instant m_now = runtime::instant_from_ns(1'000'000);
    std::optional<runtime::Instant> m_armed;
    std::multimap<runtime::Instant, std::function<void()>> m_interrupts;
};

}  // namespace test
