// Raster images for the HTML report: an 8-bit RGB image, a perceptual colour
// map, and PNG encoding with libpng (its simplified API: no setjmp/longjmp
// through C++ frames, and it writes straight to memory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sibilant::report {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

/// Row-major, top row first, 3 bytes per pixel.
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;

    RgbImage() = default;
    RgbImage(int width_px, int height_px);
    void set(int x, int y, Rgb c);
    Rgb at(int x, int y) const;
};

/// Viridis (matplotlib's perceptually uniform, colour-blind safe map), value
/// 0..1 (clamped; NaN gives the low end), linear between 9 anchor colours.
Rgb viridis(double value);

/// PNG bytes of the image. Throws sibilant::Error if libpng fails.
std::vector<std::uint8_t> encode_png(const RgbImage& image);

/// Decodes PNG bytes (any PNG libpng reads) into 8-bit RGB. Throws
/// sibilant::Error naming `what` if the bytes are not a PNG.
RgbImage decode_png(const std::vector<std::uint8_t>& bytes, const std::string& what = "PNG data");

}  // namespace sibilant::report
