// sibilant::Probe: the kernel (pipeline/kernel) driven live. No reference:
// samples straight in. Full reference: both streams into the streaming
// aligner and into 8 s stores; once the aligner settles, its delay and gain
// are locked and the stores are replayed into the kernel, which from then on
// follows the stream as far as the degraded has arrived. Opus packets go
// through OpusPacketDecoder first.
//
// Every stage is fed at absolute hop boundaries (aligner and stores in 5 ms
// steps, the kernel cuts its own), so the lock falls on the same sample for
// any chunking and the results do not depend on it.
#include "sibilant/probe.hpp"

#include <algorithm>
#include <array>
#include <cmath>
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
    pipeline::Kernel kernel;
    std::optional<OpusPacketDecoder> packets;  // only when packets are taken
    bool finished = false;
    std::int64_t samples = 0;

    // Full reference only.
    std::unique_ptr<dsp::Aligner> aligner;
    dsp::SampleRing reference_store, degraded_store;
    bool locked = false;
    std::int64_t delay_samples = 0;
    double gain_db = 0.0, confidence = 0.0;
    float scale = 1.0f;
    std::int64_t next_reference = 0;  // next reference sample for the kernel
    std::int64_t skipped = 0;
    std::array<float, kStepSamples> reference_chunk{}, degraded_chunk{};

    explicit Impl(const ProbeConfig& c)
        : config(c),
          kernel(kernel_config(c)),
          reference_store(c.mode == ProbeMode::FullReference ? std::size_t(kStoreSeconds * kRateHz) : 1),
          degraded_store(c.mode == ProbeMode::FullReference ? std::size_t(kStoreSeconds * kRateHz) : 1) {
        if (c.packets.output_rate_hz != kRateHz || c.packets.channels != 1)
            throw Error("probe: packets must be decoded to 48000 Hz mono (output_rate_hz " +
                        std::to_string(c.packets.output_rate_hz) + ", channels " +
                        std::to_string(c.packets.channels) + ")");
        if (c.mode == ProbeMode::FullReference) aligner = std::make_unique<dsp::Aligner>();
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
            // After the lock the aligner keeps running for status(): its
            // current delay shows a step the locked analysis does not follow.
            aligner->push_reference(r);
            aligner->push_degraded(d);
            if (!locked && aligner->settled()) lock();
            if (locked) advance(false);
        }
    }

    void lock() noexcept {
        locked = true;
        delay_samples = aligner->current_delay_samples();
        gain_db = aligner->current_gain_db();
        confidence = aligner->current_confidence();
        scale = static_cast<float>(std::pow(10.0, -gain_db / 20.0));
        // From the start of the stream if the stores still hold it.
        next_reference = std::max<std::int64_t>(
            {0, reference_store.oldest(), degraded_store.oldest() - std::max<std::int64_t>(delay_samples, 0)});
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

    // Feeds the kernel every reference sample whose degraded counterpart
    // has arrived (at the end of the stream: all of them, the degraded
    // silent past its end).
    void advance(bool at_end) noexcept {
        const std::int64_t reference_end = reference_store.count();
        const std::int64_t limit = at_end ? reference_end
                                          : std::min(reference_end, degraded_store.count() - delay_samples);
        while (next_reference < limit) {
            const auto take = std::size_t(std::min<std::int64_t>(kStepSamples, limit - next_reference));
            reference_store.copy(next_reference, std::span<float>(reference_chunk.data(), take));
            for (std::size_t i = 0; i < take; ++i) {
                const std::int64_t j = next_reference + std::int64_t(i) + delay_samples;
                degraded_chunk[i] = j >= degraded_store.oldest() && j < degraded_store.count()
                                        ? degraded_store.at(j) * scale
                                        : 0.0f;
            }
            kernel.push(std::span<const float>(reference_chunk.data(), take),
                        std::span<const float>(degraded_chunk.data(), take));
            next_reference += std::int64_t(take);
        }
    }

    void finish() noexcept {
        if (finished) return;
        finished = true;
        if (full_reference()) {
            if (!locked) {
                aligner->end_reference();
                aligner->end_degraded();
                aligner->finish();
                if (aligner->settled()) lock();
            }
            if (locked) advance(true);
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
    st.max_event_latency_s = s.kernel.max_event_latency_s();
    st.degraded_bandwidth_hz = s.kernel.degraded_bandwidth_hz();
    if (s.full_reference()) {
        st.aligned = s.locked;
        st.delay_ms = 1000.0 * double(s.delay_samples) / kRateHz;
        st.gain_db = s.gain_db;
        st.current_delay_ms = 1000.0 * double(s.aligner->current_delay_samples()) / kRateHz;
        st.skipped_samples = s.skipped;
        st.alignment_confidence = s.confidence;
        st.alignment_status = dsp::to_string(s.aligner->status());
    }
    return st;
}

}  // namespace sibilant
