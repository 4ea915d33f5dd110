// analyze_capture(): the RTP/Opus streams of a pcap/pcapng file through the
// live probe's path (RtpMonitor), with capture time as arrival time. See
// sibilant/capture.hpp for what is detected and how.
#include "sibilant/capture.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "io/pcap_reader.hpp"
#include "pipeline/analysis_json.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/opus_channel.hpp"

namespace sibilant {

namespace {

constexpr int kFirstDynamicType = 96;  // RFC 3551: 96..127 are negotiated.
constexpr int kLastDynamicType = 127;

// A packet this far behind the last one played out is a sender restart, not
// a late packet: RFC 3550's MAX_MISORDER, as the decoder's default.
constexpr std::int64_t kRestartPackets = 100;

bool is_dynamic(int payload_type) { return payload_type >= kFirstDynamicType && payload_type <= kLastDynamicType; }

// Samples at 48 kHz that an Opus packet holds (its TOC's frame duration times
// its frame count), or 0 when it does not parse as Opus.
std::int64_t opus_samples_48k(std::span<const std::uint8_t> payload) {
    TocInfo toc;
    if (payload.size() > OpusPacketDecoder::kMaxPacketBytes || !parse_toc(payload, toc)) return 0;
    return std::int64_t(toc.frame_ms * 48.0 + 0.5) * toc.frames_per_packet;
}

// Auto-detection's first pass: per SSRC and payload type, whether the
// payloads parse as Opus and the timestamps advance as Opus's do.
struct Evidence {
    std::int64_t packets = 0, opus = 0;
    std::int64_t pairs = 0, pairs_matching = 0;  // consecutive sequence numbers
    bool have_last = false;
    std::uint16_t last_sequence = 0;
    std::uint32_t last_timestamp = 0;
    std::int64_t last_samples = 0;

    void add(const RtpHeader& h, std::span<const std::uint8_t> payload) {
        ++packets;
        const std::int64_t samples = opus_samples_48k(payload);
        if (samples > 0) ++opus;
        if (have_last && std::uint16_t(last_sequence + 1) == h.sequence) {
            ++pairs;
            // Timestamps wrap at 2^32; the unsigned difference is the step.
            if (last_samples > 0 && std::int64_t(std::uint32_t(h.timestamp - last_timestamp)) == last_samples)
                ++pairs_matching;
        }
        have_last = true;
        last_sequence = h.sequence;
        last_timestamp = h.timestamp;
        last_samples = samples;
    }
    // Nearly every payload parses (a few damaged ones may not), and most
    // steps are one packet's duration (DTX pauses and losses are not).
    bool is_opus() const { return opus * 10 >= packets * 9 && pairs_matching >= 1 && pairs_matching * 2 >= pairs; }
};

using StreamKey = std::pair<std::uint32_t, int>;  // SSRC, payload type

std::set<StreamKey> detect_opus(const std::filesystem::path& path) {
    std::map<StreamKey, Evidence> evidence;
    io::read_udp_datagrams(path, [&](const io::CapturedDatagram& d) {
        RtpHeader h;
        if (parse_rtp(d.payload, h) != RtpParseResult::Ok || !is_dynamic(h.payload_type)) return;
        evidence[{h.ssrc, h.payload_type}].add(h, rtp_payload(d.payload, h));
    });
    std::set<StreamKey> opus;
    for (const auto& [key, e] : evidence)
        if (e.is_opus()) opus.insert(key);
    return opus;
}

// One stream's reorder window: its packets held until `depth` are waiting,
// then released lowest sequence number first. Only packets from the address
// the stream is bound to are held; the monitor judges the others.
struct Reorder {
    struct Held {
        std::int64_t sequence;  // extended: no wrap
        std::vector<std::uint8_t> datagram;
        RemoteEndpoint destination;
        double time_s;
        std::int64_t frame;
    };
    RemoteEndpoint source;
    std::int64_t highest = -1;         // extended sequence of the newest packet seen
    std::int64_t released = -1;        // extended sequence of the last packet released
    std::vector<Held> held;            // a min-heap on sequence
    std::int64_t reordered = 0;

    static bool later(const Held& a, const Held& b) { return a.sequence > b.sequence; }

    std::int64_t extend(std::uint16_t sequence) const {
        // Start well above 0 so that packets from before the first are still
        // positive; then the nearest value with these low 16 bits.
        if (highest < 0) return (std::int64_t(1) << 32) + sequence;
        return highest + std::int16_t(std::uint16_t(sequence - std::uint16_t(highest)));
    }
};

void append(std::string& out, std::int64_t n, const char* what, bool& first) {
    if (n == 0) return;
    out += (first ? "" : ", ") + std::to_string(n) + " " + what;
    first = false;
}

std::string hex_ssrc(std::uint32_t ssrc) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", unsigned(ssrc));
    return text;
}

std::string endpoint_text(const RemoteEndpoint& e) {
    char text[64];
    format_endpoint(e, text, sizeof text);
    return text;
}

// The state of one capture's analysis, shared with the monitor's sinks.
class CaptureRun {
public:
    CaptureRun(const std::filesystem::path& path, const CaptureOptions& options, std::vector<int> payload_types,
               std::optional<std::set<StreamKey>> only)
        : path_(path), options_(options), only_(std::move(only)), monitor_(monitor_config(payload_types), sinks()) {
        analysis_.capture = path.string();
        analysis_.payload_types = std::move(payload_types);
    }

    CaptureAnalysis run() {
        analysis_.read = io::read_udp_datagrams(path_, [this](const io::CapturedDatagram& d) { take(d); });
        for (auto& [ssrc, window] : reorder_)
            while (!window.held.empty()) release(window);
        monitor_.finish(last_time_s_);
        rethrow();

        const RtpMonitorCounters& c = monitor_.counters();
        for (int i = 0; i < kDatagramOutcomeCount; ++i) analysis_.outcomes[i] += c.outcomes[i];
        analysis_.streams_refused = c.streams_refused;
        for (std::size_t i = 0; i < analysis_.streams.size(); ++i) {
            auto it = reorder_.find(analysis_.streams[i].ssrc);
            if (it != reorder_.end()) analysis_.streams[i].reordered = it->second.reordered;
        }
        // Every stream is complete: now the audio files may appear.
        for (std::size_t i = 0; i < writers_.size(); ++i)
            if (writers_[i]) writers_[i]->commit();
        return std::move(analysis_);
    }

private:
    const std::filesystem::path path_;
    const CaptureOptions& options_;
    const std::optional<std::set<StreamKey>> only_;  // auto-detection's verdict; none: all of the types
    CaptureAnalysis analysis_;
    std::vector<std::unique_ptr<AudioFileWriter>> writers_;  // by stream serial
    std::map<std::uint32_t, Reorder> reorder_;
    std::string failure_;  // the first error inside a sink (sinks must not throw)
    double last_time_s_ = 0;
    RtpMonitor monitor_;

    RtpMonitorConfig monitor_config(const std::vector<int>& payload_types) const {
        RtpMonitorConfig c;
        c.opus_payload_types = payload_types;
        c.max_streams = options_.max_streams;
        // A capture is analysed to its end: a pause never ends a stream.
        c.idle_s = 86400.0;
        c.probe.analysis = options_.analysis;
        return c;
    }

    RtpMonitorSinks sinks() {
        RtpMonitorSinks s;
        s.context = this;
        s.stream_started = [](void* c, const RtpStream& stream) {
            static_cast<CaptureRun*>(c)->guard([&](CaptureRun& run) { run.started(stream); });
        };
        s.event = [](void* c, const RtpStream& stream, const SibilantEventResult& event, double) {
            static_cast<CaptureRun*>(c)->guard([&](CaptureRun& run) {
                run.analysis_.streams[std::size_t(stream.serial())].result.events.push_back(event);
            });
        };
        s.pcm = [](void* c, const RtpStream& stream, const PcmBlock& block) {
            static_cast<CaptureRun*>(c)->guard([&](CaptureRun& run) {
                if (auto& writer = run.writers_[std::size_t(stream.serial())])
                    writer->write(std::span<const float>(block.samples, std::size_t(block.frames)));
            });
        };
        s.stream_ended = [](void* c, const RtpStream& stream, StreamEnd) {
            static_cast<CaptureRun*>(c)->guard([&](CaptureRun& run) { run.ended(stream); });
        };
        return s;
    }

    // Runs a sink's work, keeping the first exception for after push().
    template <class F>
    void guard(F&& work) noexcept {
        if (!failure_.empty()) return;
        try {
            work(*this);
        } catch (const std::exception& e) {
            failure_ = e.what();
        } catch (...) {
            failure_ = "unknown error";
        }
        if (failure_.empty()) return;
        // Nothing more is written once something failed.
        for (auto& w : writers_) w.reset();
    }

    void rethrow() const {
        if (!failure_.empty()) throw Error(path_.string() + ": " + failure_);
    }

    void started(const RtpStream& stream) {
        CaptureStream s;
        s.ssrc = stream.ssrc();
        s.source = stream.remote();
        s.payload_type = stream.payload_type();
        s.first_packet_unix_s = stream.first_arrival_s();
        s.result.mode = "no-reference";
        s.result.degraded = path_.string() + "#ssrc=" + hex_ssrc(stream.ssrc());
        std::unique_ptr<AudioFileWriter> writer;
        if (!options_.write_audio_dir.empty()) {
            s.audio_file = options_.write_audio_dir /
                           (path_.stem().string() + "-ssrc-" + hex_ssrc(stream.ssrc()).substr(2) + ".wav");
            writer = std::make_unique<AudioFileWriter>(s.audio_file.string(), kInternalRateHz, SampleFormat::Pcm16);
        }
        // Serials count from 0 in creation order: the index of both vectors.
        analysis_.streams.push_back(std::move(s));
        writers_.push_back(std::move(writer));
    }

    void ended(const RtpStream& stream) {
        CaptureStream& s = analysis_.streams[std::size_t(stream.serial())];
        const Probe& probe = stream.probe();
        s.last_packet_unix_s = stream.last_arrival_s();
        s.packets = probe.packet_stats();
        s.result.summary = probe.summary();
        s.result.degraded_bandwidth_hz = probe.status().degraded_bandwidth_hz;
        const auto timeline = probe.timeline();
        s.timeline.assign(timeline.begin(), timeline.end());
    }

    void take(const io::CapturedDatagram& d) {
        // Capture times can step back (pcapng files merged from several
        // interfaces); the monitor's clock must not.
        last_time_s_ = std::max(last_time_s_, d.time_s);
        RtpHeader h;
        const bool rtp = parse_rtp(d.payload, h) == RtpParseResult::Ok;
        if (rtp && only_ && is_dynamic(h.payload_type) && !only_->count({h.ssrc, h.payload_type})) {
            ++analysis_.outcomes[int(DatagramOutcome::NotOpus)];
            return;
        }
        const bool opus_type = rtp && std::find(analysis_.payload_types.begin(), analysis_.payload_types.end(),
                                                h.payload_type) != analysis_.payload_types.end();
        if (!opus_type) {
            push(d.payload, d.source, d.destination, last_time_s_, d.frame);
            return;
        }
        auto [it, added] = reorder_.try_emplace(h.ssrc);
        Reorder& window = it->second;
        if (added) window.source = d.source;
        std::int64_t sequence = window.extend(h.sequence);
        if (window.source == d.source && window.released - sequence > kRestartPackets) {
            // Far behind what was played out: the sender restarted its
            // sequence numbers. The decoder sees the restart in order.
            while (!window.held.empty()) release(window);
            window.highest = window.released = -1;
            sequence = window.extend(h.sequence);
        }
        if (!(window.source == d.source) || sequence <= window.released) {
            // Another sender's SSRC, or too late for the window: as it came.
            push(d.payload, d.source, d.destination, last_time_s_, d.frame);
            return;
        }
        if (sequence < window.highest) ++window.reordered;
        window.highest = std::max(window.highest, sequence);
        window.held.push_back({sequence, std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()), d.destination,
                               last_time_s_, d.frame});
        std::push_heap(window.held.begin(), window.held.end(), Reorder::later);
        if (window.held.size() > std::size_t(options_.reorder_packets)) release(window);
    }

    void release(Reorder& window) {
        std::pop_heap(window.held.begin(), window.held.end(), Reorder::later);
        Reorder::Held packet = std::move(window.held.back());
        window.held.pop_back();
        window.released = packet.sequence;
        push(packet.datagram, window.source, packet.destination, packet.time_s, packet.frame);
    }

    void push(std::span<const std::uint8_t> datagram, const RemoteEndpoint& from, const RemoteEndpoint& to,
              double time_s, std::int64_t frame) {
        const std::size_t before = analysis_.streams.size();
        monitor_.push(datagram, from, time_s);
        rethrow();
        if (analysis_.streams.size() > before) {
            analysis_.streams.back().destination = to;
            analysis_.streams.back().first_frame = frame;
        }
    }
};

}  // namespace

void validate(const CaptureOptions& o) {
    for (int pt : o.payload_types)
        if (pt < 0 || pt > 127)
            throw Error("payload type " + std::to_string(pt) + " is outside the RTP range [0, 127]");
    if (o.max_streams < 1 || o.max_streams > 100000)
        throw Error("max streams " + std::to_string(o.max_streams) + " is outside [1, 100000]");
    if (o.reorder_packets < 1 || o.reorder_packets > 10000)
        throw Error("reorder window " + std::to_string(o.reorder_packets) + " packets is outside [1, 10000]");
    if (!o.write_audio_dir.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(o.write_audio_dir, ec))
            throw Error(o.write_audio_dir.string() + ": no such folder (for the decoded audio)");
    }
}

CaptureAnalysis analyze_capture(const std::filesystem::path& path, const CaptureOptions& options) {
    validate(options);
    std::vector<int> payload_types = options.payload_types;
    std::optional<std::set<StreamKey>> only;
    if (payload_types.empty()) {
        only = detect_opus(path);
        for (const auto& [ssrc, pt] : *only) payload_types.push_back(pt);
        // Nothing found: every dynamic type, all of whose packets the filter
        // then counts as not Opus.
        if (payload_types.empty())
            for (int pt = kFirstDynamicType; pt <= kLastDynamicType; ++pt) payload_types.push_back(pt);
    }
    std::sort(payload_types.begin(), payload_types.end());
    payload_types.erase(std::unique(payload_types.begin(), payload_types.end()), payload_types.end());
    CaptureRun run(path, options, payload_types, std::move(only));
    CaptureAnalysis analysis = run.run();
    if (!options.payload_types.empty() || !analysis.streams.empty()) return analysis;
    analysis.payload_types.clear();  // auto-detection found none
    return analysis;
}

bool is_capture_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::array<unsigned char, 4> m{};
    if (!in.read(reinterpret_cast<char*>(m.data()), 4)) return false;
    const std::uint32_t be = (std::uint32_t(m[0]) << 24) | (std::uint32_t(m[1]) << 16) | (std::uint32_t(m[2]) << 8) | m[3];
    return be == 0xa1b2c3d4 || be == 0xd4c3b2a1 ||  // pcap, microseconds
           be == 0xa1b23c4d || be == 0x4d3cb2a1 ||  // pcap, nanoseconds
           be == 0x0a0d0d0a;                        // pcapng section header
}

std::string describe_capture(const CaptureAnalysis& a) {
    const std::size_t n = a.streams.size();
    std::string out = n == 0 ? "no RTP/Opus stream found in " + a.capture + ": "
                             : a.capture + ": " + std::to_string(n) + " RTP/Opus stream" + (n == 1 ? "" : "s") + "; ";
    out += std::to_string(a.read.udp_datagrams) + " UDP datagrams";
    if (a.read.udp_datagrams > 0) {
        out += " (";
        bool first = true;
        for (int i = 0; i < kDatagramOutcomeCount; ++i) append(out, a.outcomes[i], to_string(DatagramOutcome(i)), first);
        out += ")";
    }
    out += " in " + std::to_string(a.read.frames) + " frames";
    bool first = true;
    std::string skipped;
    append(skipped, a.read.skipped_non_ip, "non-IP", first);
    append(skipped, a.read.skipped_non_udp, "non-UDP", first);
    append(skipped, a.read.skipped_fragments, "IP fragments", first);
    append(skipped, a.read.skipped_truncated, "truncated", first);
    if (!skipped.empty()) out += "; skipped frames: " + skipped;
    if (a.payload_types.empty()) {
        out += "; no SSRC on a dynamic payload type (96-127) carried Opus";
    } else {
        out += "; payload types";
        for (std::size_t i = 0; i < a.payload_types.size(); ++i) out += (i ? ", " : " ") + std::to_string(a.payload_types[i]);
    }
    if (a.streams_refused > 0) out += "; " + std::to_string(a.streams_refused) + " SSRCs beyond the stream limit not analysed";
    // The full reason (libpcap's words) is in read.stop_reason.
    if (a.read.stopped_early) out += "; the file is cut short after frame " + std::to_string(a.read.frames);
    return out;
}

std::string to_json(const CaptureAnalysis& a, const CaptureStream& s) {
    using pipeline::json;
    using pipeline::rounded;
    json timeline = json::array();
    for (const TocChange& t : s.timeline) timeline.push_back({{"time_s", rounded(t.time_s, 3)}, {"change", describe(t)}});
    const OpusPacketStats& p = s.packets;
    json j = pipeline::result_json(s.result);
    j["rtp"] = {{"capture", a.capture},
                {"ssrc", hex_ssrc(s.ssrc)},
                {"source", endpoint_text(s.source)},
                {"destination", endpoint_text(s.destination)},
                {"payload_type", s.payload_type},
                {"first_packet_unix_s", rounded(s.first_packet_unix_s, 6)},
                {"last_packet_unix_s", rounded(s.last_packet_unix_s, 6)},
                {"first_frame", s.first_frame},
                {"audio_s", rounded(p.pcm_s, 3)},
                {"concealed_s", rounded(p.concealed_s, 3)},
                {"packets",
                 {{"received", p.packets_received},
                  {"decoded", p.packets_decoded},
                  {"lost", p.packets_lost},
                  {"fec_recovered", p.fec_recovered},
                  {"plc", p.plc_packets},
                  {"late", p.late},
                  {"duplicate", p.duplicate},
                  {"malformed", p.malformed},
                  {"restarts", p.restarts},
                  {"reordered", s.reordered}}},
                {"timeline", timeline},
                {"audio_file", s.audio_file.empty() ? json(nullptr) : json(s.audio_file.string())}};
    return j.dump();
}

}  // namespace sibilant

namespace sibilant {

std::string capture_error_json(const std::string& capture, const std::string& message) {
    const pipeline::json record = {{"reference", nullptr}, {"degraded", capture}, {"error", message}};
    // Paths need not be UTF-8; replace bad bytes rather than fail the record.
    return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sibilant
