// The sibilantprobe element's audio path, kept free of GStreamer so that the
// unit tests can check it on its own (no allocation after configure(), the
// same samples as sibilant's file reader would make): interleaved F32 or S16
// PCM, mono or stereo, at any rate -> mixed down (mean) -> resampled to
// 48 kHz when needed -> a no-reference sibilant::Probe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sibilant/probe.hpp"
#include "sibilant/resampler.hpp"

namespace sibilant::gst {

enum class PcmFormat { F32, S16 };

class ProbeFeed {
public:
    /// The most frames one push() takes: the buffers are sized for it, and
    /// the caller polls events between pushes so the probe's queue cannot
    /// overflow however large a buffer is.
    static constexpr std::size_t kMaxFrames = 1024;
    static constexpr int kMaxChannels = 2;

    /// Makes the probe (NoReference whatever `config.mode` says). Throws Error.
    explicit ProbeFeed(const ProbeConfig& config);

    /// The input's layout. Allocates (call it from set-up, not per buffer).
    /// A rate change mid-stream flushes the old resampler into the probe
    /// first, so the probe's 48 kHz timeline stays continuous. Throws Error
    /// naming the bad value (channels outside 1..2, rate outside 8-192 kHz).
    void configure(PcmFormat format, int channels, int rate_hz);
    bool configured() const { return rate_hz_ > 0; }

    /// `frames` (at most kMaxFrames) interleaved frames. Returns how many
    /// samples were NaN or infinite; they go to the probe as 0 (the caller's
    /// data is only read). Allocates nothing; throws Error only when libsoxr
    /// fails. Ignored after finish() until reset().
    std::size_t push(const void* interleaved, std::size_t frames);

    /// End of stream: the resampler's tail, then Probe::finish().
    void finish();
    /// A new stream (after a flush): clears the probe and the resampler,
    /// keeps the layout. Allocates.
    void reset();

    Probe& probe() { return probe_; }
    const Probe& probe() const { return probe_; }
    int rate_hz() const { return rate_hz_; }
    int channels() const { return channels_; }
    bool finished() const { return finished_; }

private:
    void make_resampler();
    void flush_resampler();

    Probe probe_;
    PcmFormat format_ = PcmFormat::F32;
    int channels_ = 0;
    int rate_hz_ = 0;
    bool finished_ = false;
    std::vector<float> mono_;                  // kMaxFrames, the mixed-down chunk
    std::unique_ptr<Resampler> resampler_;     // null at 48 kHz
    std::vector<float> resampled_;             // reserved so that push() never grows it
};

}  // namespace sibilant::gst
