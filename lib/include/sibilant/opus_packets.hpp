// The packet entry point of the live probe: Opus packets as a streaming
// server receives them (RTP payloads, possibly lost, late, duplicated or
// corrupt) in, decoded PCM out, plus what each packet's TOC byte says.
//
// Per packet, OpusPacketDecoder::push():
// - drops late and duplicate packets (counted);
// - skips malformed ones (counted; their audio is concealed once the next
//   good packet shows where the stream continues);
// - conceals a gap before the packet: with the packet's in-band FEC (LBRR)
//   for the last lost frame when it carries some, as opus_demo does, and
//   with libopus PLC for the rest; a gap longer than max_gap_ms is a stream
//   restart instead (decoder reset, nothing concealed);
// - decodes the packet;
// - hands every piece of PCM (concealed or decoded) to the sink, in order;
// - notes a TOC timeline entry when mode, bandwidth, frame size, frames per
//   packet or channel count change.
//
// Real time: all memory is allocated by the constructor. push(),
// push_timestamped(), reset() and clear_timeline() never allocate, never
// throw and never read outside the packet they are given. Errors are values
// (the PacketOutcome and the counters in OpusPacketStats). describe()
// allocates; call it off the real-time path.
//
// Stream time (PcmBlock::time_s, TocChange::time_s, OpusPacketStats::pcm_s)
// is the PCM handed out so far, decoded and concealed, divided by the output
// rate. A restart does not add its gap: the time runs on from where it was.
//
// Thread-safety: one decoder per stream, used by one thread at a time. The
// const accessors may not run concurrently with push() or reset(). Distinct
// decoders are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "sibilant/opus_channel.hpp"  // TocInfo, parse_toc, CodecMode, Bandwidth

namespace sibilant {

struct OpusPacketDecoderConfig {
    /// PCM rate handed to the sink: 8000, 12000, 16000, 24000 or 48000 Hz
    /// (the rates libopus decodes to). RTP timestamps stay in 48 kHz units.
    int output_rate_hz = 48000;
    /// 1 or 2. With 1 a stereo stream is mixed down to mono by libopus itself
    /// (a mono libopus decoder; SILK gives the mid channel, CELT the average
    /// of left and right), so no stereo decode is needed. With 2 the sink gets
    /// interleaved left/right and a mono stream is duplicated to both.
    int channels = 1;
    /// A gap (lost audio) longer than this is a stream restart: the decoder is
    /// reset and nothing is concealed. [0, 60000] ms. 0: every gap restarts.
    double max_gap_ms = 1000.0;
    /// Capacity of the TOC timeline, allocated up front. [1, 65536] entries.
    /// Entries beyond it are dropped and counted (clear_timeline() makes room).
    int timeline_capacity = 256;
    /// How far back (in packets, sequence-keyed) an old packet is still "late"
    /// rather than a sender restart, as RFC 3550's MAX_MISORDER. [1, 30000].
    /// A packet further back is dropped too; if the next packet follows it in
    /// sequence, the stream is taken to have restarted there.
    int max_misorder_packets = 100;
};

/// Throws Error naming the setting, its value and the allowed range.
void validate(const OpusPacketDecoderConfig& config);

/// Where a block of PCM came from.
enum class PcmSource { Decoded, Fec, Plc };

/// "decoded", "fec", "plc".
const char* to_string(PcmSource value);

/// One block of PCM handed to the sink. Valid only during the sink call.
struct PcmBlock {
    const float* samples = nullptr;  ///< frames * channels floats, interleaved, nominally [-1, 1].
    int frames = 0;                  ///< Samples per channel, > 0.
    int channels = 1;                ///< config.channels.
    int rate_hz = 48000;             ///< config.output_rate_hz.
    double time_s = 0.0;             ///< Stream time of the first sample (see OpusPacketStats::pcm_s).
    PcmSource source = PcmSource::Decoded;
};

/// The sink: a plain function pointer and a context pointer, so that push()
/// never allocates. It runs inside push(), which is noexcept: it must not
/// throw, and must not call back into the same decoder.
struct PcmSink {
    void (*function)(void* context, const PcmBlock& block) = nullptr;  ///< nullptr: PCM is discarded.
    void* context = nullptr;

    /// Wraps any callable `f(const PcmBlock&)`; `f` must outlive the sink.
    template <class F>
    static PcmSink of(F& f) noexcept {
        return PcmSink{[](void* c, const PcmBlock& b) { (*static_cast<F*>(c))(b); }, &f};
    }
};

/// What push() did with one packet.
enum class PacketOutcome {
    Decoded,    ///< Decoded (after concealing any gap before it).
    Restarted,  ///< Decoded as the first packet of a new or restarted stream.
    Late,       ///< Older than the newest packet: dropped.
    Duplicate,  ///< Same sequence number / timestamp as the newest packet: dropped.
    Malformed,  ///< Not a valid Opus packet, or libopus refused it: skipped.
};

/// "decoded", "restarted", "late", "duplicate", "malformed".
const char* to_string(PacketOutcome value);

enum class TocChangeKind {
    Start,    ///< First packet of the stream (or after reset()): `previous` is unset.
    Restart,  ///< First packet after a stream restart.
    Change,   ///< Mode, bandwidth, frame_ms, frames_per_packet or stereo changed.
};

/// One entry of the TOC timeline.
struct TocChange {
    TocChangeKind kind = TocChangeKind::Start;
    double time_s = 0.0;           ///< Stream time at the packet start (PCM produced before it).
    std::int64_t packet = 0;       ///< Index of the packet among those received (push calls), from 0.
    TocInfo previous;              ///< What the TOC said before; meaningful for Change and Restart.
    TocInfo current;
};

/// A sentence for a timeline entry, e.g. "bandwidth dropped from FB to WB at
/// 12.40 s", "mode changed from Hybrid to SILK and frame size changed from 20
/// to 60 ms at 3.02 s", "stream starts as CELT FB, 20 ms x 1, mono at 0.00 s".
/// Allocates: call it outside the real-time path.
std::string describe(const TocChange& change);

/// Totals since construction or reset(). Lost packets are either
/// FEC-recovered or PLC-concealed: packets_lost == fec_recovered + plc_packets.
struct OpusPacketStats {
    std::int64_t packets_received = 0;   ///< push calls.
    std::int64_t packets_decoded = 0;
    std::int64_t packets_lost = 0;       ///< Missing (never arrived, or arrived malformed) and concealed.
    std::int64_t fec_recovered = 0;      ///< Lost packets rebuilt from the next packet's LBRR.
    std::int64_t plc_packets = 0;        ///< Lost packets concealed with PLC.
    std::int64_t late = 0;
    std::int64_t duplicate = 0;
    std::int64_t malformed = 0;
    std::int64_t restarts = 0;           ///< Gaps beyond max_gap_ms, or sender restarts.
    std::int64_t timeline_dropped = 0;   ///< Timeline entries not stored (buffer full).
    std::int64_t samples_out = 0;        ///< PCM frames (per channel) handed to the sink.
    double pcm_s = 0.0;                  ///< samples_out / output_rate_hz: the stream time.
    double concealed_s = 0.0;            ///< Of pcm_s, produced by FEC or PLC.
    std::int64_t mode_packets[3] = {0, 0, 0};                ///< Decoded packets by CodecMode.
    std::int64_t bandwidth_packets[6] = {0, 0, 0, 0, 0, 0};  ///< Decoded packets by Bandwidth (Auto unused).
};

class OpusPacketDecoder {
public:
    /// Validates `config` (Error naming the setting) and allocates everything:
    /// the libopus decoder, a PCM buffer for 120 ms x 2 channels and the
    /// timeline. Throws Error if libopus refuses.
    explicit OpusPacketDecoder(const OpusPacketDecoderConfig& config = {});
    ~OpusPacketDecoder();
    OpusPacketDecoder(OpusPacketDecoder&&) noexcept;
    OpusPacketDecoder& operator=(OpusPacketDecoder&&) noexcept;

    /// Largest accepted packet: 1275 * 3 bytes (three maximal frames).
    static constexpr std::size_t kMaxPacketBytes = 1275 * 3;

    /// One received packet keyed by its RTP sequence number. Only the low 16
    /// bits are used; wraparound (65535 -> 0) is handled, so a 32-bit counter
    /// works as well. A forward jump of n means n - 1 lost packets, each as
    /// long as the last good one. Empty, oversize or unparsable packets are
    /// Malformed. Calls the sink zero or more times.
    PacketOutcome push(std::uint32_t sequence, std::span<const std::uint8_t> packet, PcmSink sink) noexcept;

    /// The same keyed by RTP timestamp in 48 kHz units (RFC 7587: Opus RTP
    /// always counts at 48 kHz), wrapping at 2^32. A timestamp beyond the end
    /// of the previous packet is a gap of that many samples, rounded to 2.5 ms
    /// (this also conceals DTX pauses, which keep the sequence contiguous).
    /// Lost packets are counted as gap / last packet duration, rounded up.
    /// Use one keying per stream: after the first packet, a push with the
    /// other keying is Malformed until reset().
    PacketOutcome push_timestamped(std::uint32_t rtp_timestamp_48k, std::span<const std::uint8_t> packet,
                                   PcmSink sink) noexcept;

    /// Forgets the stream: decoder state, sequence, stats and timeline. Keeps
    /// the config and the memory. Never allocates.
    void reset() noexcept;

    /// Empties the timeline (the stats and stream are kept), e.g. after the
    /// caller has read it; the next change is still relative to the last TOC.
    void clear_timeline() noexcept;

    const OpusPacketDecoderConfig& config() const noexcept;
    const OpusPacketStats& stats() const noexcept;
    /// Timeline entries in stream order; valid until the next non-const call.
    std::span<const TocChange> timeline() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant
