// Uses the installed library: runs one second of a tone through the Opus
// channel and checks that the output is as long as the input.
#include <cmath>
#include <cstdio>
#include <vector>

#include <sibilant/sibilant.hpp>

int main() {
    std::vector<float> tone(48000);
    for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * std::sin(0.05f * static_cast<float>(i));
    sibilant::OpusSettings settings;
    settings.bitrate_bps = 16000;
    const std::vector<float> out = sibilant::run_opus_channel(tone, settings, {}, 1);
    std::printf("sibilant %s: %zu samples in, %zu out\n", sibilant::version(), tone.size(), out.size());
    return out.size() == tone.size() ? 0 : 1;
}
