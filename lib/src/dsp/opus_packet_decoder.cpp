// OpusPacketDecoder: received Opus packets -> concealed, decoded PCM and a
// TOC timeline (see sibilant/opus_packets.hpp).
//
// Concealment follows libopus 1.3.1's opus_demo: when packets are missing and
// the packet that ends the gap carries LBRR data, opus_demo asks for the lost
// duration with decode_fec=1, and libopus runs PLC on all but the last frame
// and rebuilds that frame from the LBRR. We make the same two steps as two
// calls, so that the sink can be told which samples are PLC and which FEC;
// libopus produces the same samples either way.
//
// Stream position: the decoder remembers the key (sequence number or 48 kHz
// timestamp) of the newest packet it accepted and the duration of that
// packet. A packet's key relative to that says whether it is late, a
// duplicate, next, after a gap, or so far off that the stream restarted.
// A packet that turns out malformed does not move the position, so its audio
// is concealed when the next good packet arrives.
#include "sibilant/opus_packets.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <vector>

#include "dsp/opus_handles.hpp"
#include "dsp/opus_lbrr.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace {

constexpr int kRtpRateHz = 48000;   // RFC 7587: Opus RTP timestamps are always 48 kHz
constexpr int kMaxPacketMs = 120;   // longest Opus packet (RFC 6716 section 3.2.5)

enum class Keying { None, Sequence, Timestamp };

std::string number_text(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

std::string seconds_text(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 2);
    return std::string(buffer, result.ptr);
}

std::string bandwidth_label(Bandwidth value) {
    std::string text = to_string(value);
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string toc_text(const TocInfo& toc) {
    return std::string(to_string(toc.mode)) + " " + bandwidth_label(toc.bandwidth) + ", " +
           number_text(toc.frame_ms) + " ms x " + std::to_string(toc.frames_per_packet) + ", " +
           (toc.stereo ? "stereo" : "mono");
}

bool same_toc(const TocInfo& a, const TocInfo& b) {
    return a.mode == b.mode && a.bandwidth == b.bandwidth && a.frame_ms == b.frame_ms &&
           a.frames_per_packet == b.frames_per_packet && a.stereo == b.stereo;
}

// What push() needs to know about a packet that passed the checks.
struct ParsedPacket {
    const unsigned char* data = nullptr;
    int bytes = 0;
    TocInfo toc;
    int frames = 0;            // samples per channel at the output rate, whole packet
    int frame_frames = 0;      // the same for one Opus frame
    bool lbrr = false;
};

}  // namespace

// ---------------------------------------------------------------- names

const char* to_string(PcmSource value) {
    switch (value) {
    case PcmSource::Decoded: return "decoded";
    case PcmSource::Fec: return "fec";
    case PcmSource::Plc: return "plc";
    }
    return "unknown";
}

const char* to_string(PacketOutcome value) {
    switch (value) {
    case PacketOutcome::Decoded: return "decoded";
    case PacketOutcome::Restarted: return "restarted";
    case PacketOutcome::Late: return "late";
    case PacketOutcome::Duplicate: return "duplicate";
    case PacketOutcome::Malformed: return "malformed";
    }
    return "unknown";
}

void validate(const OpusPacketDecoderConfig& config) {
    const int rate = config.output_rate_hz;
    if (rate != 8000 && rate != 12000 && rate != 16000 && rate != 24000 && rate != 48000)
        throw Error("output_rate_hz " + std::to_string(rate) + " is not one of 8000, 12000, 16000, 24000, 48000");
    if (config.channels != 1 && config.channels != 2)
        throw Error("channels " + std::to_string(config.channels) + " is not 1 or 2");
    if (!(config.max_gap_ms >= 0.0 && config.max_gap_ms <= 60000.0))
        throw Error("max_gap_ms " + number_text(config.max_gap_ms) + " is outside [0, 60000]");
    if (config.timeline_capacity < 1 || config.timeline_capacity > 65536)
        throw Error("timeline_capacity " + std::to_string(config.timeline_capacity) + " is outside [1, 65536]");
    if (config.max_misorder_packets < 1 || config.max_misorder_packets > 30000)
        throw Error("max_misorder_packets " + std::to_string(config.max_misorder_packets) +
                    " is outside [1, 30000]");
}

std::string describe(const TocChange& change) {
    const std::string at = " at " + seconds_text(change.time_s) + " s";
    if (change.kind == TocChangeKind::Start) return "stream starts as " + toc_text(change.current) + at;
    if (change.kind == TocChangeKind::Restart) return "stream restarted as " + toc_text(change.current) + at;

    const TocInfo& a = change.previous;
    const TocInfo& b = change.current;
    std::string text;
    auto add = [&text](const std::string& part) { text += (text.empty() ? "" : " and ") + part; };
    if (a.mode != b.mode)
        add(std::string("mode changed from ") + to_string(a.mode) + " to " + to_string(b.mode));
    if (a.bandwidth != b.bandwidth)
        add(std::string("bandwidth ") + (bandwidth_hz(b.bandwidth) < bandwidth_hz(a.bandwidth) ? "dropped" : "rose") +
            " from " + bandwidth_label(a.bandwidth) + " to " + bandwidth_label(b.bandwidth));
    if (a.frame_ms != b.frame_ms)
        add("frame size changed from " + number_text(a.frame_ms) + " to " + number_text(b.frame_ms) + " ms");
    if (a.frames_per_packet != b.frames_per_packet)
        add("frames per packet changed from " + std::to_string(a.frames_per_packet) + " to " +
            std::to_string(b.frames_per_packet));
    if (a.stereo != b.stereo)
        add(std::string("channels changed from ") + (a.stereo ? "stereo" : "mono") + " to " +
            (b.stereo ? "stereo" : "mono"));
    if (text.empty()) text = "TOC unchanged (" + toc_text(b) + ")";
    return text + at;
}

// ---------------------------------------------------------------- decoder

struct OpusPacketDecoder::Impl {
    OpusPacketDecoderConfig config;
    dsp::OpusDecoderHandle decoder;
    int max_frames = 0;           // 120 ms at the output rate
    int rtp_per_frame = 1;        // 48 kHz timestamp units per output sample
    int frames_per_2_5_ms = 0;    // PLC and FEC lengths must be multiples of this
    std::vector<float> pcm;       // max_frames * channels
    std::vector<TocChange> timeline;  // capacity fixed at construction
    OpusPacketStats stats;

    // Stream position (see the comment at the top of the file).
    Keying keying = Keying::None;
    std::uint32_t last_key = 0;       // sequence (low 16 bits) or 48 kHz timestamp
    int last_frames = 0;              // duration of the newest accepted packet, output samples
    bool decoder_in_celt = false;     // libopus ignores FEC when its last frame was CELT
    bool probation = false;           // a far-off packet was seen; a follower confirms a restart
    std::uint32_t probation_key = 0;
    int probation_frames = 0;
    TocInfo last_toc;
    bool have_toc = false;

    explicit Impl(const OpusPacketDecoderConfig& c) : config(c) {
        int error = OPUS_OK;
        decoder.reset(opus_decoder_create(config.output_rate_hz, config.channels, &error));
        if (error != OPUS_OK || !decoder)
            throw Error(std::string("libopus opus_decoder_create failed: ") + opus_strerror(error));
        max_frames = config.output_rate_hz / 1000 * kMaxPacketMs;
        rtp_per_frame = kRtpRateHz / config.output_rate_hz;
        frames_per_2_5_ms = config.output_rate_hz / 400;
        pcm.assign(static_cast<std::size_t>(max_frames) * static_cast<std::size_t>(config.channels), 0.0f);
        timeline.reserve(static_cast<std::size_t>(config.timeline_capacity));
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void reset() noexcept {
        opus_decoder_ctl(decoder.get(), OPUS_RESET_STATE);
        timeline.clear();  // keeps the capacity
        stats = OpusPacketStats{};
        keying = Keying::None;
        last_key = 0;
        last_frames = 0;
        decoder_in_celt = false;
        probation = false;
        have_toc = false;
    }

    // Checks a packet without decoding it. False: malformed.
    bool parse(std::span<const std::uint8_t> packet, ParsedPacket& out) const noexcept {
        if (packet.empty() || packet.size() > kMaxPacketBytes) return false;
        if (!parse_toc(packet, out.toc)) return false;
        const auto* data = reinterpret_cast<const unsigned char*>(packet.data());
        const int bytes = static_cast<int>(packet.size());
        const unsigned char* frames[48];
        opus_int16 sizes[48];
        // Checks the whole framing (frame count, lengths, padding) as
        // opus_decode would, without decoding.
        const int count = opus_packet_parse(data, bytes, nullptr, frames, sizes, nullptr);
        if (count <= 0) return false;
        const int total = opus_packet_get_nb_samples(data, bytes, config.output_rate_hz);
        const int per_frame = opus_packet_get_samples_per_frame(data, config.output_rate_hz);
        if (total <= 0 || total > max_frames || per_frame <= 0) return false;
        out.data = data;
        out.bytes = bytes;
        out.frames = total;
        out.frame_frames = per_frame;
        out.lbrr = dsp::has_lbrr(out.toc, frames[0], sizes[0]);
        return true;
    }

    void emit(const PcmSink& sink, int frames, PcmSource source) noexcept {
        const double time_s = static_cast<double>(stats.samples_out) / config.output_rate_hz;
        stats.samples_out += frames;
        stats.pcm_s = static_cast<double>(stats.samples_out) / config.output_rate_hz;
        if (source != PcmSource::Decoded) stats.concealed_s += static_cast<double>(frames) / config.output_rate_hz;
        if (!sink.function) return;
        PcmBlock block;
        block.samples = pcm.data();
        block.frames = frames;
        block.channels = config.channels;
        block.rate_hz = config.output_rate_hz;
        block.time_s = time_s;
        block.source = source;
        sink.function(sink.context, block);
    }

    // PLC for `frames` output samples (a multiple of 2.5 ms), in pieces that
    // fit the buffer.
    void plc(std::int64_t frames, const PcmSink& sink) noexcept {
        while (frames > 0) {
            const int n = static_cast<int>(std::min<std::int64_t>(frames, max_frames));
            const int got = opus_decode_float(decoder.get(), nullptr, 0, pcm.data(), n, 0);
            if (got <= 0) return;  // cannot happen for a valid length; stop rather than spin
            emit(sink, got, PcmSource::Plc);
            frames -= got;
        }
    }

    // Fills a gap of `missing_frames` (a multiple of 2.5 ms) standing for
    // `lost_packets` packets, just before `next`.
    void conceal(std::int64_t missing_frames, std::int64_t lost_packets, const ParsedPacket& next,
                 const PcmSink& sink) noexcept {
        if (missing_frames <= 0) return;
        // As opus_demo: the last lost frame is asked of the next packet with
        // decode_fec=1 whenever libopus might use it. libopus then decodes the
        // LBRR if the packet has some, else runs PLC; so a packet without LBRR
        // counts as PLC. The conditions are those of opus_decode_native.
        const bool try_fec = next.toc.mode != CodecMode::Celt && !decoder_in_celt &&
                             missing_frames >= next.frame_frames;
        plc(try_fec ? missing_frames - next.frame_frames : missing_frames, sink);
        bool recovered = false;
        if (try_fec) {
            const int got = opus_decode_float(decoder.get(), next.data, next.bytes, pcm.data(), next.frame_frames, 1);
            if (got > 0) {
                recovered = next.lbrr;
                emit(sink, got, recovered ? PcmSource::Fec : PcmSource::Plc);
                decoder_in_celt = false;
            } else {
                plc(next.frame_frames, sink);
            }
        }
        stats.packets_lost += lost_packets;
        stats.fec_recovered += recovered ? 1 : 0;
        stats.plc_packets += lost_packets - (recovered ? 1 : 0);
    }

    void note_toc(TocChangeKind kind, const TocInfo& toc, std::int64_t packet_index) noexcept {
        if (kind == TocChangeKind::Change && have_toc && same_toc(toc, last_toc)) return;
        if (kind == TocChangeKind::Change && !have_toc) kind = TocChangeKind::Start;
        TocChange entry;
        entry.kind = kind;
        entry.time_s = static_cast<double>(stats.samples_out) / config.output_rate_hz;
        entry.packet = packet_index;
        if (have_toc) entry.previous = last_toc;
        entry.current = toc;
        if (timeline.size() < timeline.capacity())
            timeline.push_back(entry);  // within the reserved capacity: no allocation
        else
            ++stats.timeline_dropped;
        last_toc = toc;
        have_toc = true;
    }

    // Decodes an accepted packet at the current position. False: libopus
    // refused it (the position is then left just before it).
    bool decode(const ParsedPacket& packet, TocChangeKind kind, std::int64_t packet_index,
                const PcmSink& sink) noexcept {
        const int got = opus_decode_float(decoder.get(), packet.data, packet.bytes, pcm.data(), max_frames, 0);
        if (got <= 0) return false;
        note_toc(kind, packet.toc, packet_index);
        emit(sink, got, PcmSource::Decoded);
        ++stats.packets_decoded;
        ++stats.mode_packets[static_cast<int>(packet.toc.mode)];
        ++stats.bandwidth_packets[static_cast<int>(packet.toc.bandwidth)];
        decoder_in_celt = packet.toc.mode == CodecMode::Celt;
        last_frames = got;
        return true;
    }

    // The duration of the newest packet, in key units.
    std::uint32_t key_span(Keying k, int frames) const noexcept {
        return k == Keying::Sequence ? 1u : static_cast<std::uint32_t>(frames) * static_cast<std::uint32_t>(rtp_per_frame);
    }

    bool gap_too_long(std::int64_t missing_frames) const noexcept {
        return static_cast<double>(missing_frames) * 1000.0 / config.output_rate_hz > config.max_gap_ms;
    }

    PacketOutcome start(Keying k, std::uint32_t key, const ParsedPacket& packet, bool restart,
                        std::int64_t packet_index, const PcmSink& sink) noexcept {
        if (restart) {
            opus_decoder_ctl(decoder.get(), OPUS_RESET_STATE);
            decoder_in_celt = false;
            ++stats.restarts;
        }
        probation = false;
        if (!decode(packet, restart ? TocChangeKind::Restart : TocChangeKind::Start, packet_index, sink)) {
            ++stats.malformed;
            // After a reset there is nothing to continue from: the next good
            // packet starts the stream again.
            keying = Keying::None;
            return PacketOutcome::Malformed;
        }
        keying = k;
        last_key = key;
        return restart ? PacketOutcome::Restarted : PacketOutcome::Decoded;
    }

    PacketOutcome push(Keying k, std::uint32_t key, std::span<const std::uint8_t> bytes,
                       const PcmSink& sink) noexcept {
        const std::int64_t packet_index = stats.packets_received++;
        if (k == Keying::Sequence) key &= 0xFFFFu;
        ParsedPacket packet;
        if (!parse(bytes, packet) || (keying != Keying::None && keying != k)) {
            ++stats.malformed;
            return PacketOutcome::Malformed;
        }
        if (keying == Keying::None) return start(k, key, packet, stats.packets_decoded > 0, packet_index, sink);

        // Distance from the newest accepted packet, in key units, with wrap.
        const std::int64_t distance = k == Keying::Sequence
                                          ? static_cast<std::int16_t>(static_cast<std::uint16_t>(key - last_key))
                                          : static_cast<std::int32_t>(key - last_key);
        const std::int64_t last_span = key_span(k, last_frames);
        if (distance == 0) {
            ++stats.duplicate;
            return PacketOutcome::Duplicate;
        }
        if (distance < 0) {
            // Within the reorder window: a late packet. Beyond it: a stray
            // packet or a sender that restarted its numbering; the next
            // packet tells which (RFC 3550 appendix A.1 does the same).
            const bool far = -distance > last_span * config.max_misorder_packets;
            const std::uint32_t wrap_mask = k == Keying::Sequence ? 0xFFFFu : 0xFFFFFFFFu;
            if (far && probation && ((key - probation_key) & wrap_mask) == key_span(k, probation_frames))
                return start(k, key, packet, true, packet_index, sink);
            if (far) {
                probation = true;
                probation_key = key;
                probation_frames = packet.frames;
            }
            ++stats.late;
            return PacketOutcome::Late;
        }

        // Forward: the gap between the end of the newest packet and this one.
        std::int64_t lost_packets = 0;
        std::int64_t missing_frames = 0;
        if (k == Keying::Sequence) {
            lost_packets = distance - 1;
            missing_frames = lost_packets * last_frames;
        } else {
            const std::int64_t gap_rtp = distance - last_span;
            if (gap_rtp > 0) {
                // To whole 2.5 ms steps, as PLC needs; a sub-step offset is
                // sender jitter, not loss.
                const std::int64_t step_rtp = static_cast<std::int64_t>(frames_per_2_5_ms) * rtp_per_frame;
                missing_frames = (gap_rtp + step_rtp / 2) / step_rtp * frames_per_2_5_ms;
                lost_packets = missing_frames > 0 ? (gap_rtp + last_span - 1) / last_span : 0;
            }
        }
        if (gap_too_long(missing_frames)) return start(k, key, packet, true, packet_index, sink);

        probation = false;
        conceal(missing_frames, lost_packets, packet, sink);
        if (!decode(packet, TocChangeKind::Change, packet_index, sink)) {
            // The gap is filled up to this packet; its own audio will be
            // concealed when the next one comes.
            ++stats.malformed;
            last_key = key - static_cast<std::uint32_t>(key_span(k, last_frames));
            return PacketOutcome::Malformed;
        }
        last_key = key;
        return PacketOutcome::Decoded;
    }
};

OpusPacketDecoder::OpusPacketDecoder(const OpusPacketDecoderConfig& config) {
    validate(config);
    impl_ = std::make_unique<Impl>(config);
}

OpusPacketDecoder::~OpusPacketDecoder() = default;
OpusPacketDecoder::OpusPacketDecoder(OpusPacketDecoder&&) noexcept = default;
OpusPacketDecoder& OpusPacketDecoder::operator=(OpusPacketDecoder&&) noexcept = default;

PacketOutcome OpusPacketDecoder::push(std::uint32_t sequence, std::span<const std::uint8_t> packet,
                                      PcmSink sink) noexcept {
    return impl_->push(Keying::Sequence, sequence, packet, sink);
}

PacketOutcome OpusPacketDecoder::push_timestamped(std::uint32_t rtp_timestamp_48k,
                                                  std::span<const std::uint8_t> packet, PcmSink sink) noexcept {
    return impl_->push(Keying::Timestamp, rtp_timestamp_48k, packet, sink);
}

void OpusPacketDecoder::reset() noexcept { impl_->reset(); }

void OpusPacketDecoder::clear_timeline() noexcept { impl_->timeline.clear(); }

const OpusPacketDecoderConfig& OpusPacketDecoder::config() const noexcept { return impl_->config; }

const OpusPacketStats& OpusPacketDecoder::stats() const noexcept { return impl_->stats; }

std::span<const TocChange> OpusPacketDecoder::timeline() const noexcept { return impl_->timeline; }

}  // namespace sibilant
