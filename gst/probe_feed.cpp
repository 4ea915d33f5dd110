#include "probe_feed.hpp"

#include <cmath>
#include <cstring>
#include <span>
#include <string>

#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"

namespace sibilant::gst {

namespace {

// The element hands the probe decoded PCM only: no Opus decoder is needed.
ProbeConfig no_reference(ProbeConfig config) {
    config.mode = ProbeMode::NoReference;
    config.accept_packets = false;
    return config;
}

// Room for what the resampler may hand back from one push at the lowest
// input rate, several times over: libsoxr releases its output in blocks, so
// one call can return more than the call's own share. The no-allocation test
// runs every rate the caps allow through long streams against this.
constexpr std::size_t kResampledCapacity =
    4 * (ProbeFeed::kMaxFrames * kInternalRateHz / kMinInputRateHz) + 16384;

// One sample as sibilant's file reader sees it: libsndfile gives 16-bit
// samples as x / 32768.
inline float sample_at(const float* p) { return *p; }
inline float sample_at(const std::int16_t* p) { return float(*p) / 32768.0f; }

// Mean of the channels in double, as AudioFileReader mixes down, so that
// the element and `sibilant analyze` see the same samples.
template <typename T>
std::size_t mix_down(const T* in, std::size_t frames, int channels, float* out) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < frames; ++i) {
        double sum = 0.0;
        for (int c = 0; c < channels; ++c) {
            float x = sample_at(in + i * std::size_t(channels) + std::size_t(c));
            // A NaN would poison every STFT frame it touches from then on.
            if (!std::isfinite(x)) {
                x = 0.0f;
                ++bad;
            }
            sum += double(x);
        }
        out[i] = channels == 1 ? float(sum) : float(sum / double(channels));
    }
    return bad;
}

}  // namespace

ProbeFeed::ProbeFeed(const ProbeConfig& config) : probe_(no_reference(config)), mono_(kMaxFrames) {
    resampled_.reserve(kResampledCapacity);
}

void ProbeFeed::configure(PcmFormat format, int channels, int rate_hz) {
    if (channels < 1 || channels > kMaxChannels)
        throw Error("sibilantprobe: " + std::to_string(channels) + " channels; mono or stereo only");
    if (rate_hz < kMinInputRateHz || rate_hz > kMaxInputRateHz)
        throw Error("sibilantprobe: sample rate " + std::to_string(rate_hz) + " Hz is outside " +
                    std::to_string(kMinInputRateHz) + "-" + std::to_string(kMaxInputRateHz) + " Hz");
    format_ = format;
    channels_ = channels;
    if (rate_hz == rate_hz_) return;
    if (configured() && !finished_) flush_resampler();
    rate_hz_ = rate_hz;
    make_resampler();
}

void ProbeFeed::make_resampler() {
    resampler_.reset();
    if (rate_hz_ != kInternalRateHz) resampler_ = std::make_unique<Resampler>(double(rate_hz_), double(kInternalRateHz));
}

void ProbeFeed::flush_resampler() {
    if (!resampler_) return;
    resampled_.clear();
    resampler_->flush(resampled_);
    probe_.push(std::span<const float>(resampled_));
}

std::size_t ProbeFeed::push(const void* interleaved, std::size_t frames) {
    if (finished_ || !configured() || frames == 0) return 0;
    if (frames > kMaxFrames) throw Error("sibilantprobe: internal error: push of more than kMaxFrames frames");
    const std::size_t bad =
        format_ == PcmFormat::F32
            ? mix_down(static_cast<const float*>(interleaved), frames, channels_, mono_.data())
            : mix_down(static_cast<const std::int16_t*>(interleaved), frames, channels_, mono_.data());
    const std::span<const float> mono(mono_.data(), frames);
    if (!resampler_) {
        probe_.push(mono);
        return bad;
    }
    resampled_.clear();
    resampler_->process(mono, resampled_);
    probe_.push(std::span<const float>(resampled_));
    return bad;
}

void ProbeFeed::finish() {
    if (finished_) return;
    if (configured()) flush_resampler();
    probe_.finish();
    finished_ = true;
}

void ProbeFeed::reset() {
    probe_.reset();
    finished_ = false;
    if (configured()) make_resampler();
}

}  // namespace sibilant::gst
