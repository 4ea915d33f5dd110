#include "report/spectrogram.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sibilant/error.hpp"

namespace sibilant::report {

float Spectrogram::max_db() const {
    return db.empty() ? -200.0f : *std::max_element(db.begin(), db.end());
}

SpectrogramBuilder::SpectrogramBuilder(int max_columns, double max_hz) : max_columns_(max_columns) {
    if (max_columns < 2 || max_columns % 2 != 0)
        throw Error("spectrogram: max_columns must be even and at least 2, not " + std::to_string(max_columns));
    rows_ = std::min(stft_.bins(), static_cast<int>(max_hz / stft_.bin_hz()) + 1);
    open_.assign(std::size_t(rows_), 0.0f);
    power_.reserve(std::size_t(max_columns) * std::size_t(rows_));
}

void SpectrogramBuilder::push(std::span<const float> samples_48k) {
    stft_.push(samples_48k, [this](const dsp::StftFrame& frame) { add_frame(frame.power); });
}

void SpectrogramBuilder::push_zeros(std::int64_t count) {
    static constexpr float kZeros[1024] = {};
    for (; count > 0; count -= 1024) push(std::span<const float>(kZeros, std::size_t(std::min<std::int64_t>(count, 1024))));
}

void SpectrogramBuilder::add_frame(std::span<const float> power) {
    for (int k = 0; k < rows_; ++k) open_[std::size_t(k)] = std::max(open_[std::size_t(k)], power[std::size_t(k)]);
    ++frames_;
    if (++in_column_ < pool_) return;
    // The open column holds pool_/2 frames after a merge: it stays open for as many more.
    if (full()) merge_pairs();
    else append_open();
}

bool SpectrogramBuilder::full() const { return power_.size() == std::size_t(max_columns_) * std::size_t(rows_); }

void SpectrogramBuilder::merge_pairs() {
    const std::size_t rows = std::size_t(rows_);
    const std::size_t columns = power_.size() / rows;  // max_columns_, even
    for (std::size_t c = 0; c < columns; c += 2)
        for (std::size_t k = 0; k < rows; ++k)
            power_[c / 2 * rows + k] = std::max(power_[c * rows + k], power_[(c + 1) * rows + k]);
    power_.resize(columns / 2 * rows);
    pool_ *= 2;
}

void SpectrogramBuilder::append_open() {
    power_.insert(power_.end(), open_.begin(), open_.end());
    std::fill(open_.begin(), open_.end(), 0.0f);
    in_column_ = 0;
}

Spectrogram SpectrogramBuilder::finish() {
    if (in_column_ > 0) {  // a partial last column
        if (full()) merge_pairs();
        append_open();
    }
    Spectrogram s;
    s.rows = rows_;
    s.columns = static_cast<int>(power_.size() / std::size_t(rows_));
    s.bin_hz = stft_.bin_hz();
    s.seconds_per_column = pool_ * stft_.config().hop_samples / stft_.config().rate_hz;
    s.first_s = (stft_.config().fft_size - stft_.config().hop_samples) / 2.0 / stft_.config().rate_hz;
    s.frames = frames_;
    s.db.resize(power_.size());
    std::transform(power_.begin(), power_.end(), s.db.begin(),
                   [](float p) { return 10.0f * std::log10(std::max(p, 1e-20f)); });
    return s;
}

RgbImage render(const Spectrogram& s, double top_db, double floor_db) {
    RgbImage image(s.columns, s.rows);
    const double range = std::max(top_db - floor_db, 1.0);
    for (int c = 0; c < s.columns; ++c)
        for (int k = 0; k < s.rows; ++k) image.set(c, s.rows - 1 - k, viridis((s.at(c, k) - floor_db) / range));
    return image;
}

}  // namespace sibilant::report
