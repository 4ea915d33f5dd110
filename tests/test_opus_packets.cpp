// OpusPacketDecoder (sibilant/opus_packets.hpp): received packets against a
// bare libopus decoder fed the same calls, concealment (PLC and FEC), RTP
// sequence and timestamp handling, malformed input, the TOC timeline, and no
// allocation in push().
#include <gtest/gtest.h>

#include <opus/opus.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sibilant/error.hpp"
#include "sibilant/opus_packets.hpp"
#include "test_support.hpp"

namespace sibilant::test {
// Counts operator new calls on this thread while `work` runs; defined with the
// replaced global operator new in test_stft.cpp.
std::size_t allocations_during(const std::function<void()>& work);
}  // namespace sibilant::test

namespace sibilant {
namespace {

using Packet = std::vector<std::uint8_t>;
constexpr int kRate = 48000;
constexpr int kFrame = 960;  // 20 ms

struct EncoderOptions {
    int application = OPUS_APPLICATION_VOIP;
    int bitrate_bps = 32000;
    int channels = 1;
    bool fec = false;
    int loss_pct = 0;
    // Called before encoding packet `index`, to change settings mid-stream.
    std::function<void(OpusEncoder*, int index)> before_packet;
};

std::vector<Packet> encode(const std::vector<float>& signal, const EncoderOptions& o) {
    int err = 0;
    OpusEncoder* enc = opus_encoder_create(kRate, o.channels, o.application, &err);
    EXPECT_EQ(err, OPUS_OK);
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(o.bitrate_bps));
    opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(o.fec ? 1 : 0));
    opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(o.loss_pct));
    std::vector<Packet> packets;
    std::vector<float> frame(static_cast<std::size_t>(kFrame * o.channels));
    const std::size_t frames = signal.size() / kFrame;
    for (std::size_t k = 0; k < frames; ++k) {
        if (o.before_packet) o.before_packet(enc, static_cast<int>(k));
        for (int i = 0; i < kFrame; ++i)
            for (int c = 0; c < o.channels; ++c)  // stereo: the right channel a bit quieter
                frame[static_cast<std::size_t>(i * o.channels + c)] =
                    signal[k * kFrame + static_cast<std::size_t>(i)] * (c == 0 ? 1.0f : 0.5f);
        Packet p(1500);
        const int n = opus_encode_float(enc, frame.data(), kFrame, p.data(), 1500);
        EXPECT_GT(n, 0);
        p.resize(static_cast<std::size_t>(n));
        packets.push_back(std::move(p));
    }
    opus_encoder_destroy(enc);
    return packets;
}

// A bare libopus decoder: the reference the tests compare against.
struct Reference {
    OpusDecoder* dec = nullptr;
    int channels = 1;
    std::vector<float> pcm;
    std::vector<float> buffer = std::vector<float>(5760 * 2);
    explicit Reference(int channel_count = 1) : channels(channel_count) {
        int err = 0;
        dec = opus_decoder_create(kRate, channels, &err);
    }
    ~Reference() { opus_decoder_destroy(dec); }
    void run(const std::uint8_t* data, int len, int frames, int fec) {
        const int n = opus_decode_float(dec, data, len, buffer.data(), frames, fec);
        ASSERT_GT(n, 0);
        pcm.insert(pcm.end(), buffer.begin(), buffer.begin() + n * channels);
    }
    void decode(const Packet& p) { run(p.data(), static_cast<int>(p.size()), 5760, 0); }
    void plc(int frames) { run(nullptr, 0, frames, 0); }
    void fec(const Packet& p, int frames) { run(p.data(), static_cast<int>(p.size()), frames, 1); }
};

// Collects everything the decoder hands to its sink.
struct Collector {
    std::vector<float> pcm;
    std::vector<PcmBlock> blocks;  // `samples` is dangling after the call; only the other fields are used
    void operator()(const PcmBlock& b) {
        pcm.insert(pcm.end(), b.samples, b.samples + b.frames * b.channels);
        blocks.push_back(b);
    }
    PcmSink sink() { return PcmSink::of(*this); }
    int frames_from(PcmSource source) const {
        int n = 0;
        for (const auto& b : blocks) n += b.source == source ? b.frames : 0;
        return n;
    }
};

std::span<const std::uint8_t> bytes(const Packet& p) { return {p.data(), p.size()}; }

std::vector<Packet> speech_packets(double seconds, const EncoderOptions& o = {}) {
    return encode(test::speech_like(seconds, kRate, 3), o);
}

// ---------------------------------------------------------------- tests

TEST(OpusPacketDecoder, ValidatesConfigNamingTheSetting) {
    auto make = [](auto edit) {
        OpusPacketDecoderConfig c;
        edit(c);
        OpusPacketDecoder d(c);
    };
    test::expect_error([&] { make([](auto& c) { c.output_rate_hz = 44100; }); }, {"output_rate_hz", "44100"});
    test::expect_error([&] { make([](auto& c) { c.channels = 3; }); }, {"channels", "3"});
    test::expect_error([&] { make([](auto& c) { c.max_gap_ms = -1; }); }, {"max_gap_ms", "-1"});
    test::expect_error([&] { make([](auto& c) { c.timeline_capacity = 0; }); }, {"timeline_capacity"});
    test::expect_error([&] { make([](auto& c) { c.max_misorder_packets = 0; }); }, {"max_misorder_packets"});
    EXPECT_NO_THROW(make([](auto& c) { c.output_rate_hz = 16000; }));
}

TEST(OpusPacketDecoder, CleanStreamEqualsOpusDecodeSampleForSample) {
    const auto packets = speech_packets(2.0);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    for (std::size_t k = 0; k < packets.size(); ++k) {
        const auto outcome = decoder.push(static_cast<std::uint32_t>(1000 + k), bytes(packets[k]), out.sink());
        EXPECT_EQ(outcome, PacketOutcome::Decoded);
        ref.decode(packets[k]);
    }
    ASSERT_EQ(out.pcm.size(), ref.pcm.size());
    EXPECT_EQ(out.pcm, ref.pcm);
    const auto& s = decoder.stats();
    EXPECT_EQ(s.packets_received, 100);
    EXPECT_EQ(s.packets_decoded, 100);
    EXPECT_EQ(s.packets_lost, 0);
    EXPECT_EQ(s.samples_out, 100 * kFrame);
    EXPECT_DOUBLE_EQ(s.pcm_s, 2.0);
    EXPECT_EQ(s.concealed_s, 0.0);
    std::int64_t by_mode = 0, by_bandwidth = 0;
    for (auto n : s.mode_packets) by_mode += n;
    for (auto n : s.bandwidth_packets) by_bandwidth += n;
    EXPECT_EQ(by_mode, 100);
    EXPECT_EQ(by_bandwidth, 100);
    // Block times follow the samples handed out.
    for (std::size_t i = 0; i < out.blocks.size(); ++i) EXPECT_DOUBLE_EQ(out.blocks[i].time_s, static_cast<double>(i) * 0.02);
}

TEST(OpusPacketDecoder, DroppedSequenceNumberIsConcealedWithPlcForItsDuration) {
    const auto packets = speech_packets(1.0);  // no FEC in the stream
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    for (std::size_t k = 0; k < packets.size(); ++k) {
        if (k == 20 || k == 30 || k == 31) {
            if (k != 31) ref.plc(k == 20 ? kFrame : 2 * kFrame);
            continue;
        }
        decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink());
        ref.decode(packets[k]);
    }
    EXPECT_EQ(out.pcm.size(), packets.size() * kFrame);
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(out.frames_from(PcmSource::Plc), 3 * kFrame);
    EXPECT_EQ(out.frames_from(PcmSource::Fec), 0);
    const auto& s = decoder.stats();
    EXPECT_EQ(s.packets_lost, 3);
    EXPECT_EQ(s.plc_packets, 3);
    EXPECT_EQ(s.fec_recovered, 0);
    EXPECT_NEAR(s.concealed_s, 0.06, 1e-12);
    // The concealment sits where packet 20 was.
    const auto first_plc = std::find_if(out.blocks.begin(), out.blocks.end(),
                                        [](const PcmBlock& b) { return b.source == PcmSource::Plc; });
    ASSERT_NE(first_plc, out.blocks.end());
    EXPECT_DOUBLE_EQ(first_plc->time_s, 0.4);
}

TEST(OpusPacketDecoder, FecRecoversTheLostPacketWhenTheNextOneCarriesLbrr) {
    EncoderOptions o;
    o.bitrate_bps = 32000;
    o.fec = true;
    o.loss_pct = 20;
    const auto packets = speech_packets(2.0, o);

    // Find a packet whose loss libopus really repairs from the next one's
    // LBRR: its FEC decode differs from plain PLC. This oracle uses libopus
    // only, not the decoder's own LBRR check.
    std::size_t lost = 0;
    for (std::size_t k = 10; k + 1 < packets.size() && lost == 0; ++k) {
        Reference with_fec, with_plc;
        for (std::size_t j = 0; j < k; ++j) {
            with_fec.decode(packets[j]);
            with_plc.decode(packets[j]);
        }
        with_fec.fec(packets[k + 1], kFrame);
        with_plc.plc(kFrame);
        if (with_fec.pcm != with_plc.pcm) lost = k;
    }
    ASSERT_NE(lost, 0u) << "no packet with usable LBRR at 32 kbps, 20% expected loss";

    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    for (std::size_t k = 0; k < packets.size(); ++k) {
        if (k == lost) continue;
        if (k == lost + 1) ref.fec(packets[k], kFrame);
        ref.decode(packets[k]);
        decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink());
    }
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(out.frames_from(PcmSource::Fec), kFrame);
    EXPECT_EQ(out.frames_from(PcmSource::Plc), 0);
    EXPECT_EQ(decoder.stats().packets_lost, 1);
    EXPECT_EQ(decoder.stats().fec_recovered, 1);
    EXPECT_EQ(decoder.stats().plc_packets, 0);
}

TEST(OpusPacketDecoder, FecCoversTheLastOfSeveralLostPacketsAndPlcTheRest) {
    EncoderOptions o;
    o.bitrate_bps = 32000;
    o.fec = true;
    o.loss_pct = 20;
    const auto packets = speech_packets(2.0, o);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    // Lose packets 40-42 and compare with opus_demo's single FEC call for the
    // whole gap (libopus runs PLC for all but the last frame itself).
    for (std::size_t k = 0; k < packets.size(); ++k) {
        if (k >= 40 && k <= 42) continue;
        if (k == 43) ref.fec(packets[k], 3 * kFrame);
        ref.decode(packets[k]);
        decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink());
    }
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(decoder.stats().packets_lost, 3);
    EXPECT_EQ(decoder.stats().fec_recovered + decoder.stats().plc_packets, 3);
    EXPECT_EQ(out.frames_from(PcmSource::Fec) + out.frames_from(PcmSource::Plc), 3 * kFrame);
}

TEST(OpusPacketDecoder, SixteenBitSequenceWrapsAround) {
    const auto packets = speech_packets(0.6);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    const std::uint32_t first = 65530;
    for (std::size_t k = 0; k < packets.size(); ++k) {
        const std::uint32_t seq = (first + static_cast<std::uint32_t>(k)) & 0xFFFF;
        if (seq == 0) {  // lost right at the wrap: 65535 -> 1 is a gap of one
            ref.plc(kFrame);
            continue;
        }
        EXPECT_EQ(decoder.push(seq, bytes(packets[k]), out.sink()), PacketOutcome::Decoded) << seq;
        ref.decode(packets[k]);
    }
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(decoder.stats().packets_lost, 1);
    EXPECT_EQ(decoder.stats().late, 0);
    EXPECT_EQ(decoder.stats().restarts, 0);

    // A 32-bit counter works too: only its low 16 bits count.
    OpusPacketDecoder counter;
    Collector out32;
    for (std::size_t k = 0; k < 6; ++k)
        EXPECT_EQ(counter.push(0x1FFFDu + static_cast<std::uint32_t>(k), bytes(packets[k]), out32.sink()),
                  PacketOutcome::Decoded);
    EXPECT_EQ(counter.stats().packets_lost, 0);
}

TEST(OpusPacketDecoder, DuplicateLateAndReorderedPacketsAreCountedAndDropped) {
    const auto packets = speech_packets(0.4);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    auto push = [&](std::size_t k) { return decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink()); };
    for (std::size_t k = 0; k < 10; ++k) {
        EXPECT_EQ(push(k), PacketOutcome::Decoded);
        ref.decode(packets[k]);
    }
    const std::size_t before = out.pcm.size();
    EXPECT_EQ(push(9), PacketOutcome::Duplicate);
    EXPECT_EQ(push(5), PacketOutcome::Late);
    EXPECT_EQ(out.pcm.size(), before);
    // Reordered: 11 before 10. 10 is concealed when 11 comes, then dropped.
    EXPECT_EQ(push(11), PacketOutcome::Decoded);
    ref.plc(kFrame);
    ref.decode(packets[11]);
    EXPECT_EQ(push(10), PacketOutcome::Late);
    EXPECT_EQ(push(12), PacketOutcome::Decoded);
    ref.decode(packets[12]);
    EXPECT_EQ(out.pcm, ref.pcm);
    const auto& s = decoder.stats();
    EXPECT_EQ(s.duplicate, 1);
    EXPECT_EQ(s.late, 2);
    EXPECT_EQ(s.packets_lost, 1);
    EXPECT_EQ(s.packets_received, 15);
    EXPECT_EQ(s.packets_decoded, 12);
}

TEST(OpusPacketDecoder, MalformedPacketsAreCountedAndSkippedWithNoOutput) {
    const auto packets = speech_packets(0.4);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    for (std::size_t k = 0; k < 5; ++k) {
        decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink());
        ref.decode(packets[k]);
    }
    const Packet& good = packets[5];
    Packet truncated_code2 = {static_cast<std::uint8_t>((good[0] & 0xFC) | 2), 200, 1, 2};  // first frame 200 bytes, 2 present
    Packet odd_code1 = {static_cast<std::uint8_t>((good[0] & 0xFC) | 1), 1, 2, 3};  // two equal frames from 3 bytes
    Packet code3_no_frames = {static_cast<std::uint8_t>(good[0] | 3), 0};
    Packet code3_too_long = {static_cast<std::uint8_t>(good[0] | 3), 49};  // 49 x 20 ms > 120 ms
    Packet code3_missing_count = {static_cast<std::uint8_t>(good[0] | 3)};
    Packet oversize(OpusPacketDecoder::kMaxPacketBytes + 1, 0x55);
    oversize[0] = good[0];
    const Packet empty;
    const std::vector<const Packet*> bad = {&empty, &truncated_code2, &odd_code1, &code3_no_frames,
                                            &code3_too_long, &code3_missing_count, &oversize};
    for (const Packet* p : bad) {
        EXPECT_EQ(decoder.push(5, bytes(*p), out.sink()), PacketOutcome::Malformed);
    }
    EXPECT_EQ(decoder.stats().malformed, static_cast<std::int64_t>(bad.size()));
    EXPECT_EQ(out.pcm.size(), 5u * kFrame);  // nothing came out

    // The stream goes on where it was: packet 5 is not a duplicate or a gap.
    EXPECT_EQ(decoder.push(5, bytes(good), out.sink()), PacketOutcome::Decoded);
    ref.decode(good);
    // A malformed packet with sequence 6 is concealed when 7 arrives.
    EXPECT_EQ(decoder.push(6, bytes(truncated_code2), out.sink()), PacketOutcome::Malformed);
    EXPECT_EQ(decoder.push(7, bytes(packets[7]), out.sink()), PacketOutcome::Decoded);
    ref.plc(kFrame);
    ref.decode(packets[7]);
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(decoder.stats().packets_lost, 1);
    EXPECT_EQ(decoder.stats().malformed, static_cast<std::int64_t>(bad.size()) + 1);

    // Garbage of every length: never a crash, never more than 120 ms at once.
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
        Packet junk(static_cast<std::size_t>(rng() % 64));
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        Collector junk_out;
        decoder.push(static_cast<std::uint32_t>(rng()), bytes(junk), junk_out.sink());
        for (const auto& b : junk_out.blocks) EXPECT_LE(b.frames, 5760);
    }
    const auto& s = decoder.stats();
    EXPECT_EQ(s.packets_received, s.packets_decoded + s.late + s.duplicate + s.malformed);
}

TEST(OpusPacketDecoder, TimelineReportsForcedBandwidthChangeAtTheRightTime) {
    EncoderOptions o;
    o.application = OPUS_APPLICATION_RESTRICTED_LOWDELAY;  // CELT only: the mode stays put
    o.bitrate_bps = 64000;
    o.before_packet = [](OpusEncoder* enc, int index) {
        if (index == 50) opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
    };
    const auto packets = speech_packets(2.0, o);
    OpusPacketDecoder decoder;
    for (std::size_t k = 0; k < packets.size(); ++k)
        decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), PcmSink{});

    const auto timeline = decoder.timeline();
    ASSERT_EQ(timeline.size(), 2u);
    EXPECT_EQ(timeline[0].kind, TocChangeKind::Start);
    EXPECT_EQ(timeline[0].current.bandwidth, Bandwidth::Fullband);
    EXPECT_EQ(describe(timeline[0]), "stream starts as CELT FB, 20 ms x 1, mono at 0.00 s");
    const TocChange& change = timeline[1];
    EXPECT_EQ(change.kind, TocChangeKind::Change);
    EXPECT_EQ(change.previous.bandwidth, Bandwidth::Fullband);
    EXPECT_EQ(change.current.bandwidth, Bandwidth::Wideband);
    EXPECT_EQ(change.current.mode, CodecMode::Celt);
    // The encoder was told at 1.00 s; the change is reported within a packet.
    EXPECT_NEAR(change.time_s, 1.0, 0.02 + 1e-9);
    EXPECT_DOUBLE_EQ(change.time_s, static_cast<double>(change.packet) * 0.02);
    EXPECT_EQ(describe(change), "bandwidth dropped from FB to WB at 1.00 s");
    EXPECT_EQ(decoder.stats().bandwidth_packets[static_cast<int>(Bandwidth::Wideband)],
              static_cast<std::int64_t>(packets.size()) - change.packet);
}

TEST(OpusPacketDecoder, TimelineTimesCountConcealedAudioAndOverflowIsCounted) {
    EncoderOptions o;
    o.application = OPUS_APPLICATION_RESTRICTED_LOWDELAY;
    o.bitrate_bps = 64000;
    o.before_packet = [](OpusEncoder* enc, int index) {
        // Alternate FB and WB every 10 packets: 10 changes in 2 s.
        opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH((index / 10) % 2 ? OPUS_BANDWIDTH_WIDEBAND
                                                                       : OPUS_BANDWIDTH_FULLBAND));
    };
    const auto packets = speech_packets(2.0, o);
    OpusPacketDecoderConfig config;
    config.timeline_capacity = 3;
    OpusPacketDecoder decoder(config);
    for (std::size_t k = 0; k < packets.size(); ++k)
        if (k != 5) decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), PcmSink{});
    const auto timeline = decoder.timeline();
    ASSERT_EQ(timeline.size(), 3u);
    // Packet 5 was concealed: stream time still counts it.
    EXPECT_DOUBLE_EQ(timeline[1].time_s, static_cast<double>(timeline[1].packet + 1) * 0.02);
    EXPECT_GT(decoder.stats().timeline_dropped, 0);
    decoder.clear_timeline();
    EXPECT_TRUE(decoder.timeline().empty());
}

TEST(OpusPacketDecoder, DescribesModeChangesAndRestarts) {
    TocChange c;
    c.kind = TocChangeKind::Change;
    c.time_s = 3.0249;
    c.previous.mode = CodecMode::Hybrid;
    c.previous.bandwidth = Bandwidth::SuperWideband;
    c.previous.frame_ms = 20;
    c.previous.frames_per_packet = 1;
    c.current = c.previous;
    c.current.mode = CodecMode::Silk;
    EXPECT_EQ(describe(c), "mode changed from Hybrid to SILK at 3.02 s");
    c.current.bandwidth = Bandwidth::Wideband;
    c.current.frame_ms = 60;
    EXPECT_EQ(describe(c), "mode changed from Hybrid to SILK and bandwidth dropped from SWB to WB and "
                           "frame size changed from 20 to 60 ms at 3.02 s");
    c.kind = TocChangeKind::Restart;
    EXPECT_EQ(describe(c), "stream restarted as SILK WB, 60 ms x 1, mono at 3.02 s");
}

TEST(OpusPacketDecoder, GapBeyondMaxGapRestartsInsteadOfConcealing) {
    const auto packets = speech_packets(3.0);
    OpusPacketDecoder decoder;  // max_gap_ms 1000
    Collector out;
    for (std::size_t k = 0; k < 10; ++k) decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), out.sink());
    // 49 lost (0.98 s): concealed.
    EXPECT_EQ(decoder.push(59, bytes(packets[59]), out.sink()), PacketOutcome::Decoded);
    EXPECT_EQ(decoder.stats().packets_lost, 49);
    // 51 lost (1.02 s): a restart, fresh decoder state, nothing concealed.
    EXPECT_EQ(decoder.push(111, bytes(packets[111]), out.sink()), PacketOutcome::Restarted);
    EXPECT_EQ(decoder.stats().packets_lost, 49);
    EXPECT_EQ(decoder.stats().restarts, 1);
    EXPECT_EQ(out.pcm.size(), (10u + 49u + 1u + 1u) * kFrame);
    Reference fresh;
    fresh.decode(packets[111]);
    EXPECT_TRUE(std::equal(fresh.pcm.begin(), fresh.pcm.end(), out.pcm.end() - kFrame));
    const auto timeline = decoder.timeline();
    const auto restart = std::find_if(timeline.begin(), timeline.end(),
                                      [](const TocChange& c) { return c.kind == TocChangeKind::Restart; });
    ASSERT_NE(restart, timeline.end());
    EXPECT_DOUBLE_EQ(restart->time_s, 60 * 0.02);
    EXPECT_EQ(restart->packet, 11);

    // A stray packet far behind is dropped; if its successor follows, the
    // sender restarted its numbering there.
    EXPECT_EQ(decoder.push(115, bytes(packets[112]), out.sink()), PacketOutcome::Decoded);  // 60 ms gap: concealed
    EXPECT_EQ(decoder.push(115 - 5000, bytes(packets[113]), out.sink()), PacketOutcome::Late);
    EXPECT_EQ(decoder.push(116, bytes(packets[114]), out.sink()), PacketOutcome::Decoded);
    EXPECT_EQ(decoder.push(60000, bytes(packets[115]), out.sink()), PacketOutcome::Late);
    EXPECT_EQ(decoder.push(60001, bytes(packets[116]), out.sink()), PacketOutcome::Restarted);
    EXPECT_EQ(decoder.push(60002, bytes(packets[117]), out.sink()), PacketOutcome::Decoded);
    EXPECT_EQ(decoder.stats().restarts, 2);
}

TEST(OpusPacketDecoder, TimestampKeyedStreamConcealsGapsAndWraps) {
    const auto packets = speech_packets(0.6);
    OpusPacketDecoder decoder;
    Collector out;
    Reference ref;
    const std::uint32_t base = 0xFFFFFFFFu - 5 * kFrame;  // wraps at packet 6
    for (std::size_t k = 0; k < packets.size(); ++k) {
        if (k == 4 || k == 10 || k == 11) {  // 4: lost; 10-11: a DTX-like pause
            if (k != 11) ref.plc(k == 4 ? kFrame : 2 * kFrame);
            continue;
        }
        const std::uint32_t ts = base + static_cast<std::uint32_t>(k * kFrame);
        EXPECT_EQ(decoder.push_timestamped(ts, bytes(packets[k]), out.sink()), PacketOutcome::Decoded) << k;
        ref.decode(packets[k]);
    }
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(decoder.stats().packets_lost, 3);
    EXPECT_EQ(decoder.push_timestamped(base + 29 * kFrame, bytes(packets[29]), out.sink()),
              PacketOutcome::Duplicate);
    EXPECT_EQ(decoder.push_timestamped(base + 2 * kFrame, bytes(packets[2]), out.sink()), PacketOutcome::Late);
    // One keying per stream.
    EXPECT_EQ(decoder.push(13, bytes(packets[13]), out.sink()), PacketOutcome::Malformed);
}

TEST(OpusPacketDecoder, StereoStreamIsMixedDownByLibopusOrKeptAsTwoChannels) {
    EncoderOptions o;
    o.channels = 2;
    o.bitrate_bps = 64000;
    const auto packets = speech_packets(0.5, o);
    OpusPacketDecoder mono;
    OpusPacketDecoderConfig stereo_config;
    stereo_config.channels = 2;
    OpusPacketDecoder stereo(stereo_config);
    Collector mono_out, stereo_out;
    Reference mono_ref(1), stereo_ref(2);
    for (std::size_t k = 0; k < packets.size(); ++k) {
        mono.push(static_cast<std::uint32_t>(k), bytes(packets[k]), mono_out.sink());
        stereo.push(static_cast<std::uint32_t>(k), bytes(packets[k]), stereo_out.sink());
        mono_ref.decode(packets[k]);
        stereo_ref.decode(packets[k]);
    }
    EXPECT_EQ(mono_out.pcm, mono_ref.pcm);
    EXPECT_EQ(stereo_out.pcm, stereo_ref.pcm);
    EXPECT_EQ(mono_out.pcm.size() * 2, stereo_out.pcm.size());
    EXPECT_TRUE(mono.timeline()[0].current.stereo);
}

TEST(OpusPacketDecoder, ResetStartsAFreshStreamAndKeepsTheConfig) {
    const auto packets = speech_packets(0.4);
    OpusPacketDecoderConfig config;
    config.max_gap_ms = 200;
    OpusPacketDecoder decoder(config);
    for (std::size_t k = 0; k < 10; ++k) decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), PcmSink{});
    decoder.reset();
    EXPECT_EQ(decoder.stats().packets_received, 0);
    EXPECT_EQ(decoder.stats().samples_out, 0);
    EXPECT_TRUE(decoder.timeline().empty());
    EXPECT_EQ(decoder.config().max_gap_ms, 200);
    Collector out;
    Reference ref;
    for (std::size_t k = 10; k < 20; ++k) {
        // Any sequence number starts the new stream.
        EXPECT_EQ(decoder.push(static_cast<std::uint32_t>(k + 7), bytes(packets[k]), out.sink()),
                  PacketOutcome::Decoded);
        ref.decode(packets[k]);
    }
    EXPECT_EQ(out.pcm, ref.pcm);
    EXPECT_EQ(decoder.timeline()[0].kind, TocChangeKind::Start);
}

TEST(OpusPacketDecoder, PushAllocatesNothing) {
    EncoderOptions o;
    o.fec = true;
    o.loss_pct = 20;
    o.before_packet = [](OpusEncoder* enc, int index) {
        opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(index % 7 < 3 ? OPUS_BANDWIDTH_WIDEBAND
                                                                   : OPUS_BANDWIDTH_FULLBAND));
    };
    const auto packets = speech_packets(2.0, o);
    const Packet garbage = {0xFF, 0x00};
    OpusPacketDecoderConfig config;
    config.timeline_capacity = 4;  // overflows too
    OpusPacketDecoder decoder(config);
    double sum = 0.0;
    auto accumulate = [&sum](const PcmBlock& b) { sum += b.frames; };
    const PcmSink sink = PcmSink::of(accumulate);
    const std::size_t allocations = test::allocations_during([&] {
        for (int round = 0; round < 2; ++round) {
            for (std::size_t k = 0; k < packets.size(); ++k) {
                if (k % 9 == 4) continue;  // loss: FEC and PLC
                decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), sink);
                if (k % 13 == 0) decoder.push(static_cast<std::uint32_t>(k), bytes(packets[k]), sink);
                if (k % 17 == 0) decoder.push(static_cast<std::uint32_t>(k), bytes(garbage), sink);
            }
            decoder.push(static_cast<std::uint32_t>(packets.size() + 200), bytes(packets[0]), sink);  // restart
            decoder.reset();
            for (std::size_t k = 0; k < packets.size(); k += 2)
                decoder.push_timestamped(static_cast<std::uint32_t>(k * kFrame), bytes(packets[k]), sink);
            decoder.reset();
        }
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(sum, 0.0);
}

}  // namespace
}  // namespace sibilant
