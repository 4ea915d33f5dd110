// Capture analysis: the RTP/Opus streams of a packet capture (pcap or pcapng,
// as tcpdump, tshark or Wireshark write them), each judged without a
// reference, as `sibilant analyze CAPTURE.pcap` does.
//
// Path: read every UDP datagram of the capture (libpcap; Ethernet, VLAN,
// Linux cooked, loopback and raw IP link layers; IPv4 and IPv6), pick the
// RTP/Opus packets, put each stream's packets back in sequence order within
// a reorder window (as a receiver's jitter buffer would), and feed them to a
// sibilant::RtpMonitor with the capture's timestamps as arrival times: one
// no-reference sibilant::Probe per SSRC, the same analysis `sibilant probe`
// runs live. Each stream's result has the contract of analyze_no_reference()
// (AnalysisResult, to_json()): event times are seconds of the stream's
// decoded audio from its first packet.
//
// Which packets are Opus:
//  - with CaptureOptions::payload_types given: RTP packets of those payload
//    types, whatever they hold (a new SSRC still needs a payload that parses
//    as an Opus TOC);
//  - otherwise (auto): a first pass over the capture looks at every SSRC
//    sending a dynamic payload type (96..127) and keeps those whose payloads
//    parse as Opus and whose RTP timestamps advance, between consecutive
//    sequence numbers, by the previous packet's duration at 48 kHz (RFC 7587)
//    for at least half of such pairs. That tells Opus from video (90 kHz
//    clock, one timestamp per picture), telephone events (one timestamp per
//    event) and 8/16 kHz-clocked audio codecs, all of which a TOC byte alone
//    would let through. Their packets are counted as not_opus.
//
// Streams are never split on a pause: a stream lasts from its first packet
// to the end of the capture (gaps are concealed or, beyond 1 s, restart the
// decoder, as in the live probe). At most CaptureOptions::max_streams
// streams; SSRCs beyond are counted (stream_cap) and not analysed.
//
// Deterministic: the same capture and options give the same results.
// Memory: about 1 MiB per stream (its probe) plus the reorder window.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sibilant/analyze.hpp"
#include "sibilant/opus_packets.hpp"
#include "sibilant/rtp.hpp"
#include "sibilant/rtp_monitor.hpp"

namespace sibilant {

/// What reading a capture saw, frame by frame. Every frame lands in exactly
/// one of udp_datagrams and the skipped_ counts.
struct CaptureReadStats {
    std::int64_t frames = 0;             ///< Packet records read.
    std::int64_t udp_datagrams = 0;      ///< UDP datagrams found.
    std::int64_t skipped_non_ip = 0;     ///< ARP, LLDP, unknown family or ethertype...
    std::int64_t skipped_non_udp = 0;    ///< IP but not UDP (TCP, ICMP, ESP...).
    std::int64_t skipped_fragments = 0;  ///< UDP in IPv4 fragments or behind an IPv6 fragment header (not reassembled).
    /// Cut by the snapshot length before the end of the UDP payload, or IP /
    /// UDP lengths that disagree with each other or with the frame.
    std::int64_t skipped_truncated = 0;
    /// The file ended in the middle of a record (typically tcpdump killed, or
    /// a disk that filled up) after at least one good one: the frames before
    /// it were read, and `stop_reason` names the file and the cause.
    bool stopped_early = false;
    std::string stop_reason;
};

struct CaptureOptions {
    /// RTP payload types carrying Opus, each 0..127. Empty: find them (see the
    /// file comment).
    std::vector<int> payload_types{};
    /// Flag thresholds, as for analyze(); `channel` and `alignment` unused.
    AnalyzeOptions analysis{};
    /// Most streams analysed. [1, 100000].
    int max_streams = 1000;
    /// Packets of one stream held to put them back in sequence order: a
    /// packet that arrives more than this many packets after a later one is
    /// late (dropped and counted, as in the live probe). [1, 10000]; 50 is
    /// one second of 20 ms packets.
    int reorder_packets = 50;
    /// When not empty, each stream's decoded audio (concealment included:
    /// what a listener heard) is written to
    /// DIR/<capture stem>-ssrc-<8 hex digits>.wav, 48 kHz mono 16-bit. The
    /// folder must exist. Each file appears only when complete (written under
    /// a temporary name and renamed), so a failed run leaves none half-written.
    std::filesystem::path write_audio_dir{};
};

/// Throws Error naming the setting and its range.
void validate(const CaptureOptions& options);

/// One analysed stream.
struct CaptureStream {
    std::uint32_t ssrc = 0;
    RemoteEndpoint source;          ///< The address the stream is bound to (its first packet's).
    RemoteEndpoint destination;     ///< Its first packet's destination.
    int payload_type = 0;           ///< Its first packet's.
    /// Capture time of its first and last packet, seconds since the Unix epoch.
    double first_packet_unix_s = 0, last_packet_unix_s = 0;
    /// Frame number of the packet that started it (1-based, as Wireshark counts).
    std::int64_t first_frame = 0;
    std::int64_t reordered = 0;     ///< Packets put back in sequence order by the reorder window.
    OpusPacketStats packets;        ///< What the decoder did (received, lost, concealed, late...).
    /// Where the Opus TOC changed: mode, bandwidth, frame size (describe() words it).
    std::vector<TocChange> timeline;
    /// mode "no-reference", degraded "<capture>#ssrc=0x<8 hex digits>".
    AnalysisResult result;
    std::filesystem::path audio_file;  ///< The written audio (write_audio_dir), else empty.
};

struct CaptureAnalysis {
    std::string capture;                 ///< The path as given.
    CaptureReadStats read;
    /// Every UDP datagram's fate, by DatagramOutcome (rtp_monitor.hpp):
    /// accepted, or why not (not RTP, RTCP, another payload type, not Opus...).
    std::int64_t outcomes[kDatagramOutcomeCount] = {};
    std::vector<int> payload_types;      ///< Those used: given, or found by auto-detection (sorted).
    std::int64_t streams_refused = 0;    ///< SSRCs beyond max_streams.
    std::vector<CaptureStream> streams;  ///< In order of their first packet.
};

/// Analyses every RTP/Opus stream of the capture at `path`.
///
/// Throws Error naming the file and the cause when it is missing, not a
/// capture libpcap reads (or of an unsupported link type), truncated in its
/// header or first record, when writing the audio fails (naming the audio
/// file), and for invalid options. A capture without any Opus stream is no
/// error: `streams` is empty (describe_capture() says what was there). A
/// capture cut mid-record is analysed up to the cut (read.stopped_early).
CaptureAnalysis analyze_capture(const std::filesystem::path& path, const CaptureOptions& options = {});

/// True when the file starts with a pcap (a1b2c3d4, a1b23c4d, either byte
/// order) or pcapng (0a0d0d0a) magic number. False when it does not, or
/// cannot be read.
bool is_capture_file(const std::filesystem::path& path);

/// One line on what the capture held, e.g. "x.pcap: 2 RTP/Opus streams; 1498
/// UDP datagrams (1480 accepted, 10 rtcp, 8 wrong_version) in 1500 frames;
/// ..." or "no RTP/Opus stream found in x.pcap: 12 UDP datagrams (12
/// payload_type) in 12 frames; ...". Only non-zero counts are listed.
std::string describe_capture(const CaptureAnalysis& analysis);

/// One stream as one line of JSON: to_json(stream.result) with an "rtp"
/// object added (capture, ssrc, source, destination, payload_type, packet
/// times, decoder counts, audio_file).
std::string to_json(const CaptureAnalysis& analysis, const CaptureStream& stream);

/// The JSON Lines record of a capture that could not be analysed, as a batch
/// writes it: {"reference":null,"degraded":<capture>,"error":<message>}.
std::string capture_error_json(const std::string& capture, const std::string& message);

}  // namespace sibilant
