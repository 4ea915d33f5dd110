// A live quality probe: the analyzer of `sibilant analyze`, run as a stream
// arrives, one probe per stream (issue #4). Push audio (or Opus packets) in
// chunks of any size; each sibilant's event comes out as soon as the
// sibilant has ended and been judged; the summary can be read at any time.
//
// Modes:
//  - NoReference (the usual case in a server): only the processed stream.
//    Sibilant-like events are found in it and judged against clean-speech
//    norms (see analyze_no_reference()).
//  - FullReference: the original and the processed stream, pushed in step
//    (equal-length chunks). The probe aligns on what has arrived so far: it
//    locks the delay and gain the aligner settles on first (normally after
//    2-4 s of speech) and then analyses from the start of the stream (the
//    last 8 s are kept while it waits). A whole-file analysis
//    (sibilant::analyze) aligns on the whole file instead; analyze() with
//    AnalyzeOptions::alignment = Incremental runs this probe and agrees with
//    it exactly.
//
// Delay steps (FullReference): a jitter buffer that inserts or drops audio
// mid-stream steps the delay. The analysis follows the aligner's delay map:
// each reference sample goes to the analysis only once its delay is final
// (Aligner::final_until_sample(): the step that could still split it would
// have been seen), at the delay and gain of the segment holding it, each
// segment's locked the first time the analysis reaches it. Events whose
// frames touch a step's guard zone (10 ms + |step| either side of the change
// point) are reported not compared; every other event says in delay_ms the
// delay it was compared at. The cost is latency: with the aligner's 2 s
// windows and 1 s search range an event comes out about 4-7 s after its
// sibilant ended (measured in tests/test_probe.cpp; status() reports the
// worst), instead of about 120 ms without a reference. In a pause longer
// than the 8 s store allows, what would leave the store goes in at the
// current delay (a step located there is followed from where the analysis
// had got to). Drift (the aligner's Drift status after the lock) is not
// followed: the last delay is kept and status().following turns false.
// Results depend only on the samples, not on how they were chunked: for any
// chunking, the events and the summary equal those of the batch functions
// (analyze_no_reference(), analyze() with Incremental alignment).
//
// Real time: after construction, push*() and finish() allocate nothing, take
// no lock and throw nothing. Samples are analysed as given: ones that are no
// audio (NaN, infinity, +-2^20 and beyond) make the figures around them
// meaningless but never break the probe (the GStreamer element replaces
// non-finite samples by 0 first; what libopus decodes is always finite).
// poll_event() copies into the caller's object (which allocates only if its
// strings are too small: reuse one object);
// summary() allocates its verdict text. With a reference, the 3 MB of
// sample stores are written once at construction, so that the first seconds'
// pushes do not take their first-touch page faults (about 7 ms of set-up on
// the development VM). Memory per probe: measured by bench/ (README: "Live
// probe").
//
// Latency: without a reference an event is ready at most about 120 ms (stream
// time) after its sibilant ended (detector lookahead 100 ms + 10 ms gap + a
// hop + the STFT frame); with one, add the wait for a final delay (above).
// status().max_event_latency_s reports the worst seen.
//
// Thread safety: a probe is not shared between threads without the caller's
// own locking; separate probes need no locking between them (the FFTW plans
// they share are made at construction, under a lock, and only executed
// afterwards). Many probes on one thread are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "sibilant/analyze.hpp"
#include "sibilant/opus_packets.hpp"

namespace sibilant {

enum class ProbeMode { NoReference, FullReference };

struct ProbeConfig {
    ProbeMode mode = ProbeMode::NoReference;
    /// Flag thresholds (as for analyze()); `channel` and `alignment` unused.
    AnalyzeOptions analysis{};
    /// Events held until poll_event() takes them; when full, the oldest is
    /// overwritten (it still counts in the summary). [1, 65536].
    int event_capacity = 64;
    /// Opus packet input (push_packet()); decoded to 48 kHz mono.
    OpusPacketDecoderConfig packets{};
    /// false: PCM only; no Opus decoder is made (about 60 KiB less per
    /// probe) and push_packet() returns Malformed. A FullReference probe
    /// never takes packets and never makes one.
    bool accept_packets = true;
};

/// Why a push was not taken. Pushing never throws.
enum class ProbeStatusCode {
    Ok = 0,
    WrongMode,        ///< A reference push to a NoReference probe, or the reverse.
    LengthMismatch,   ///< Reference and degraded chunks of different lengths.
    Finished,         ///< Pushed after finish() (reset() starts a new stream).
};
const char* to_string(ProbeStatusCode code) noexcept;

struct ProbeStatus {
    std::int64_t samples = 0;            ///< Degraded samples taken (48 kHz).
    std::int64_t analysed_samples = 0;   ///< Of those, through the analysis so far.
    std::int64_t events = 0;             ///< Events judged so far.
    std::int64_t overwritten_events = 0; ///< Events lost from a full queue (still summarised).
    /// Worst sibilant-end-to-event delay seen (stream time). With a reference
    /// an upper bound: the analysis's own worst plus its largest lag behind
    /// the stream when it judged events.
    double max_event_latency_s = 0.0;
    double degraded_bandwidth_hz = 0.0;  ///< As in AnalysisResult.
    // FullReference only.
    bool aligned = false;                ///< The delay is locked; analysis runs.
    /// Delay the analysis compares at now: the locked delay of the segment
    /// it has reached (degraded lags reference when positive).
    double delay_ms = 0.0;
    double gain_db = 0.0;                ///< ... and that segment's locked gain.
    /// The aligner's latest estimate: it moves on a delay step some seconds
    /// before delay_ms does (the analysis lags, see "Delay steps").
    double current_delay_ms = 0.0;
    double alignment_confidence = 0.0;   ///< The aligner's, for that segment (0..1).
    /// Delay steps the analysis has moved across since the lock.
    std::int64_t steps_followed = 0;
    /// Steps are followed (true from the lock until the aligner stops giving
    /// a delay map: drift or overrun, when the last delay is kept).
    bool following = false;
    /// The aligner's state ("pending", "aligned", "no common content", ...);
    /// a static string. Empty in NoReference mode.
    const char* alignment_status = "";
    /// Reference samples not analysed: those that left the 8 s store before
    /// the aligner settled (a start it needed more than 8 s for). The
    /// analysis starts after them (they go in as silence, so event times
    /// stay the stream's).
    std::int64_t skipped_samples = 0;
};

class Probe {
public:
    /// All allocation happens here. Throws Error for an invalid config.
    explicit Probe(const ProbeConfig& config = {});
    ~Probe();
    Probe(Probe&&) noexcept;
    Probe& operator=(Probe&&) noexcept;

    /// NoReference: the next degraded samples, mono 48 kHz (floats nominally
    /// in [-1, 1]; int16 full scale 32768).
    ProbeStatusCode push(std::span<const float> degraded_48k) noexcept;
    ProbeStatusCode push(std::span<const std::int16_t> degraded_48k) noexcept;
    /// FullReference: the next samples of both streams, equal lengths.
    ProbeStatusCode push(std::span<const float> reference_48k, std::span<const float> degraded_48k) noexcept;
    ProbeStatusCode push(std::span<const std::int16_t> reference_48k,
                         std::span<const std::int16_t> degraded_48k) noexcept;
    /// NoReference: one Opus packet with its RTP sequence number (16-bit,
    /// wraps). Missing packets are concealed (in-band FEC when the next packet
    /// has it, else PLC), late/duplicate/malformed ones counted and skipped;
    /// the TOC timeline is in timeline(). Returns what the decoder did.
    /// `tap`, when set, also sees every block of decoded or concealed PCM
    /// (48 kHz mono) before the analysis does, e.g. to save the audio.
    PacketOutcome push_packet(std::uint16_t sequence, std::span<const std::uint8_t> packet,
                              PcmSink tap = {}) noexcept;
    /// End of the stream: judges what is still pending. Further pushes are
    /// refused until reset().
    void finish() noexcept;
    /// Clears the signal state, events, summary, timeline and packet state;
    /// keeps the config. Allocates as construction does: call it between
    /// streams, not on the real-time path.
    void reset();

    /// Takes the oldest event not yet taken into `out`; false when none.
    bool poll_event(SibilantEventResult& out);
    /// The oldest event not yet taken, without a copy (null when none); valid
    /// until the next push, finish, drop_event() or reset(). No allocation.
    const SibilantEventResult* peek_event() const noexcept;
    void drop_event() noexcept;
    std::size_t pending_events() const noexcept;
    /// Summary of every event so far (the same contract as analyze()).
    AnalysisSummary summary() const;
    /// The same into `out`, for the real-time path: no allocation when
    /// out.verdict already has a capacity of at least 32 characters
    /// (reserve it once and reuse the object).
    void summary(AnalysisSummary& out) const;
    ProbeStatus status() const noexcept;
    /// Opus input only: TOC changes (mode, bandwidth, frame size) and stats.
    std::span<const TocChange> timeline() const noexcept;
    const OpusPacketStats& packet_stats() const noexcept;
    const ProbeConfig& config() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant
