// The analysis kernel: everything after the alignment, fed a chunk at a time
// (issue #3's pipeline, issue #4's live probe). One kernel serves
// sibilant::analyze(), analyze_files(), analyze_no_reference() and
// sibilant::Probe, so their results agree by construction.
//
//   full reference: reference + aligned degraded -> STFT of both in lockstep
//     -> sibilant detection on the reference -> per-event comparison and
//     scores (dsp/sibilant_compare) as each event ends -> summary;
//   no reference: degraded -> STFT -> detection on the degraded -> the
//     event's measures on the degraded alone -> judged against clean-speech
//     norms (dsp/blind_judge) -> summary.
//
// Results depend only on the samples, never on how they were chunked: the
// chunks are cut at absolute hop boundaries inside, so every frame and every
// event sees the same history.
//
// Real time: after construction, push() and finish() allocate nothing, take
// no lock and throw nothing (the FFTW plans are made at construction; the
// events wait in a fixed ring without their why texts, each written into one
// reserved buffer when the event is taken). summary()
// allocates its verdict text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dsp/alignment.hpp"
#include "sibilant/analyze.hpp"

namespace sibilant::pipeline {

enum class KernelMode { FullReference, NoReference };

/// Throws Error naming the first option out of its range.
void validate(const AnalyzeOptions& options);

struct KernelConfig {
    KernelMode mode = KernelMode::FullReference;
    AnalyzeOptions options{};
    /// Finished events held until taken with pop_event(); when full, the
    /// oldest is overwritten (it still counts in the summary) and counted in
    /// overwritten_events(). [1, 65536].
    int event_capacity = 64;
};

class Kernel {
public:
    /// `guard_zones`: a full-reference alignment whose delay steps leave
    /// guard zones (events there are reported, not compared); null for none.
    /// It must outlive the kernel. Throws Error for an invalid config.
    explicit Kernel(const KernelConfig& config, const dsp::AlignmentResult* guard_zones = nullptr);
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    /// Full reference: the next samples of the reference and of the degraded
    /// already mapped onto the reference's timeline (same length).
    void push(std::span<const float> reference, std::span<const float> aligned_degraded) noexcept;
    /// No reference: the next samples of the degraded.
    void push(std::span<const float> degraded) noexcept;
    /// End of the stream: judges what the detector still holds.
    void finish() noexcept;
    /// Clears the signal state, keeps the config. Allocates as construction
    /// does (not for the real-time path: call it between streams).
    void reset();

    /// The oldest finished event not yet taken, copied into `out` (which
    /// allocates only if out.why is too small). False when there is none.
    bool pop_event(SibilantEventResult& out);
    /// The oldest finished event not yet taken (null when none), valid until
    /// the next push/finish/drop; drop_event() takes it without a copy.
    const SibilantEventResult* front_event() const noexcept;
    void drop_event() noexcept;
    std::size_t pending_events() const noexcept;
    /// Events judged so far (taken or not).
    std::int64_t events_judged() const noexcept;
    std::int64_t overwritten_events() const noexcept;

    /// Summary of every event so far (including those not yet taken).
    AnalysisSummary summary() const;
    /// The same into `out`: no allocation when out.verdict has a capacity of
    /// at least 32 characters (dsp::kVerdictCapacity).
    void summary(AnalysisSummary& out) const;
    /// Full reference: the degraded's bandwidth re the reference; no
    /// reference: the degraded's own effective bandwidth. Hz.
    double degraded_bandwidth_hz() const noexcept;
    std::int64_t samples() const noexcept;
    /// Longest time from the end of a sibilant to the moment its event was
    /// ready (stream time, seconds); 0 before the first event.
    double max_event_latency_s() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant::pipeline
