// analyze(): the full-reference pipeline of issue #3 as named stages:
//   align (dsp::align_recording: constant delay, delay track, clock drift)
//   -> remove delay and gain -> the kernel (pipeline/kernel: STFT, sibilant
//   detection, per-event comparison and scores, summary), fed the reference
//   and the aligned degraded a chunk at a time, the way the live probe
//   (issue #4) feeds it. analyze() reads the pair from two buffers,
//   analyze_files() streams both files (up to five times through the
//   aligner's stages, once into the kernel), so that an hour-long pair needs
//   a few MB, not the 1.4 GB two hours of float samples would take. Both go
//   through the same AlignmentSource code. Events go to an EventSink as the
//   kernel finishes them (kept in the result, or written out at once by
//   `sibilant analyze`, so that the outputs do not grow the memory either).
// analyze_no_reference(): the degraded alone into the kernel's no-reference
// mode.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "dsp/alignment.hpp"
#include "dsp/sample_check.hpp"
#include "dsp/sample_ring.hpp"
#include "pipeline/kernel.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/probe.hpp"

namespace sibilant {

using pipeline::Kernel;
using pipeline::KernelConfig;
using pipeline::KernelMode;

namespace {

// Reference samples [first, first + out.size()) of the degraded mapped onto
// the reference's timeline, gain removed: what dsp::remove_delay_and_gain()
// gives, a chunk at a time. degraded(j, run) fills run with degraded samples
// j, j + 1, ... (0 past the degraded's end; j >= 0): a run per segment, not a
// call per sample (which was a twentieth of the analysis).
template <class DegradedRun>
void aligned_chunk(DegradedRun&& degraded, const dsp::AlignmentResult& a, float scale, std::int64_t first,
                   std::span<float> out) {
    std::fill(out.begin(), out.end(), 0.0f);
    const auto end = first + static_cast<std::int64_t>(out.size());
    for (const auto& seg : a.segments) {
        const std::int64_t lo = std::max({first, seg.ref_begin_sample, -seg.delay_samples});
        const std::int64_t hi = std::min(end, seg.ref_end_sample);
        if (lo >= hi) continue;
        const std::span<float> run = out.subspan(std::size_t(lo - first), std::size_t(hi - lo));
        degraded(lo + seg.delay_samples, run);
        for (float& v : run) v *= scale;
    }
}

// The pair as two files, reopened at every rewind (memory stays a few blocks
// whatever the length); the degraded's reader applies the rate scale.
class FileSource final : public dsp::AlignmentSource {
public:
    FileSource(const std::string& reference_path, const std::string& degraded_path, const ReadOptions& read)
        : reference_path_(reference_path), degraded_path_(degraded_path), read_(read) {}
    void rewind(double degraded_rate_scale) override {
        ReadOptions degraded_read = read_;
        degraded_read.rate_scale = degraded_rate_scale;
        reference_.emplace(reference_path_, read_);
        degraded_.emplace(degraded_path_, degraded_read);
    }
    std::span<const float> next_reference(std::size_t max_samples) override {
        return next(*reference_, reference_block_, max_samples);
    }
    std::span<const float> next_degraded(std::size_t max_samples) override {
        return next(*degraded_, degraded_block_, max_samples);
    }

private:
    static std::span<const float> next(AudioFileReader& file, std::vector<float>& block, std::size_t max_samples) {
        block.resize(max_samples);
        return std::span<const float>(block.data(), file.read(block));
    }
    std::vector<float> reference_block_, degraded_block_;
    std::string reference_path_, degraded_path_;
    ReadOptions read_;
    std::optional<AudioFileReader> reference_, degraded_;
};

// Runs the kernel over a source of chunks, hands each event to on_event and
// fills the result's summary and bandwidth. next(chunk) pushes the next chunk
// into the kernel and returns false at the end.
template <class PushNext>
void run_kernel(Kernel& kernel, AnalysisResult& result, const EventSink& on_event, PushNext&& next) {
    SibilantEventResult event;
    auto drain = [&] {
        while (kernel.pop_event(event)) on_event(event);
    };
    while (next()) drain();
    kernel.finish();
    drain();
    result.summary = kernel.summary();
    result.degraded_bandwidth_hz = kernel.degraded_bandwidth_hz();
}

KernelConfig full_reference(const AnalyzeOptions& options) {
    return KernelConfig{.mode = KernelMode::FullReference, .options = options};
}

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
    result.alignment.method = dsp::to_string(alignment.method);
    result.alignment.warning = alignment.warning;
    result.alignment.drift_ppm = alignment.drift_ppm;
    result.alignment.drift_compensated = alignment.drift_compensated;
    result.alignment.time_varying = alignment.time_varying;
    result.alignment.delay_track.clear();
    for (const auto& p : alignment.delay_track)
        result.alignment.delay_track.push_back(
            {double(p.ref_sample) / kInternalRateHz, p.delay_samples * 1000.0 / kInternalRateHz, p.confidence});
    return true;
}

// The kernel pass of a full-reference analysis: the reference block by block,
// the degraded (as the alignment's delays refer to it: drift-compensated if
// it was) read ahead into a ring as far as the delay map reaches and mapped
// onto the reference's timeline.
void run_full_reference(dsp::AlignmentSource& source, const dsp::AlignmentResult& alignment,
                        const AnalyzeOptions& options, AnalysisResult& result, const EventSink& on_event);

float gain_scale(const dsp::AlignmentResult& a) { return static_cast<float>(std::pow(10.0, -a.gain_db / 20.0)); }

constexpr std::size_t kBlock = 4800;  // 0.1 s: the chunk both drivers work in

// Incremental alignment: a live probe fed both signals in step.
// next(reference, degraded) fills both chunks (kBlock each) and returns how
// many samples it put in each, 0 at the end; a signal that has ended gives
// zeros, as the degraded does past its end in the whole-file analysis.
template <class NextPair>
void analyze_incremental(const AnalyzeOptions& options, AnalysisResult& result, const EventSink& on_event,
                         NextPair&& next) {
    Probe probe(ProbeConfig{.mode = ProbeMode::FullReference, .analysis = options});
    std::vector<float> reference(kBlock), degraded(kBlock);
    SibilantEventResult event;
    for (std::size_t n; (n = next(std::span<float>(reference), std::span<float>(degraded))) > 0;) {
        probe.push(std::span<const float>(reference.data(), n), std::span<const float>(degraded.data(), n));
        while (probe.poll_event(event)) on_event(event);
    }
    probe.finish();
    while (probe.poll_event(event)) on_event(event);
    const ProbeStatus status = probe.status();
    result.mode = "full-reference";
    if (!status.aligned) {
        if (std::string(status.alignment_status) == dsp::to_string(dsp::AlignmentStatus::ReferenceSilent)) {
            result.summary.verdict = "no-sibilants";
            return;
        }
        throw Error(std::string("analyze: cannot align the degraded with the reference (") + status.alignment_status +
                    ")");
    }
    result.alignment.delay_ms = status.delay_ms;
    result.alignment.gain_db = status.gain_db;
    result.alignment.confidence = status.alignment_confidence;
    result.alignment.segments = 1 + int(status.steps_followed);
    result.alignment.drift_ppm = std::numeric_limits<double>::quiet_NaN();  // the probe does not measure it
    result.alignment.skipped_s = double(status.skipped_samples) / kInternalRateHz;
    if (status.skipped_samples > 0) {
        char text[200];
        std::snprintf(text, sizeof text,
                      "the first %.2f s were not analysed: the aligner settled only after the probe's store had "
                      "let them go",
                      result.alignment.skipped_s);
        result.alignment.warning = text;
    }
    result.summary = probe.summary();
    result.degraded_bandwidth_hz = status.degraded_bandwidth_hz;
}

void run_full_reference(dsp::AlignmentSource& source, const dsp::AlignmentResult& alignment,
                        const AnalyzeOptions& options, AnalysisResult& result, const EventSink& on_event) {
    source.rewind(alignment.degraded_rate_scale);
    // The ring holds what the delay map's spread needs (a time-stretched
    // degraded can wander far), at least 4 s.
    std::int64_t lowest = 0, highest = 0;
    for (const auto& seg : alignment.segments) {
        lowest = std::min(lowest, seg.delay_samples);
        highest = std::max(highest, seg.delay_samples);
    }
    const auto spread = std::size_t(highest - lowest);
    dsp::SampleRing degraded(std::max<std::size_t>(std::size_t(4 * kInternalRateHz), spread + 2 * kInternalRateHz) +
                             kBlock);
    std::vector<float> chunk(kBlock);
    bool degraded_ended = false;
    auto degraded_run = [&](std::int64_t j, std::span<float> run) {
        const std::int64_t end = j + std::int64_t(run.size());
        while (!degraded_ended && degraded.count() < end) {
            const std::span<const float> block = source.next_degraded(kBlock);
            if (block.empty()) degraded_ended = true;
            degraded.push(block);
        }
        if (j < degraded.oldest()) throw Error("analyze: internal: delay map reaches back beyond the ring");
        degraded.copy_held(j, run);
    };
    const float scale = gain_scale(alignment);
    Kernel kernel(full_reference(options), &alignment);
    std::int64_t pos = 0;
    run_kernel(kernel, result, on_event, [&] {
        const std::span<const float> reference = source.next_reference(kBlock);
        if (reference.empty()) return false;
        const std::span<float> aligned(chunk.data(), reference.size());
        aligned_chunk(degraded_run, alignment, scale, pos, aligned);
        kernel.push(reference, aligned);
        pos += std::int64_t(reference.size());
        return true;
    });
}

// A sink that keeps the events in the result, for the overloads that return them.
EventSink keep_in(std::vector<SibilantEventResult>& events) {
    return [&events](const SibilantEventResult& e) { events.push_back(e); };
}

}  // namespace

AnalysisResult analyze(std::span<const float> reference_48k, std::span<const float> degraded_48k,
                       const AnalyzeOptions& options) {
    pipeline::validate(options);
    dsp::require_audio(reference_48k, "analyze: reference", kInternalRateHz);
    dsp::require_audio(degraded_48k, "analyze: degraded", kInternalRateHz);
    AnalysisResult result;
    const EventSink on_event = keep_in(result.events);
    if (options.alignment == AlignmentMode::Incremental) {
        std::size_t pos = 0;
        const std::size_t length = std::max(reference_48k.size(), degraded_48k.size());
        analyze_incremental(options, result, on_event, [&](std::span<float> reference, std::span<float> degraded) {
            const std::size_t n = std::min(reference.size(), length - pos);
            auto fill = [&](std::span<const float> from, std::span<float> to) {
                for (std::size_t i = 0; i < n; ++i) to[i] = pos + i < from.size() ? from[pos + i] : 0.0f;
            };
            fill(reference_48k, reference);
            fill(degraded_48k, degraded);
            pos += n;
            return n;
        });
        return result;
    }
    dsp::BufferSource source(reference_48k, degraded_48k);
    const dsp::AlignmentResult alignment = dsp::align_recording(source);
    if (!start_result(alignment, result)) return result;
    run_full_reference(source, alignment, options, result, on_event);
    return result;
}

AnalysisResult analyze_files(const std::string& reference_path, const std::string& degraded_path,
                             const AnalyzeOptions& options) {
    std::vector<SibilantEventResult> events;
    AnalysisResult result = analyze_files(reference_path, degraded_path, options, keep_in(events));
    result.events = std::move(events);
    return result;
}

AnalysisResult analyze_files(const std::string& reference_path, const std::string& degraded_path,
                             const AnalyzeOptions& options, const EventSink& on_event) {
    pipeline::validate(options);
    const ReadOptions read{.channel = options.channel, .target_rate_hz = kInternalRateHz};
    AnalysisResult result;
    result.reference = reference_path;
    result.degraded = degraded_path;
    try {
        if (options.alignment == AlignmentMode::Incremental) {
            AudioFileReader ref(reference_path, read), deg(degraded_path, read);
            analyze_incremental(options, result, on_event, [&](std::span<float> reference, std::span<float> degraded) {
                // Reads until both chunks are full or both files have ended.
                auto fill = [](AudioFileReader& file, std::span<float> to) {
                    std::size_t got = 0;
                    for (std::size_t n; got < to.size() && (n = file.read(to.subspan(got))) > 0;) got += n;
                    return got;
                };
                const std::size_t a = fill(ref, reference), b = fill(deg, degraded);
                const std::size_t n = std::max(a, b);
                std::fill(reference.begin() + std::ptrdiff_t(a), reference.begin() + std::ptrdiff_t(n), 0.0f);
                std::fill(degraded.begin() + std::ptrdiff_t(b), degraded.begin() + std::ptrdiff_t(n), 0.0f);
                return n;
            });
            return result;
        }
        FileSource source(reference_path, degraded_path, read);
        dsp::AlignmentResult alignment = dsp::align_recording(source);
        if (!start_result(alignment, result)) return result;
        // The report has its own copy of the track; the kernel does not need one.
        std::vector<dsp::DelayTrackPoint>().swap(alignment.delay_track);
        run_full_reference(source, alignment, options, result, on_event);
    } catch (const Error& e) {
        throw Error(reference_path + " vs " + degraded_path + ": " + e.what());
    }
    return result;
}

AnalysisResult analyze_no_reference(std::span<const float> degraded_48k, const AnalyzeOptions& options) {
    pipeline::validate(options);
    dsp::require_audio(degraded_48k, "analyze: degraded", kInternalRateHz);
    AnalysisResult result;
    result.mode = "no-reference";
    Kernel kernel(KernelConfig{.mode = KernelMode::NoReference, .options = options});
    std::size_t pos = 0;
    run_kernel(kernel, result, keep_in(result.events), [&] {
        if (pos >= degraded_48k.size()) return false;
        const std::size_t take = std::min(kBlock, degraded_48k.size() - pos);
        kernel.push(degraded_48k.subspan(pos, take));
        pos += take;
        return true;
    });
    return result;
}

AnalysisResult analyze_file_no_reference(const std::string& degraded_path, const AnalyzeOptions& options) {
    std::vector<SibilantEventResult> events;
    AnalysisResult result = analyze_file_no_reference(degraded_path, options, keep_in(events));
    result.events = std::move(events);
    return result;
}

AnalysisResult analyze_file_no_reference(const std::string& degraded_path, const AnalyzeOptions& options,
                                         const EventSink& on_event) {
    pipeline::validate(options);
    AnalysisResult result;
    result.mode = "no-reference";
    result.degraded = degraded_path;
    // Reader errors name the file.
    AudioFileReader deg(degraded_path, ReadOptions{.channel = options.channel, .target_rate_hz = kInternalRateHz});
    Kernel kernel(KernelConfig{.mode = KernelMode::NoReference, .options = options});
    std::vector<float> block(kBlock);
    run_kernel(kernel, result, on_event, [&] {
        const std::size_t n = deg.read(block);
        if (n == 0) return false;
        kernel.push(std::span<const float>(block.data(), n));
        return true;
    });
    return result;
}

}  // namespace sibilant
