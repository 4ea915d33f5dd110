// libFuzzer target: arbitrary bytes as a packet stream into OpusPacketDecoder.
//
// Input layout (every field is read as far as bytes remain; nothing is
// rejected, so that mutations of a valid stream stay meaningful):
//   byte 0          config: bit 0 channels (1/2), bits 1-3 output rate
//                   (index mod 5 into 8/12/16/24/48 kHz), bit 4 keying
//                   (0 sequence, 1 48 kHz timestamp), bits 5-6 max_gap_ms
//                   (0, 50, 1000, 1000), bit 7 timeline_capacity 2 instead of 256
//   then records:   int8 key delta (sequence numbers, or 2.5 ms steps of
//                   timestamp; -128 means reset() and no packet),
//                   uint16 little-endian packet length (capped by what is
//                   left), the packet bytes.
//
// Besides ASan and UBSan, it checks the decoder's own promises and aborts
// when one breaks: block sizes and times, finite samples, the stats
// identities, describe() on every timeline entry.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "sibilant/opus_packets.hpp"

namespace {

struct Check {
    const sibilant::OpusPacketDecoderConfig* config = nullptr;
    std::int64_t frames_seen = 0;
    double sum = 0.0;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_opus_packets: broken promise: %s\n", what);
    std::abort();
}

void sink(void* context, const sibilant::PcmBlock& block) {
    auto& check = *static_cast<Check*>(context);
    const int max_frames = check.config->output_rate_hz / 1000 * 120;
    if (block.frames <= 0 || block.frames > max_frames) fail("block size outside (0, 120 ms]");
    if (block.channels != check.config->channels || block.rate_hz != check.config->output_rate_hz)
        fail("block format differs from the config");
    if (block.time_s != static_cast<double>(check.frames_seen) / block.rate_hz) fail("block time is not the stream time");
    check.frames_seen += block.frames;
    // Touch every sample so that ASan sees any read past the buffer.
    for (int i = 0; i < block.frames * block.channels; ++i) {
        if (!std::isfinite(block.samples[i])) fail("non-finite sample");
        check.sum += block.samples[i];
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static constexpr int kRates[5] = {8000, 12000, 16000, 24000, 48000};
    static constexpr double kGaps[4] = {0.0, 50.0, 1000.0, 1000.0};
    sibilant::OpusPacketDecoderConfig config;
    config.channels = (data[0] & 1) ? 2 : 1;
    config.output_rate_hz = kRates[((data[0] >> 1) & 7) % 5];
    const bool timestamped = (data[0] >> 4) & 1;
    config.max_gap_ms = kGaps[(data[0] >> 5) & 3];
    config.timeline_capacity = (data[0] & 0x80) ? 2 : 256;
    sibilant::OpusPacketDecoder decoder(config);

    Check check;
    check.config = &decoder.config();
    const sibilant::PcmSink pcm_sink{&sink, &check};
    std::uint32_t key = 0;
    std::size_t pos = 1;
    while (pos < size) {
        const auto delta = static_cast<std::int8_t>(data[pos++]);
        if (delta == -128) {
            decoder.reset();
            check.frames_seen = 0;
            continue;
        }
        std::size_t length = 0;
        if (pos < size) length = data[pos++];
        if (pos < size) length |= static_cast<std::size_t>(data[pos++]) << 8;
        if (length > size - pos) length = size - pos;
        const std::span<const std::uint8_t> packet(data + pos, length);
        pos += length;
        if (timestamped) {
            key += static_cast<std::uint32_t>(static_cast<std::int32_t>(delta) * 120);
            decoder.push_timestamped(key, packet, pcm_sink);
        } else {
            key += static_cast<std::uint32_t>(static_cast<std::int32_t>(delta));
            decoder.push(key, packet, pcm_sink);
        }
    }

    const auto& s = decoder.stats();
    if (s.packets_received != s.packets_decoded + s.late + s.duplicate + s.malformed)
        fail("received != decoded + late + duplicate + malformed");
    if (s.packets_lost != s.fec_recovered + s.plc_packets) fail("lost != fec_recovered + plc_packets");
    if (s.samples_out != check.frames_seen) fail("samples_out differs from what the sink got");
    for (const auto& change : decoder.timeline())
        if (sibilant::describe(change).empty()) fail("empty description");
    return 0;
}
