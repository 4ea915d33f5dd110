// Writes the seed corpus of fuzz_opus_packets into the folder given as its
// argument: short packet streams encoded with libopus in the record layout
// that fuzz_opus_packets.cpp documents. The files in fuzz/corpus/fuzz_opus_packets/ were made
// with it (cmake --build build-fuzz --target fuzz_make_corpus, then
// build-fuzz/fuzz/fuzz_make_corpus fuzz/corpus/fuzz_opus_packets).
#include <opus/opus.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

namespace {

struct Stream {
    const char* name;
    std::uint8_t config_byte;   // see fuzz_opus_packets.cpp
    int channels;
    int application;
    int bitrate_bps;
    int frame_samples;          // at 48 kHz
    bool fec;
    int packets;
};

// 150 Hz pulses through a smooth decay, with a noise burst in the middle:
// enough for SILK, Hybrid and CELT packets with real content.
float sample(int i) {
    const double t = i / 48000.0;
    const double phase = std::fmod(t * 150.0, 1.0);
    double x = 0.4 * std::exp(-phase * 8.0) * std::sin(2 * std::numbers::pi * 700.0 * t);
    if (t > 0.08 && t < 0.14) x += 0.2 * std::sin(i * 12.9898) * std::sin(i * 78.233);
    return static_cast<float>(x);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const Stream streams[] = {
        {"silk_12k_20ms", 0x08, 1, OPUS_APPLICATION_VOIP, 12000, 960, false, 10},
        {"hybrid_32k_fec", 0x28, 1, OPUS_APPLICATION_VOIP, 32000, 960, true, 10},
        {"celt_64k_10ms_ts", 0x18, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY, 64000, 480, false, 12},
        {"stereo_48k", 0x09, 2, OPUS_APPLICATION_AUDIO, 48000, 960, false, 6},
        {"silk_60ms_16khz", 0x86, 1, OPUS_APPLICATION_VOIP, 10000, 2880, true, 4},
    };
    for (const Stream& s : streams) {
        int err = 0;
        OpusEncoder* enc = opus_encoder_create(48000, s.channels, s.application, &err);
        if (err != OPUS_OK) return 1;
        opus_encoder_ctl(enc, OPUS_SET_BITRATE(s.bitrate_bps));
        opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(s.fec ? 1 : 0));
        opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(s.fec ? 20 : 0));
        std::vector<std::uint8_t> out = {s.config_byte};
        std::vector<float> pcm(static_cast<std::size_t>(s.frame_samples * s.channels));
        unsigned char packet[1500];
        const bool timestamped = (s.config_byte >> 4) & 1;
        const int step = timestamped ? s.frame_samples / 120 : 1;  // timestamp deltas are in 2.5 ms
        for (int k = 0; k < s.packets; ++k) {
            for (int i = 0; i < s.frame_samples; ++i)
                for (int c = 0; c < s.channels; ++c)
                    pcm[static_cast<std::size_t>(i * s.channels + c)] = sample(k * s.frame_samples + i) * (c ? 0.6f : 1.0f);
            const int n = opus_encode_float(enc, pcm.data(), s.frame_samples, packet, sizeof packet);
            if (n < 0) return 1;
            // Packet 4 is lost (a gap of two), packet 7 comes twice.
            if (k == 4) continue;
            const int delta = k == 5 ? 2 * step : (k == 0 ? 0 : step);
            const int repeats = k == 7 ? 2 : 1;
            for (int r = 0; r < repeats; ++r) {
                out.push_back(static_cast<std::uint8_t>(r ? 0 : delta));
                out.push_back(static_cast<std::uint8_t>(n & 0xFF));
                out.push_back(static_cast<std::uint8_t>(n >> 8));
                out.insert(out.end(), packet, packet + n);
            }
        }
        opus_encoder_destroy(enc);
        const std::string path = std::string(argv[1]) + "/" + s.name;
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f) return 1;
        std::fwrite(out.data(), 1, out.size(), f);
        std::fclose(f);
    }
    return 0;
}
