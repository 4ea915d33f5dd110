// analyze(): the full-reference pipeline of issue #3 as named stages:
//   align (dsp/alignment) -> remove delay and gain -> STFT of both signals in
//   lockstep (dsp/stft) -> sibilant detection on the reference
//   (dsp/sibilant_detector) -> per-event comparison and scores as each event
//   ends (dsp/sibilant_compare) -> summary.
//
// Everything after the alignment is one kernel (Kernel below) fed the
// reference and the aligned degraded a chunk at a time, the way a live probe
// (issue #4) will feed it. analyze() feeds it from two buffers;
// analyze_files() streams both files twice (once into the aligner, once into
// the kernel), so that an hour-long pair needs a few MB, not the 1.4 GB two
// hours of float samples would take.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dsp/alignment.hpp"
#include "dsp/sibilant_compare.hpp"
#include "dsp/sibilant_detector.hpp"
#include "dsp/stft.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace {

void validate(const AnalyzeOptions& o) {
    auto check = [](double v, const char* name) {
        if (!(v >= 0.0 && v <= 100.0))
            throw Error(std::string("analyze: ") + name + " " + std::to_string(v) + " must be within 0..100");
    };
    check(o.lisp_flag_threshold, "lisp_flag_threshold");
    check(o.smearing_flag_threshold, "smearing_flag_threshold");
}

// Whether reference samples [first, end) touch a gap between two segments
// of the delay map: around a delay step (a jitter buffer) the aligner leaves
// a guard zone whose samples have no reliable counterpart, and frames there
// would compare unrelated audio. Before the first and after the last
// segment the degraded simply has no samples (a delay of a few samples, or
// a degraded that ends early): there it is silence, which is what a
// listener gets, so events there are compared.
bool in_guard_zone(const dsp::AlignmentResult& a, std::int64_t first, std::int64_t end) {
    for (std::size_t i = 0; i + 1 < a.segments.size(); ++i) {
        const std::int64_t gap_begin = a.segments[i].ref_end_sample, gap_end = a.segments[i + 1].ref_begin_sample;
        if (first < gap_end && end > gap_begin) return true;
    }
    return false;
}

// Reference samples [first, first + out.size()) of the degraded mapped onto
// the reference's timeline, gain removed: what dsp::remove_delay_and_gain()
// gives, a chunk at a time. degraded(j) returns degraded sample j, which
// exists for 0 <= j < degraded_samples.
template <class Degraded>
void aligned_chunk(Degraded&& degraded, std::int64_t degraded_samples, const dsp::AlignmentResult& a, float scale,
                   std::int64_t first, std::span<float> out) {
    std::fill(out.begin(), out.end(), 0.0f);
    const auto end = first + static_cast<std::int64_t>(out.size());
    for (const auto& seg : a.segments) {
        const std::int64_t lo = std::max({first, seg.ref_begin_sample, -seg.delay_samples});
        const std::int64_t hi = std::min({end, seg.ref_end_sample, degraded_samples - seg.delay_samples});
        for (std::int64_t n = lo; n < hi; ++n)
            out[static_cast<std::size_t>(n - first)] = degraded(n + seg.delay_samples) * scale;
    }
}

// The last `capacity` samples of a stream, addressed by their index in it.
class SampleRing {
public:
    explicit SampleRing(std::size_t capacity) : data_(capacity, 0.0f) {}
    void push(std::span<const float> x) {
        // In at most two contiguous copies (a modulo per sample costs more
        // than the STFT's windowing).
        const std::size_t size = data_.size();
        if (x.size() > size) {
            count_ += std::int64_t(x.size() - size);
            x = x.last(size);
        }
        const auto at = static_cast<std::size_t>(count_ % std::int64_t(size));
        const std::size_t first = std::min(x.size(), size - at);
        std::copy_n(x.begin(), first, data_.begin() + std::ptrdiff_t(at));
        std::copy(x.begin() + std::ptrdiff_t(first), x.end(), data_.begin());
        count_ += std::int64_t(x.size());
    }
    std::int64_t count() const { return count_; }
    std::int64_t oldest() const { return std::max<std::int64_t>(0, count_ - std::int64_t(data_.size())); }
    float at(std::int64_t index) const { return data_[static_cast<std::size_t>(index % std::int64_t(data_.size()))]; }
    void copy(std::int64_t first, std::span<float> out) const {
        // As at() sample by sample, but in at most two contiguous runs: a
        // modulo per sample cost more than the copy itself.
        const std::size_t size = data_.size();
        for (std::size_t done = 0; done < out.size();) {
            const auto at = static_cast<std::size_t>((first + std::int64_t(done)) % std::int64_t(size));
            const std::size_t run = std::min(out.size() - done, size - at);
            std::copy_n(data_.begin() + std::ptrdiff_t(at), run, out.begin() + std::ptrdiff_t(done));
            done += run;
        }
    }

private:
    std::vector<float> data_;
    std::int64_t count_ = 0;
};

// Everything after the alignment. push() takes the next samples of the
// reference and of the aligned degraded (same length, any chunking).
class Kernel {
public:
    Kernel(const dsp::AlignmentResult& alignment, const AnalyzeOptions& options)
        : alignment_(alignment),
          options_(options),
          reference_stft_(stft_config_),
          degraded_stft_(stft_config_),
          detector_(dsp::DetectorConfig{}, stft_config_),
          comparer_(compare_config()),
          // Events are reported at most ~0.12 s after their end and last at
          // most 0.5 s: their middle cut lies within the last 0.7 s.
          reference_samples_(std::size_t(2.0 * stft_config_.rate_hz)),
          degraded_samples_(std::size_t(2.0 * stft_config_.rate_hz)),
          reference_frame_(std::size_t(reference_stft_.bins())) {}

    void push(std::span<const float> reference, std::span<const float> degraded) {
        reference_samples_.push(reference);
        degraded_samples_.push(degraded);
        // Both signals in lockstep, at most one hop at a time: each pair of
        // pushes completes at most one frame of each, with the same index.
        const auto hop = static_cast<std::size_t>(stft_config_.hop_samples);
        for (std::size_t pos = 0; pos < reference.size(); pos += hop) {
            const std::size_t take = std::min(hop, reference.size() - pos);
            reference_stft_.push(reference.subspan(pos, take), [&](const dsp::StftFrame& f) {
                std::copy(f.power.begin(), f.power.end(), reference_frame_.begin());
            });
            degraded_stft_.push(degraded.subspan(pos, take), [&](const dsp::StftFrame& f) {
                comparer_.push(reference_frame_, f.power);
                detector_.push(dsp::StftFrame{f.index, f.centre_s, reference_frame_});
                if (!detector_.events().empty()) take_events();
            });
        }
    }

    void finish(AnalysisResult& result) {
        detector_.finish();
        take_events();
        result.degraded_bandwidth_hz = comparer_.bandwidth_hz();
        result.summary = dsp::summarise(events_, options_);
        result.events = std::move(events_);
    }

private:
    dsp::ComparerConfig compare_config() const {
        dsp::ComparerConfig c;
        c.stft = stft_config_;
        c.lisp_flag_threshold = options_.lisp_flag_threshold;
        c.smearing_flag_threshold = options_.smearing_flag_threshold;
        return c;
    }

    void take_events() {
        const double rate_hz = stft_config_.rate_hz;
        // The timing measures look 30 ms before the onset (pre-echo) and up
        // to 50 ms around the event: those frames must be aligned too.
        const auto margin = static_cast<std::int64_t>(std::lround(0.06 * rate_hz));
        for (const dsp::SibilantEvent& e : detector_.events()) {
            const auto first = static_cast<std::int64_t>(std::floor(e.start_s * rate_hz)) - margin;
            const auto end = static_cast<std::int64_t>(std::ceil(e.end_s * rate_hz)) + margin;
            if (in_guard_zone(alignment_, first, end)) {
                SibilantEventResult r;
                r.start_s = e.start_s;
                r.end_s = e.end_s;
                r.cls = dsp::to_string(e.cls);
                r.compared = false;
                r.why = "/" + r.cls +
                        "/ not compared: it falls in the guard zone of a delay step, where the degraded has no "
                        "reliable counterpart";
                events_.push_back(std::move(r));
                continue;
            }
            const dsp::SampleRange mid = dsp::middle_segment(e, compare_config(), reference_samples_.count());
            reference_middle_.resize(static_cast<std::size_t>(mid.count));
            degraded_middle_.resize(static_cast<std::size_t>(mid.count));
            if (mid.first < reference_samples_.oldest()) throw Error("analyze: internal: middle cut left the sample ring");
            reference_samples_.copy(mid.first, reference_middle_);
            degraded_samples_.copy(mid.first, degraded_middle_);
            events_.push_back(comparer_.compare(e, reference_middle_, degraded_middle_));
        }
        detector_.clear_events();
    }

    const dsp::AlignmentResult& alignment_;
    AnalyzeOptions options_;
    dsp::StftConfig stft_config_{};
    dsp::Stft reference_stft_, degraded_stft_;
    dsp::SibilantDetector detector_;
    dsp::SibilantComparer comparer_;
    SampleRing reference_samples_, degraded_samples_;
    std::vector<float> reference_frame_, reference_middle_, degraded_middle_;
    std::vector<SibilantEventResult> events_;
};

// The result so far for an alignment: the report, or the verdict when the
// reference has no speech, or an Error for every other failure.
bool start_result(const dsp::AlignmentResult& alignment, AnalysisResult& result) {
    result.mode = "full-reference";
    if (!alignment.ok()) {
        // A reference without speech holds no sibilants: that is the answer,
        // whatever the degraded holds. Every other failure means the two
        // cannot be compared frame by frame.
        if (alignment.status == dsp::AlignmentStatus::ReferenceSilent) {
            result.summary.verdict = "no-sibilants";
            return false;
        }
        throw Error("analyze: cannot align the degraded with the reference (" +
                    std::string(dsp::to_string(alignment.status)) + "): " + alignment.reason);
    }
    result.alignment.delay_ms = alignment.delay_ms;
    result.alignment.gain_db = alignment.gain_db;
    result.alignment.confidence = alignment.confidence;
    result.alignment.segments = static_cast<int>(alignment.segments.size());
    return true;
}

float gain_scale(const dsp::AlignmentResult& a) { return static_cast<float>(std::pow(10.0, -a.gain_db / 20.0)); }

constexpr std::size_t kBlock = 4800;  // 0.1 s: the chunk both drivers work in

}  // namespace

AnalysisResult analyze(std::span<const float> reference_48k, std::span<const float> degraded_48k,
                       const AnalyzeOptions& options) {
    validate(options);
    AnalysisResult result;
    const dsp::AlignmentResult alignment = dsp::align(reference_48k, degraded_48k);
    if (!start_result(alignment, result)) return result;

    const float scale = gain_scale(alignment);
    const auto degraded_samples = static_cast<std::int64_t>(degraded_48k.size());
    auto degraded = [&](std::int64_t j) { return degraded_48k[static_cast<std::size_t>(j)]; };
    Kernel kernel(alignment, options);
    std::vector<float> chunk(kBlock);
    for (std::size_t pos = 0; pos < reference_48k.size(); pos += kBlock) {
        const std::size_t take = std::min(kBlock, reference_48k.size() - pos);
        const std::span<float> aligned(chunk.data(), take);
        aligned_chunk(degraded, degraded_samples, alignment, scale, static_cast<std::int64_t>(pos), aligned);
        kernel.push(reference_48k.subspan(pos, take), aligned);
    }
    kernel.finish(result);
    return result;
}

AnalysisResult analyze_files(const std::string& reference_path, const std::string& degraded_path,
                             const AnalyzeOptions& options) {
    validate(options);
    const ReadOptions read{.channel = options.channel, .target_rate_hz = kInternalRateHz};
    AnalysisResult result;
    result.reference = reference_path;
    result.degraded = degraded_path;
    try {
        // Pass 1: both files into the aligner, in step.
        dsp::Aligner aligner;
        std::int64_t reference_samples = 0, degraded_samples = 0;
        {
            AudioFileReader ref(reference_path, read), deg(degraded_path, read);
            std::vector<float> a(kBlock), b(kBlock);
            bool ref_open = true, deg_open = true;
            while (ref_open || deg_open) {
                if (ref_open) {
                    const std::size_t n = ref.read(a);
                    aligner.push_reference(std::span<const float>(a.data(), n));
                    reference_samples += std::int64_t(n);
                    if (n == 0) {
                        aligner.end_reference();
                        ref_open = false;
                    }
                }
                if (deg_open) {
                    const std::size_t n = deg.read(b);
                    aligner.push_degraded(std::span<const float>(b.data(), n));
                    degraded_samples += std::int64_t(n);
                    if (n == 0) {
                        aligner.end_degraded();
                        deg_open = false;
                    }
                }
            }
        }
        aligner.finish();
        const dsp::AlignmentResult alignment = aligner.result();
        if (!start_result(alignment, result)) return result;

        // Pass 2: the reference block by block; the degraded read ahead into
        // a ring as far as the delay map reaches (delays stay within
        // +-max_delay_s, 1 s), mapped onto the reference's timeline.
        AudioFileReader ref(reference_path, read), deg(degraded_path, read);
        SampleRing degraded(std::size_t(4.0 * kInternalRateHz) + kBlock);
        std::vector<float> deg_block(kBlock), ref_block(kBlock), chunk(kBlock);
        auto degraded_at = [&](std::int64_t j) {
            while (degraded.count() <= j) {
                const std::size_t n = deg.read(deg_block);
                if (n == 0) throw Error(degraded_path + ": ended before its first reading did");
                degraded.push(std::span<const float>(deg_block.data(), n));
            }
            if (j < degraded.oldest()) throw Error("analyze: internal: delay map reaches back beyond the ring");
            return degraded.at(j);
        };
        const float scale = gain_scale(alignment);
        Kernel kernel(alignment, options);
        std::int64_t pos = 0;
        for (std::size_t n; (n = ref.read(ref_block)) > 0; pos += std::int64_t(n)) {
            const std::span<float> aligned(chunk.data(), n);
            aligned_chunk(degraded_at, degraded_samples, alignment, scale, pos, aligned);
            kernel.push(std::span<const float>(ref_block.data(), n), aligned);
        }
        if (pos != reference_samples) throw Error(reference_path + ": read " + std::to_string(pos) +
                                                  " samples the second time, " + std::to_string(reference_samples) +
                                                  " the first");
        kernel.finish(result);
    } catch (const Error& e) {
        throw Error(reference_path + " vs " + degraded_path + ": " + e.what());
    }
    return result;
}

}  // namespace sibilant
