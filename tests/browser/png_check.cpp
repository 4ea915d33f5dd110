// Checks that a browser screenshot shows a rendered page, not a blank one:
//   png_check SHOT.png [--min-nonwhite PERCENT] [--min-colours N]
//                      [--viridis PIXELS] [--colour RRGGBB:PIXELS]...
// Prints what it found on one line; exit 0 when every check passes, 1 when
// one fails, 2 on a usage error. Colours match within +-12 per channel
// (antialiasing and colour management shift them a little).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "report/png_image.hpp"
#include "sibilant/error.hpp"

namespace {

using sibilant::report::Rgb;

bool near(Rgb a, Rgb b) {
    auto d = [](int x, int y) { return std::abs(x - y) <= 12; };
    return d(a.r, b.r) && d(a.g, b.g) && d(a.b, b.b);
}

struct ColourCheck {
    std::string hex;
    Rgb colour;
    long min_pixels = 0;
};

int usage() {
    std::fprintf(stderr,
                 "usage: png_check SHOT.png [--min-nonwhite PERCENT] [--min-colours N] [--viridis PIXELS] "
                 "[--colour RRGGBB:PIXELS]...\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string path = argv[1];
    double min_nonwhite_percent = 0;
    long min_colours = 0, min_viridis = 0;
    std::vector<ColourCheck> colours;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) return usage();
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--min-nonwhite") min_nonwhite_percent = std::atof(value.c_str());
        else if (flag == "--min-colours") min_colours = std::atol(value.c_str());
        else if (flag == "--viridis") min_viridis = std::atol(value.c_str());
        else if (flag == "--colour" && value.size() > 7 && value[6] == ':') {
            const unsigned long rgb = std::strtoul(value.substr(0, 6).c_str(), nullptr, 16);
            colours.push_back({value.substr(0, 6), Rgb{std::uint8_t(rgb >> 16), std::uint8_t(rgb >> 8), std::uint8_t(rgb)},
                               std::atol(value.c_str() + 7)});
        } else return usage();
    }

    std::ifstream in(path, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sibilant::report::RgbImage image;
    try {
        if (bytes.empty()) throw sibilant::Error(path + ": missing or empty");
        image = sibilant::report::decode_png(bytes, path);
    } catch (const sibilant::Error& e) {
        std::fprintf(stderr, "png_check: %s\n", e.what());
        return 1;
    }

    // The viridis ramp sampled finely; its dark end (the spectrogram's
    // floor) and bright end are both far from page colours.
    std::vector<Rgb> ramp;
    for (int i = 0; i <= 64; ++i) ramp.push_back(sibilant::report::viridis(i / 64.0));
    long nonwhite = 0, viridis = 0;
    std::vector<long> found(colours.size(), 0);
    std::set<std::uint32_t> distinct;
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
            const Rgb c = image.at(x, y);
            distinct.insert(std::uint32_t(c.r) << 16 | std::uint32_t(c.g) << 8 | c.b);
            if (c.r < 245 || c.g < 245 || c.b < 245) ++nonwhite;
            const bool grey = std::abs(c.r - c.g) < 16 && std::abs(c.g - c.b) < 16;
            if (!grey)
                for (const Rgb& v : ramp)
                    if (near(c, v)) {
                        ++viridis;
                        break;
                    }
            for (std::size_t k = 0; k < colours.size(); ++k) found[k] += near(c, colours[k].colour);
        }
    const double nonwhite_percent = 100.0 * double(nonwhite) / (double(image.width) * image.height);
    std::printf("%s: %dx%d, %.1f%% not white, %zu colours, %ld viridis pixels", path.c_str(), image.width,
                image.height, nonwhite_percent, distinct.size(), viridis);
    for (std::size_t k = 0; k < colours.size(); ++k) std::printf(", %ld #%s", found[k], colours[k].hex.c_str());
    std::printf("\n");

    bool ok = true;
    auto check = [&ok](bool pass, const std::string& what) {
        if (!pass) std::fprintf(stderr, "png_check: FAIL: %s\n", what.c_str());
        ok = ok && pass;
    };
    check(nonwhite_percent >= min_nonwhite_percent, "under " + std::to_string(min_nonwhite_percent) + "% not white");
    check(long(distinct.size()) >= min_colours, "fewer than " + std::to_string(min_colours) + " colours");
    check(viridis >= min_viridis, "fewer than " + std::to_string(min_viridis) + " viridis pixels (no spectrogram)");
    for (std::size_t k = 0; k < colours.size(); ++k)
        check(found[k] >= colours[k].min_pixels,
              "fewer than " + std::to_string(colours[k].min_pixels) + " pixels of #" + colours[k].hex);
    return ok ? 0 : 1;
}
