// Spectrograms for the report: the analyzer's STFT (dsp::Stft, 512-point
// Hann, 5 ms hop at 48 kHz) in dB, 0-20 kHz, with frames max-pooled into at
// most max_columns columns, so that memory and image width stay bounded
// whatever the length (an hour is 720,000 frames; its picture is at most
// max_columns wide). Max, not mean: a 50 ms sibilant in a 2 s column must
// still show.
#pragma once

#include <cstdint>
#include <algorithm>
#include <span>
#include <vector>

#include "dsp/stft.hpp"
#include "report/png_image.hpp"

namespace sibilant::report {

struct Spectrogram {
    int columns = 0;
    int rows = 0;                    ///< Bins 0 .. rows-1 (bin k at k * bin_hz).
    double bin_hz = 0;
    double seconds_per_column = 0;   ///< pool * hop.
    /// Where column 0 begins: frame k is centred at k * hop + fft_size / 2
    /// and stands for the hop around its centre, so the columns start at
    /// (fft_size - hop) / 2 (2.8 ms).
    double first_s = 0;
    std::int64_t frames = 0;         ///< STFT frames pooled in.
    std::vector<float> db;           ///< Column-major: db[column * rows + row]; power in dB.

    float at(int column, int row) const { return db[std::size_t(column) * std::size_t(rows) + std::size_t(row)]; }
    float max_db() const;
    /// Time span the columns cover: columns * seconds_per_column from first_s.
    double seconds() const { return columns * seconds_per_column; }
};

/// Feeds audio in chunks (48 kHz mono); frames are pooled as they come:
/// whenever the columns would exceed max_columns, neighbours are merged in
/// pairs and the pool doubles, so the width ends between max_columns / 2 and
/// max_columns once there are that many frames (one frame per column below).
class SpectrogramBuilder {
public:
    /// max_columns: even, >= 2. Throws sibilant::Error otherwise.
    explicit SpectrogramBuilder(int max_columns = 2000, double max_hz = 20000.0);
    void push(std::span<const float> samples_48k);
    /// Adds `count` samples of silence.
    void push_zeros(std::int64_t count);
    Spectrogram finish();

private:
    void add_frame(std::span<const float> power);
    bool full() const;
    void merge_pairs();   // neighbours in pairs; the pool doubles
    void append_open();   // closes the open column

    dsp::Stft stft_;
    int max_columns_;
    int rows_;
    int pool_ = 1;                   // frames per column
    int in_column_ = 0;              // frames in the open column
    std::vector<float> open_;        // max power per bin of the open column
    std::vector<float> power_;       // closed columns, column-major, linear power
    std::int64_t frames_ = 0;
};

/// Feeds the degraded into `builder` on the reference's timeline: output
/// sample n is degraded[n + delay] * scale for 0 <= n < reference_samples,
/// silence where that falls outside the degraded. read(block) fills the next
/// samples of the degraded and returns how many, 0 at its end.
template <class Read>
void push_aligned(SpectrogramBuilder& builder, Read&& read, std::int64_t delay_samples, float scale,
                  std::int64_t reference_samples) {
    std::int64_t pushed = 0;
    if (delay_samples < 0) {  // the degraded leads: it starts -delay samples into the reference
        pushed = std::min(-delay_samples, reference_samples);
        builder.push_zeros(pushed);
    }
    std::int64_t skip = std::max<std::int64_t>(delay_samples, 0);
    std::vector<float> block(4800);
    while (pushed < reference_samples) {
        const std::size_t n = read(std::span<float>(block));
        if (n == 0) break;
        const auto first = static_cast<std::size_t>(std::min<std::int64_t>(skip, std::int64_t(n)));
        skip -= std::int64_t(first);
        const auto take = static_cast<std::size_t>(std::min<std::int64_t>(std::int64_t(n - first), reference_samples - pushed));
        for (std::size_t i = first; i < first + take; ++i) block[i] *= scale;
        builder.push(std::span<const float>(block.data() + first, take));
        pushed += std::int64_t(take);
    }
    builder.push_zeros(reference_samples - pushed);
}

/// The spectrogram as an image: one pixel per column and bin, the highest
/// frequency on top, dB mapped through viridis from floor_db (dark) to
/// top_db (yellow).
RgbImage render(const Spectrogram& spectrogram, double top_db, double floor_db);

}  // namespace sibilant::report
