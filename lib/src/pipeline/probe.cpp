// sibilant::Probe: the kernel (pipeline/kernel) driven live. No reference:
// samples straight in. Full reference: both streams into the streaming
// aligner and into 8 s stores; once the aligner settles, the stores are
// replayed into the kernel as far as the aligner's delays are final, each
// sample at the delay and gain of its delay-map segment (locked when the
// kernel first reaches it), so delay steps are followed. Opus packets go
// through OpusPacketDecoder first.
//
// Every stage is fed at absolute hop boundaries (aligner and stores in 5 ms
// steps, the kernel cuts its own), so the lock falls on the same sample for
// any chunking and the results do not depend on it.
#include "sibilant/probe.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "dsp/alignment.hpp"
#include "dsp/sample_ring.hpp"
#include "pipeline/kernel.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace {

constexpr int kRateHz = 48000;
constexpr std::int64_t kStepSamples = 240;       // 5 ms: the aligner's feeding step
constexpr double kStoreSeconds = 8.0;            // kept while the aligner settles
constexpr std::size_t kConvertBlock = 480;       // int16 -> float on the stack
// Segments of the delay map kept for the kernel: the analysis lags the
// aligner by a few seconds, segments last a window (2 s) or more.
constexpr std::size_t kFollowedSegments = 8;
// Aligner windows kept (2 s each): a stream of any length allocates nothing
// after creation, and one of up to 64 s is judged at its end on every
// window as align() would (the whole-file rescues, steps 7-9 of
// dsp/alignment.hpp).
constexpr int kAlignerWindows = 32;

pipeline::KernelConfig kernel_config(const ProbeConfig& c) {
    pipeline::KernelConfig k;
    k.mode = c.mode == ProbeMode::NoReference ? pipeline::KernelMode::NoReference
                                               : pipeline::KernelMode::FullReference;
    k.options = c.analysis;
    k.event_capacity = c.event_capacity;
    return k;
}

}  // namespace

const char* to_string(ProbeStatusCode code) noexcept {
    switch (code) {
        case ProbeStatusCode::Ok: return "ok";
        case ProbeStatusCode::WrongMode: return "wrong mode for this push";
        case ProbeStatusCode::LengthMismatch: return "reference and degraded chunks differ in length";
        case ProbeStatusCode::Finished: return "the stream was finished; reset() starts a new one";
    }
    return "unknown";
}

struct Probe::Impl {
    ProbeConfig config;
    // The delay map the kernel compares at (the aligner's recent segments
    // with the delays and gains the probe used): its gaps are the guard zones
    // of followed steps. Declared before the kernel, which points to it.
    dsp::AlignmentResult followed;
    pipeline::Kernel kernel;
    std::optional<OpusPacketDecoder> packets;  // only when packets are taken
    bool finished = false;
    std::int64_t samples = 0;

    // Full reference only. The aligner reads its full-rate samples from the
    // stores (declared first: it must not outlive them).
    dsp::SampleRing reference_store, degraded_store;
    std::unique_ptr<dsp::Aligner> aligner;
    bool locked = false;
    bool following = false;              // the aligner still gives a delay map
    std::int64_t windows_seen = -1;      // aligner windows when the map was last read
    std::size_t first_segment = 0;       // aligner index of followed.segments[0]
    std::size_t used_segments = 0;       // aligner segments whose delay and gain the kernel got
    std::size_t current_segment = 0;     // ... the one fed last (aligner index; in `followed`)
    std::int64_t steps_followed = 0;
    std::int64_t next_reference = 0;  // next reference sample for the kernel
    std::int64_t skipped = 0;
    std::int64_t max_analysis_lag = 0;  // stream samples past the kernel's when it judged events
    std::array<float, kStepSamples> reference_chunk{}, degraded_chunk{};

    explicit Impl(const ProbeConfig& c)
        : config(c),
          kernel(kernel_config(c), c.mode == ProbeMode::FullReference ? &followed : nullptr),
          reference_store(c.mode == ProbeMode::FullReference ? std::size_t(kStoreSeconds * kRateHz) : 1),
          degraded_store(c.mode == ProbeMode::FullReference ? std::size_t(kStoreSeconds * kRateHz) : 1) {
        if (c.packets.output_rate_hz != kRateHz || c.packets.channels != 1)
            throw Error("probe: packets must be decoded to 48000 Hz mono (output_rate_hz " +
                        std::to_string(c.packets.output_rate_hz) + ", channels " +
                        std::to_string(c.packets.channels) + ")");
        if (c.mode == ProbeMode::FullReference) {
            aligner = std::make_unique<dsp::Aligner>(dsp::AlignerConfig{.kept_windows = kAlignerWindows});
            // Every sample goes into the stores before the aligner, a step at
            // most ahead of it (push_pair).
            aligner->share_full_rate(reference_store, degraded_store, kStepSamples);
            // Their 3 MB would otherwise be first touched by the pushes of the
            // stream's first 8 s (a page fault every 1024 samples).
            reference_store.touch();
            degraded_store.touch();
            followed.status = dsp::AlignmentStatus::AlignedPiecewise;
            followed.segments.reserve(kFollowedSegments);
        }
        if (c.mode == ProbeMode::NoReference && c.accept_packets) packets.emplace(c.packets);
    }

    bool full_reference() const { return config.mode == ProbeMode::FullReference; }

    void push_degraded(std::span<const float> x) noexcept {
        kernel.push(x);
        samples += std::int64_t(x.size());
    }

    // Both streams, one aligner step at most, ending on a step boundary.
    void push_pair(std::span<const float> reference, std::span<const float> degraded) noexcept {
        for (std::size_t pos = 0; pos < reference.size();) {
            const std::size_t take =
                std::min<std::size_t>(reference.size() - pos, std::size_t(kStepSamples - samples % kStepSamples));
            const auto r = reference.subspan(pos, take), d = degraded.subspan(pos, take);
            reference_store.push(r);
            degraded_store.push(d);
            samples += std::int64_t(take);
            pos += take;
            aligner->push_reference(r);
            aligner->push_degraded(d);
            // The aligner's answers change only when it has processed a window.
            if (aligner->windows_processed() != windows_seen) {
                windows_seen = aligner->windows_processed();
                if (!locked && aligner->settled()) lock();
                if (locked) read_delay_map();
            }
            if (locked) advance(false);
        }
    }

    void lock() noexcept {
        locked = true;
        following = true;
        read_delay_map();
        // From the start of the stream if the stores still hold it: the
        // first reference sample both stores still hold, its degraded
        // counterpart at the first segment's delay. (Before the degraded's
        // own start there is nothing to lose: it is silence there.)
        const std::int64_t delay = followed.segments.front().delay_samples;
        next_reference = std::max<std::int64_t>(
            {0, reference_store.oldest(), degraded_store.oldest() > 0 ? degraded_store.oldest() - delay : 0});
        skipped = next_reference;
        // The kernel's timeline starts at reference sample 0: what left the
        // store goes in as silence, so event times stay the reference's.
        reference_chunk.fill(0.0f);
        for (std::int64_t n = 0; n < next_reference;) {
            const auto take = std::size_t(std::min<std::int64_t>(kStepSamples, next_reference - n));
            kernel.push(std::span<const float>(reference_chunk.data(), take),
                        std::span<const float>(reference_chunk.data(), take));
            n += std::int64_t(take);
        }
    }

    // Copies the aligner's recent segments into `followed`, keeping the delay
    // and gain of those the kernel has already been fed at (the aligner may
    // refine them by a sample or a few tenths of a dB; what was fed stays).
    // Once the aligner stops giving a map (drift, overrun), the probe keeps
    // the map it had and goes on at its last delay.
    void read_delay_map() noexcept {
        if (!following) return;
        if (!aligner->settled()) {
            following = false;
            return;
        }
        auto& map = followed.segments;
        const std::size_t count = aligner->segment_count();
        // At the end the aligner drops a step only its last window showed.
        while (!map.empty() && first_segment + map.size() > count) map.pop_back();
        for (std::size_t i = first_segment; i < count; ++i) {
            dsp::DelaySegment segment = aligner->segment(i);
            if (i - first_segment == map.size()) {
                if (map.size() == kFollowedSegments) {  // the oldest is long behind the analysis
                    map.erase(map.begin());
                    ++first_segment;
                }
                map.push_back(segment);
                continue;
            }
            dsp::DelaySegment& kept = map[i - first_segment];
            if (i < used_segments) {
                segment.delay_samples = kept.delay_samples;
                segment.gain_db = kept.gain_db;
            }
            kept = segment;
        }
    }

    // Index in `followed` of the segment whose delay reference sample n is
    // compared at: its own, or in a guard zone the nearer side's (events
    // there are not compared; the samples only keep the kernel's long-term
    // measures fed).
    std::size_t segment_at(std::int64_t n) const noexcept {
        const auto& map = followed.segments;
        for (std::size_t i = 0; i + 1 < map.size(); ++i)
            if (2 * n < map[i].ref_end_sample + map[i + 1].ref_begin_sample) return i;
        return map.size() - 1;
    }

    // ... and the first sample after n at another segment's delay.
    std::int64_t segment_end(std::size_t i) const noexcept {
        const auto& map = followed.segments;
        if (i + 1 >= map.size()) return std::numeric_limits<std::int64_t>::max();
        return (map[i].ref_end_sample + map[i + 1].ref_begin_sample + 1) / 2;
    }

    // Feeds the kernel the reference samples whose delay is final (their
    // degraded counterpart has arrived; at the end of the stream all of
    // them, the degraded silent past its end), and whatever the stores
    // would otherwise lose at the next step (a long pause without a found
    // window): that goes in at the delay it has now.
    void advance(bool at_end) noexcept {
        const std::int64_t reference_end = reference_store.count();
        std::int64_t limit = reference_end;
        if (!at_end && following) {
            const std::int64_t would_lose =
                reference_end + kStepSamples - std::int64_t(reference_store.capacity());
            limit = std::min(reference_end, std::max(aligner->final_until_sample(), would_lose));
        }
        // At the end the aligner may drop every segment it had (a step only
        // its last window showed): then no delay is left to compare at
        // (found by fuzz_c_api: segment_at() of an empty map).
        while (next_reference < limit && !followed.segments.empty()) {
            const std::size_t index = segment_at(next_reference);
            dsp::DelaySegment& segment = followed.segments[index];
            const std::size_t aligner_index = first_segment + index;
            if (aligner_index >= used_segments) {
                used_segments = aligner_index + 1;
                if (aligner_index > 0) ++steps_followed;
            }
            current_segment = aligner_index;
            const std::int64_t delay = segment.delay_samples;
            std::int64_t end = std::min(limit, segment_end(index));
            if (!at_end) {
                // The degraded counterpart must have arrived, unless the
                // store is about to lose the degraded the sample needs.
                const std::int64_t would_lose =
                    degraded_store.count() + kStepSamples - std::int64_t(degraded_store.capacity()) - delay;
                end = std::min(end, std::max(degraded_store.count() - delay, would_lose));
            }
            if (end <= next_reference) break;
            const auto take = std::size_t(std::min<std::int64_t>(kStepSamples, end - next_reference));
            const float scale = static_cast<float>(std::pow(10.0, -segment.gain_db / 20.0));
            reference_store.copy(next_reference, std::span<float>(reference_chunk.data(), take));
            // The degraded samples the store holds, zeros either side.
            const std::span<float> chunk(degraded_chunk.data(), take);
            degraded_store.copy_held(next_reference + delay, chunk);
            for (float& v : chunk) v *= scale;
            followed.delay_samples = delay;
            followed.delay_ms = 1000.0 * double(delay) / kRateHz;
            const std::int64_t judged = kernel.events_judged();
            kernel.push(std::span<const float>(reference_chunk.data(), take),
                        std::span<const float>(degraded_chunk.data(), take));
            next_reference += std::int64_t(take);
            // The kernel times its events' latency on its own timeline; the
            // stream is this far ahead of it.
            if (kernel.events_judged() != judged)
                max_analysis_lag = std::max(max_analysis_lag, samples - kernel.samples());
        }
    }

    void finish() noexcept {
        if (finished) return;
        finished = true;
        if (full_reference()) {
            aligner->end_reference();
            aligner->end_degraded();
            aligner->finish();
            if (!locked && aligner->settled()) lock();
            if (locked) {
                read_delay_map();
                advance(true);
            }
        }
        kernel.finish();
    }
};

Probe::Probe(const ProbeConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Probe::~Probe() = default;
Probe::Probe(Probe&&) noexcept = default;
Probe& Probe::operator=(Probe&&) noexcept = default;

ProbeStatusCode Probe::push(std::span<const float> degraded_48k) noexcept {
    Impl& s = *impl_;
    if (s.full_reference()) return ProbeStatusCode::WrongMode;
    if (s.finished) return ProbeStatusCode::Finished;
    s.push_degraded(degraded_48k);
    return ProbeStatusCode::Ok;
}

ProbeStatusCode Probe::push(std::span<const std::int16_t> degraded_48k) noexcept {
    Impl& s = *impl_;
    if (s.full_reference()) return ProbeStatusCode::WrongMode;
    if (s.finished) return ProbeStatusCode::Finished;
    std::array<float, kConvertBlock> x;
    for (std::size_t pos = 0; pos < degraded_48k.size(); pos += kConvertBlock) {
        const std::size_t take = std::min(kConvertBlock, degraded_48k.size() - pos);
        for (std::size_t i = 0; i < take; ++i) x[i] = float(degraded_48k[pos + i]) / 32768.0f;
        s.push_degraded(std::span<const float>(x.data(), take));
    }
    return ProbeStatusCode::Ok;
}

ProbeStatusCode Probe::push(std::span<const float> reference_48k, std::span<const float> degraded_48k) noexcept {
    Impl& s = *impl_;
    if (!s.full_reference()) return ProbeStatusCode::WrongMode;
    if (s.finished) return ProbeStatusCode::Finished;
    if (reference_48k.size() != degraded_48k.size()) return ProbeStatusCode::LengthMismatch;
    s.push_pair(reference_48k, degraded_48k);
    return ProbeStatusCode::Ok;
}

ProbeStatusCode Probe::push(std::span<const std::int16_t> reference_48k,
                            std::span<const std::int16_t> degraded_48k) noexcept {
    Impl& s = *impl_;
    if (!s.full_reference()) return ProbeStatusCode::WrongMode;
    if (s.finished) return ProbeStatusCode::Finished;
    if (reference_48k.size() != degraded_48k.size()) return ProbeStatusCode::LengthMismatch;
    std::array<float, kConvertBlock> r, d;
    for (std::size_t pos = 0; pos < reference_48k.size(); pos += kConvertBlock) {
        const std::size_t take = std::min(kConvertBlock, reference_48k.size() - pos);
        for (std::size_t i = 0; i < take; ++i) {
            r[i] = float(reference_48k[pos + i]) / 32768.0f;
            d[i] = float(degraded_48k[pos + i]) / 32768.0f;
        }
        s.push_pair(std::span<const float>(r.data(), take), std::span<const float>(d.data(), take));
    }
    return ProbeStatusCode::Ok;
}

PacketOutcome Probe::push_packet(std::uint16_t sequence, std::span<const std::uint8_t> packet,
                                 PcmSink tap) noexcept {
    Impl& s = *impl_;
    if (!s.packets || s.finished) return PacketOutcome::Malformed;
    auto sink = [&s, tap](const PcmBlock& block) {
        if (tap.function != nullptr) tap.function(tap.context, block);
        s.push_degraded(std::span<const float>(block.samples, std::size_t(block.frames)));
    };
    return s.packets->push(sequence, packet, PcmSink::of(sink));
}

void Probe::finish() noexcept { impl_->finish(); }

void Probe::reset() {
    const ProbeConfig config = impl_->config;
    impl_ = std::make_unique<Impl>(config);
}

bool Probe::poll_event(SibilantEventResult& out) { return impl_->kernel.pop_event(out); }
const SibilantEventResult* Probe::peek_event() const noexcept { return impl_->kernel.front_event(); }
void Probe::drop_event() noexcept { impl_->kernel.drop_event(); }
std::size_t Probe::pending_events() const noexcept { return impl_->kernel.pending_events(); }
AnalysisSummary Probe::summary() const { return impl_->kernel.summary(); }
void Probe::summary(AnalysisSummary& out) const { impl_->kernel.summary(out); }
std::span<const TocChange> Probe::timeline() const noexcept {
    return impl_->packets ? impl_->packets->timeline() : std::span<const TocChange>();
}
const OpusPacketStats& Probe::packet_stats() const noexcept {
    static const OpusPacketStats kNoPackets{};
    return impl_->packets ? impl_->packets->stats() : kNoPackets;
}
const ProbeConfig& Probe::config() const noexcept { return impl_->config; }

ProbeStatus Probe::status() const noexcept {
    const Impl& s = *impl_;
    ProbeStatus st;
    st.samples = s.samples;
    st.analysed_samples = s.kernel.samples();
    st.events = s.kernel.events_judged();
    st.overwritten_events = s.kernel.overwritten_events();
    st.max_event_latency_s = s.kernel.max_event_latency_s() + double(s.max_analysis_lag) / kRateHz;
    st.degraded_bandwidth_hz = s.kernel.degraded_bandwidth_hz();
    if (s.full_reference()) {
        st.aligned = s.locked;
        if (s.locked && !s.followed.segments.empty()) {
            // Clamped: at the end the aligner may drop the segment fed last
            // (a step only its last window showed, reached in a long pause).
            const auto& map = s.followed.segments;
            const std::size_t at = std::min(s.current_segment - std::min(s.current_segment, s.first_segment),
                                            map.size() - 1);
            const dsp::DelaySegment& used = map[at];
            st.delay_ms = 1000.0 * double(used.delay_samples) / kRateHz;
            st.gain_db = used.gain_db;
            st.alignment_confidence = used.confidence;
        }
        st.following = s.following;
        st.steps_followed = s.steps_followed;
        st.current_delay_ms = 1000.0 * double(s.aligner->current_delay_samples()) / kRateHz;
        st.skipped_samples = s.skipped;
        st.alignment_status = dsp::to_string(s.aligner->status());
    }
    return st;
}

}  // namespace sibilant
