// Many live Opus streams at once: the datagram path of the probe service
// (`sibilant probe`) and of capture analysis (`sibilant analyze CAPTURE.pcap`).
// Each UDP datagram goes in with where it came from and when; the monitor
// parses its RTP header (sibilant/rtp.hpp), keeps one no-reference
// sibilant::Probe per SSRC, hands the Opus payload to that stream's probe
// (which orders, conceals and decodes it: see sibilant/opus_packets.hpp), and
// passes every judged sibilant event to a sink.
//
// Streams:
//  - created on the first valid packet of an unknown SSRC: valid RTP, a
//    configured payload type, and a payload that parses as an Opus packet;
//  - bound to the address that first sent them: a packet with the same SSRC
//    from another address is dropped (SourceMismatch) rather than mixed in;
//  - ended when idle for `idle_s` (expire_idle()) or at finish(): pending
//    events are judged and sent to the sink first, then the stream's slot
//    (and its series in any metrics) goes away;
//  - at most `max_streams` at once: a new SSRC beyond that is refused
//    (StreamCap, counted) and never allocates. Running streams keep their
//    slots: a flood of new SSRCs cannot displace them.
//
// Real time: push() for a packet of an existing stream, expire_idle() with
// nothing to expire and every accessor allocate nothing, take no lock and
// never throw. Creating a stream allocates its probe (about 0.9 MiB, see
// README "Live probe") and ending one frees it; both are bounded by
// max_streams. Sinks run inside push()/expire_idle()/finish() and must not
// throw or call back into the monitor.
//
// Time: `arrival_s` is any clock in seconds that does not go backwards (the
// service uses CLOCK_MONOTONIC, capture analysis the capture's timestamps).
// Event times (start_s, end_s) are stream time: seconds of decoded audio
// since the stream's first packet (see OpusPacketStats::pcm_s).
//
// Thread safety: one thread at a time per monitor. The probe service runs one
// monitor per worker thread and shards SSRCs over them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sibilant/probe.hpp"
#include "sibilant/rtp.hpp"

namespace sibilant {

/// What push() did with a datagram. Every datagram gets exactly one.
enum class DatagramOutcome {
    Accepted = 0,   ///< Given to a stream's probe (which may still find it late, duplicate or malformed).
    Truncated,      ///< Shorter than its RTP header says.
    WrongVersion,   ///< Not RTP version 2.
    Rtcp,           ///< RTCP on the RTP port.
    BadPadding,     ///< RTP padding count impossible.
    PayloadType,    ///< A payload type not configured as Opus.
    NotOpus,        ///< Unknown SSRC whose payload is not an Opus packet: no stream made for it.
    Oversize,       ///< Payload larger than an Opus packet can be (OpusPacketDecoder::kMaxPacketBytes).
    SourceMismatch, ///< A known SSRC from another address than the stream's.
    StreamCap,      ///< A new SSRC while max_streams streams are active.
    OutOfMemory,    ///< A new stream's probe could not be allocated.
};
inline constexpr int kDatagramOutcomeCount = 11;

/// Metric label values: "accepted", "truncated", "wrong_version", "rtcp",
/// "bad_padding", "payload_type", "not_opus", "oversize", "source_mismatch",
/// "stream_cap", "out_of_memory".
const char* to_string(DatagramOutcome outcome) noexcept;

struct RtpMonitorConfig {
    /// RTP payload types carrying Opus (dynamic types are negotiated, 111 is
    /// WebRTC's usual one). Each 0..127; at least one.
    std::vector<int> opus_payload_types{111};
    /// Most streams at once. [1, 100000].
    int max_streams = 100;
    /// A stream without packets for this long ends. (0, 86400] seconds.
    double idle_s = 10.0;
    /// The sliding window of RtpStream::window(): the last this many seconds
    /// of each stream's audio. [1, 3600] s.
    double window_s = 60.0;
    /// Each stream's probe. `mode` must be NoReference; packets are keyed by
    /// RTP sequence number and decoded to 48 kHz mono.
    ProbeConfig probe{};
};

/// Throws Error naming the setting, its value and the allowed range.
void validate(const RtpMonitorConfig& config);

/// Lisp and smearing index over a stream's recent sibilants.
struct WindowIndices {
    int sibilants = 0;        ///< Events ending in the window.
    int compared = 0;         ///< Of those, scored.
    double lisp_index = 0;    ///< Duration-weighted mean, as AnalysisSummary's; 0 with none compared.
    double smearing_index = 0;
};

/// One active stream. Valid until the monitor ends it (the end sink is its
/// last sight of it).
class RtpStream {
public:
    std::uint32_t ssrc() const noexcept { return ssrc_; }
    const RemoteEndpoint& remote() const noexcept { return remote_; }
    /// format_endpoint(remote()).
    const char* remote_text() const noexcept { return remote_text_.data(); }
    int payload_type() const noexcept { return payload_type_; }
    /// Streams created by this monitor before this one (a unique serial).
    std::int64_t serial() const noexcept { return serial_; }
    double first_arrival_s() const noexcept { return first_arrival_s_; }
    double last_arrival_s() const noexcept { return last_arrival_s_; }
    /// The probe: status(), packet_stats(), timeline(), summary(out).
    const Probe& probe() const noexcept { return *probe_; }
    /// The last config.window_s seconds of stream time. No allocation.
    WindowIndices window() const noexcept;

private:
    friend class RtpMonitor;
    struct WindowEvent {
        double end_s = 0, weight_s = 0, lisp = 0, smearing = 0;
        bool compared = false;
    };
    std::uint32_t ssrc_ = 0;
    RemoteEndpoint remote_{};
    std::array<char, 64> remote_text_{};
    int payload_type_ = 0;
    std::int64_t serial_ = 0;
    double first_arrival_s_ = 0, last_arrival_s_ = 0;
    double window_s_ = 60;
    std::unique_ptr<Probe> probe_;
    std::vector<WindowEvent> window_events_;  // ring, allocated with the stream
    std::size_t window_first_ = 0, window_count_ = 0;
    void add_to_window(const SibilantEventResult& event) noexcept;
};

/// Why a stream ended.
enum class StreamEnd { Idle, Finished };

/// Callbacks; each may be null. `context` is passed back as is.
struct RtpMonitorSinks {
    void* context = nullptr;
    /// A stream was created (its first packet not yet decoded).
    void (*stream_started)(void* context, const RtpStream& stream) = nullptr;
    /// An event was judged; `arrival_s` is the arrival time of the datagram
    /// that completed it (or the time given to expire_idle()/finish()).
    void (*event)(void* context, const RtpStream& stream, const SibilantEventResult& event,
                  double arrival_s) = nullptr;
    /// Decoded or concealed PCM (48 kHz mono) of a stream, in order.
    void (*pcm)(void* context, const RtpStream& stream, const PcmBlock& block) = nullptr;
    /// A stream is about to end: its probe is finished and every event sent.
    void (*stream_ended)(void* context, const RtpStream& stream, StreamEnd why) = nullptr;
};

/// Process-wide totals since construction.
struct RtpMonitorCounters {
    std::int64_t datagrams = 0;                               ///< push() calls.
    std::int64_t outcomes[kDatagramOutcomeCount] = {};        ///< By DatagramOutcome.
    std::int64_t streams_created = 0;
    std::int64_t streams_ended = 0;
    /// New SSRCs refused at the cap, each counted once while it stays in a
    /// 4096-entry memory of recently refused SSRCs (so a refused stream that
    /// keeps sending counts once, not per packet).
    std::int64_t streams_refused = 0;
    std::int64_t events = 0;                                  ///< Events sent to the sink.
};

class RtpMonitor {
public:
    /// Validates `config` (Error naming the setting) and allocates the
    /// stream table. Probes are allocated as streams are created.
    explicit RtpMonitor(const RtpMonitorConfig& config, RtpMonitorSinks sinks = {});
    ~RtpMonitor();
    RtpMonitor(const RtpMonitor&) = delete;
    RtpMonitor& operator=(const RtpMonitor&) = delete;

    /// One UDP datagram's payload, from `from`, arriving at `arrival_s`.
    DatagramOutcome push(std::span<const std::uint8_t> datagram, const RemoteEndpoint& from,
                         double arrival_s) noexcept;
    /// Ends the streams whose last packet arrived more than idle_s before
    /// `now_s`. Returns how many ended.
    int expire_idle(double now_s) noexcept;
    /// Ends every stream (shutdown, end of a capture).
    void finish(double now_s) noexcept;

    std::size_t active_streams() const noexcept;
    /// Every slot, in a fixed order; null where no stream is. Slots are
    /// reused, so a stream's slot says nothing about its age (see serial()).
    std::size_t slot_count() const noexcept;
    const RtpStream* stream_at(std::size_t slot) const noexcept;
    /// The active stream with this SSRC, or null.
    const RtpStream* find(std::uint32_t ssrc) const noexcept;
    const RtpMonitorCounters& counters() const noexcept;
    const RtpMonitorConfig& config() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant
