// A fixed-capacity text builder for the why sentences: printf-style appends
// into a buffer on the stack, so that judging an event on a real-time path
// allocates nothing. Text beyond the capacity is cut off (never overflows).
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <string_view>

namespace sibilant::dsp {

template <std::size_t Capacity>
class TextBuffer {
public:
    void clear() noexcept {
        size_ = 0;
        data_[0] = '\0';
    }
    [[gnu::format(printf, 2, 3)]] void appendf(const char* format, ...) noexcept {
        if (size_ + 1 >= Capacity) return;
        va_list args;
        va_start(args, format);
        const int n = std::vsnprintf(data_ + size_, Capacity - size_, format, args);
        va_end(args);
        if (n > 0) size_ = std::min(Capacity - 1, size_ + static_cast<std::size_t>(n));
    }
    void append(std::string_view text) noexcept { appendf("%.*s", static_cast<int>(text.size()), text.data()); }
    std::string_view view() const noexcept { return {data_, size_}; }
    std::size_t size() const noexcept { return size_; }

private:
    char data_[Capacity] = {'\0'};
    std::size_t size_ = 0;
};

}  // namespace sibilant::dsp
