#include "pipeline/kernel.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "dsp/blind_judge.hpp"
#include "dsp/sample_ring.hpp"
#include "dsp/sibilant_compare.hpp"
#include "dsp/sibilant_detector.hpp"
#include "dsp/stft.hpp"
#include "dsp/summary.hpp"
#include "sibilant/error.hpp"

namespace sibilant::pipeline {

namespace {

// Whether reference samples [first, end) touch a gap between two segments
// of the delay map: around a delay step (a jitter buffer) the aligner leaves
// a guard zone whose samples have no reliable counterpart, and frames there
// would compare unrelated audio. Before the first and after the last
// segment the degraded simply has no samples (a delay of a few samples, or
// a degraded that ends early): there it is silence, which is what a
// listener gets, so events there are compared.
bool in_guard_zone(const dsp::AlignmentResult* a, std::int64_t first, std::int64_t end) {
    if (a == nullptr) return false;
    for (std::size_t i = 0; i + 1 < a->segments.size(); ++i) {
        const std::int64_t gap_begin = a->segments[i].ref_end_sample, gap_end = a->segments[i + 1].ref_begin_sample;
        // Segments that meet (a delay track's map) leave no gap.
        if (gap_end > gap_begin && first < gap_end && end > gap_begin) return true;
    }
    return false;
}

// The delay (ms) of the delay-map segment holding reference sample n: the
// delay the event around it is compared at. 0 without a map (live probe).
double delay_ms_at(const dsp::AlignmentResult* a, std::int64_t n, double rate_hz) {
    if (a == nullptr) return 0.0;
    for (const auto& s : a->segments)
        if (n >= s.ref_begin_sample && n < s.ref_end_sample) return double(s.delay_samples) * 1000.0 / rate_hz;
    return a->delay_ms;
}

dsp::ComparerConfig compare_config(const KernelConfig& c, const dsp::DetectorConfig& detector,
                                   const dsp::StftConfig& stft) {
    dsp::ComparerConfig cc;
    cc.stft = stft;
    // Frames an event needs: as far back as the detector reaches when it
    // emits one (its reporting delay and the longest event), the 50 ms the
    // timing looks at before it, and one for rounding; the detector reads
    // its frames from this ring too. 0.69 s at the defaults.
    const std::int64_t frames = dsp::SibilantDetector::history_frames(detector, stft) + dsp::kContextFrames + 1;
    cc.history_s = double(frames) * stft.hop_samples / stft.rate_hz;
    cc.one_signal = c.mode == KernelMode::NoReference;
    cc.lisp_flag_threshold = c.options.lisp_flag_threshold;
    cc.smearing_flag_threshold = c.options.smearing_flag_threshold;
    return cc;
}

}  // namespace

void validate(const AnalyzeOptions& o) {
    auto check = [](double v, const char* name) {
        if (!(v >= 0.0 && v <= 100.0))
            throw Error(std::string("analyze: ") + name + " " + std::to_string(v) + " must be within 0..100");
    };
    check(o.lisp_flag_threshold, "lisp_flag_threshold");
    check(o.smearing_flag_threshold, "smearing_flag_threshold");
}

struct Kernel::Impl {
    KernelConfig config;
    const dsp::AlignmentResult* guard_zones;
    dsp::StftConfig stft_config{};
    // The kernel takes the detector's events after every hop, and a frame
    // closes at most one stretch of noise (two events when it is split), so
    // 4 places are never outgrown (the default 256 are for batch callers).
    dsp::DetectorConfig detector_config{.event_capacity = 4};
    dsp::ComparerConfig comparer_config;
    // No reference: one signal, one STFT (pushed as the "reference").
    dsp::Stft reference_stft;
    std::optional<dsp::Stft> degraded_stft;
    dsp::SibilantComparer comparer;  // before the detector, which reads its frames
    dsp::SibilantDetector detector;
    // Samples for the events' middle cuts (ring_samples() says how many).
    dsp::SampleRing reference_samples, degraded_samples;
    std::vector<float> reference_frame, reference_middle, degraded_middle;
    std::vector<double> long_reference, long_degraded;  // blind bandwidth scratch
    // Finished events, oldest at ring_first, each without its why text:
    // only what it is written from (64 reserved sentences were 40 KiB of a
    // probe). front_event() writes the oldest's into `front`.
    struct Pending {
        SibilantEventResult result;
        dsp::WhyInputs why;
    };
    std::vector<Pending> ring;
    std::size_t ring_first = 0, ring_count = 0;
    mutable SibilantEventResult front;  // the oldest, with its why; why reserved
    mutable bool front_written = false;
    std::int64_t overwritten = 0, judged = 0;
    dsp::SummaryAccumulator totals;
    double max_latency_s = 0.0;
    // The detector's speech level (its loud frames), the highest it has been:
    // whether the stream held speech at all (its own level is reset at the
    // end of a stream, and forgets after about 30 s).
    double loudest_speech_db = -1e300;
    std::int64_t samples = 0;  // pushed so far (either mode)

    Impl(const KernelConfig& c, const dsp::AlignmentResult* zones)
        : config(c),
          guard_zones(zones),
          comparer_config(compare_config(c, detector_config, stft_config)),
          reference_stft(stft_config),
          comparer(comparer_config),
          detector(detector_config, stft_config, &comparer.reference_history()),
          reference_samples(ring_samples()),
          degraded_samples(c.mode == KernelMode::FullReference ? ring_samples() : 1),
          reference_frame(std::size_t(reference_stft.bins())),
          reference_middle(middle_samples()),
          degraded_middle(c.mode == KernelMode::FullReference ? middle_samples() : 0),
          long_reference(std::size_t(reference_stft.bins())),
          long_degraded(std::size_t(reference_stft.bins())),
          ring(std::size_t(c.event_capacity)),
          totals(c.options) {
        if (c.mode == KernelMode::FullReference) degraded_stft.emplace(stft_config);
        front.why.reserve(dsp::kWhyCapacity);
    }

    // An event starts no earlier than the first of the frames the detector
    // reaches back to (history_frames), and its middle cut (either part of a
    // split one) no earlier than half a cut before that start; the newest
    // frame ends at most a hop before the newest sample. 0.68 s at the
    // defaults.
    std::size_t ring_samples() const {
        const std::int64_t frames = dsp::SibilantDetector::history_frames(detector_config, stft_config) + 1;
        return std::size_t(frames * stft_config.hop_samples + stft_config.fft_size) + middle_samples();
    }
    std::size_t middle_samples() const { return std::size_t(std::lround(comparer_config.middle_s * stft_config.rate_hz)); }
    bool blind() const { return config.mode == KernelMode::NoReference; }

    // Samples of one hop at most, ending on an absolute hop boundary.
    std::size_t next_take(std::size_t remaining) const {
        const auto hop = std::int64_t(stft_config.hop_samples);
        return std::min<std::size_t>(remaining, std::size_t(hop - samples % hop));
    }

    void push_hop(std::span<const float> reference, std::span<const float> degraded) {
        reference_samples.push(reference);
        if (!blind()) degraded_samples.push(degraded);
        samples += std::int64_t(reference.size());
        if (blind()) {
            reference_stft.push(reference, [&](const dsp::StftFrame& f) {
                comparer.push(f.power, f.power);
                detector.push(f);
            });
        } else {
            reference_stft.push(reference, [&](const dsp::StftFrame& f) {
                std::copy(f.power.begin(), f.power.end(), reference_frame.begin());
            });
            degraded_stft->push(degraded, [&](const dsp::StftFrame& f) {
                comparer.push(reference_frame, f.power);
                detector.push(dsp::StftFrame{f.index, f.centre_s, reference_frame});
            });
        }
        if (!detector.events().empty()) take_events();
        loudest_speech_db = std::max(loudest_speech_db, detector.speech_level_db());
    }

    Pending& next_slot() {
        if (ring_count == ring.size()) {  // full: the oldest gives way
            ring_first = (ring_first + 1) % ring.size();
            --ring_count;
            ++overwritten;
            front_written = false;
        }
        return ring[(ring_first + ring_count++) % ring.size()];
    }

    // The oldest pending event with its why written (no allocation: `front`
    // keeps its reserved buffer through the copy and the writing).
    const SibilantEventResult& written_front() const {
        if (!front_written) {
            const Pending& p = ring[ring_first];
            front = p.result;
            write_why(front, p.why);
            front_written = true;
        }
        return front;
    }

    void write_why(SibilantEventResult& r, const dsp::WhyInputs& why) const {
        switch (why.kind) {
            case dsp::WhyInputs::Kind::Written: break;
            case dsp::WhyInputs::Kind::Compared: dsp::write_compared_why(r, why); break;
            case dsp::WhyInputs::Kind::Blind:
                dsp::score_event_blind(r, dsp::clean_speech_norms(), r.bandwidth_hz, why.lisp_flag_threshold,
                                       why.smearing_flag_threshold);
                break;
            case dsp::WhyInputs::Kind::NotCompared:
                r.why.clear();
                r.why.push_back('/');
                r.why.append(r.cls);
                r.why.append("/ not compared: ");
                r.why.append(why.reason);
                break;
        }
    }

    void take_events() {
        const double rate_hz = stft_config.rate_hz;
        const double now_s = double(samples) / rate_hz;
        // The timing measures look 30 ms before the onset (pre-echo) and up
        // to 50 ms around the event: those frames must be aligned too.
        const auto margin = static_cast<std::int64_t>(std::lround(0.06 * rate_hz));
        for (const dsp::SibilantEvent& e : detector.events()) {
            max_latency_s = std::max(max_latency_s, now_s - e.end_s);
            Pending& slot = next_slot();
            SibilantEventResult& r = slot.result;
            const auto first = static_cast<std::int64_t>(std::floor(e.start_s * rate_hz)) - margin;
            const auto end = static_cast<std::int64_t>(std::ceil(e.end_s * rate_hz)) + margin;
            const dsp::SampleRange mid = dsp::middle_segment(e, comparer_config, reference_samples.count());
            if (in_guard_zone(guard_zones, first, end)) {
                not_compared(e, slot, "it falls in the guard zone of a delay step, where the degraded has no "
                                      "reliable counterpart");
            } else if (mid.count != std::int64_t(reference_middle.size()) || mid.first < reference_samples.oldest()) {
                // Cannot happen within the detector's limits (events of 50 ms
                // to 0.5 s, reported soon after); said rather than assumed.
                not_compared(e, slot, "its middle is not available");
            } else if (blind()) {
                reference_samples.copy(mid.first, reference_middle);
                comparer.compare(e, reference_middle, reference_middle, r, &slot.why);
                judge_blind(slot);
            } else {
                reference_samples.copy(mid.first, reference_middle);
                degraded_samples.copy(mid.first, degraded_middle);
                comparer.compare(e, reference_middle, degraded_middle, r, &slot.why);
                r.delay_ms = delay_ms_at(guard_zones, (first + end) / 2, rate_hz);
            }
            totals.add(r);
            ++judged;
        }
        detector.clear_events();
    }

    void not_compared(const dsp::SibilantEvent& e, Pending& slot, const char* reason) {
        SibilantEventResult& r = slot.result;
        r = SibilantEventResult{};
        r.start_s = e.start_s;
        r.end_s = e.end_s;
        r.cls = dsp::to_string(e.cls);
        r.compared = false;
        slot.why = dsp::WhyInputs{.kind = dsp::WhyInputs::Kind::NotCompared, .reason = reason};
    }

    // The comparer measured the degraded against itself: its measures are
    // the event's own, and its comparison figures mean nothing. Start from a
    // fresh result (no comparison made) with those measures, and judge them
    // against clean speech instead; its why is written when it is taken.
    void judge_blind(Pending& slot) {
        SibilantEventResult& r = slot.result;
        SibilantEventResult own;
        own.start_s = r.start_s;
        own.end_s = r.end_s;
        own.cls = r.cls;
        own.degraded = r.reference;
        own.bandwidth_hz = own_bandwidth();
        r = std::move(own);
        dsp::score_event_blind(r, dsp::clean_speech_norms(), r.bandwidth_hz, config.options.lisp_flag_threshold,
                               config.options.smearing_flag_threshold, false);
        slot.why = dsp::WhyInputs{.kind = dsp::WhyInputs::Kind::Blind,
                                  .lisp_flag_threshold = config.options.lisp_flag_threshold,
                                  .smearing_flag_threshold = config.options.smearing_flag_threshold};
    }

    double own_bandwidth() {
        comparer.long_term_power(long_reference, long_degraded);
        return dsp::own_bandwidth_hz(long_reference, stft_config.rate_hz / stft_config.fft_size);
    }
};

Kernel::Kernel(const KernelConfig& config, const dsp::AlignmentResult* guard_zones) {
    validate(config.options);
    if (config.event_capacity < 1 || config.event_capacity > 65536)
        throw Error("analyze: event_capacity " + std::to_string(config.event_capacity) + " must be within 1..65536");
    impl_ = std::make_unique<Impl>(config, guard_zones);
}
Kernel::~Kernel() = default;

void Kernel::push(std::span<const float> reference, std::span<const float> aligned_degraded) noexcept {
    Impl& s = *impl_;
    const std::size_t n = std::min(reference.size(), aligned_degraded.size());
    for (std::size_t pos = 0; pos < n;) {
        const std::size_t take = s.next_take(n - pos);
        s.push_hop(reference.subspan(pos, take), aligned_degraded.subspan(pos, take));
        pos += take;
    }
}

void Kernel::push(std::span<const float> degraded) noexcept {
    Impl& s = *impl_;
    for (std::size_t pos = 0; pos < degraded.size();) {
        const std::size_t take = s.next_take(degraded.size() - pos);
        s.push_hop(degraded.subspan(pos, take), {});
        pos += take;
    }
}

void Kernel::finish() noexcept {
    Impl& s = *impl_;
    s.detector.finish();
    s.take_events();
}

void Kernel::reset() {
    // Rebuilt from the config: simpler than a reset in every stage, and
    // reset is not on the real-time path (a new stream).
    impl_ = std::make_unique<Impl>(impl_->config, impl_->guard_zones);
}

bool Kernel::pop_event(SibilantEventResult& out) {
    const SibilantEventResult* e = front_event();
    if (e == nullptr) return false;
    // A copy assignment reuses out's string buffers when they are large
    // enough: a caller that polls into the same object allocates once.
    out = *e;
    drop_event();
    return true;
}

const SibilantEventResult* Kernel::front_event() const noexcept {
    return impl_->ring_count == 0 ? nullptr : &impl_->written_front();
}

void Kernel::drop_event() noexcept {
    Impl& s = *impl_;
    if (s.ring_count == 0) return;
    s.ring_first = (s.ring_first + 1) % s.ring.size();
    --s.ring_count;
    s.front_written = false;
}

std::size_t Kernel::pending_events() const noexcept { return impl_->ring_count; }
std::int64_t Kernel::overwritten_events() const noexcept { return impl_->overwritten; }
std::int64_t Kernel::events_judged() const noexcept { return impl_->judged; }
AnalysisSummary Kernel::summary() const {
    AnalysisSummary summary;
    this->summary(summary);
    return summary;
}

void Kernel::summary(AnalysisSummary& summary) const {
    impl_->totals.summary(summary);
    if (impl_->blind()) {
        // Speech present: the detector's speech level (the loud frames) above
        // -70 dBFS, the aligner's floor for speech activity. A channel too
        // narrow for any /s/ is a lisp even where no sibilant was found.
        const bool speech_present = impl_->loudest_speech_db > -70.0;
        dsp::apply_blind_summary_rule(summary, impl_->own_bandwidth(), speech_present);
    }
}
std::int64_t Kernel::samples() const noexcept { return impl_->samples; }
double Kernel::max_event_latency_s() const noexcept { return impl_->max_latency_s; }

double Kernel::degraded_bandwidth_hz() const noexcept {
    return impl_->blind() ? impl_->own_bandwidth() : impl_->comparer.bandwidth_hz();
}

}  // namespace sibilant::pipeline
