#include "report/png_image.hpp"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "sibilant/error.hpp"

namespace sibilant::report {

RgbImage::RgbImage(int width_px, int height_px)
    : width(width_px), height(height_px), pixels(std::size_t(width_px) * std::size_t(height_px) * 3, 255) {}

void RgbImage::set(int x, int y, Rgb c) {
    std::uint8_t* p = &pixels[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

Rgb RgbImage::at(int x, int y) const {
    const std::uint8_t* p = &pixels[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3];
    return {p[0], p[1], p[2]};
}

Rgb viridis(double value) {
    // matplotlib's viridis sampled at 0, 1/8, ..., 1.
    static constexpr std::array<Rgb, 9> kAnchors{{{68, 1, 84},
                                                  {71, 44, 122},
                                                  {59, 81, 139},
                                                  {44, 113, 142},
                                                  {33, 144, 141},
                                                  {39, 173, 129},
                                                  {92, 200, 99},
                                                  {170, 220, 50},
                                                  {253, 231, 37}}};
    const double v = std::isnan(value) ? 0.0 : std::clamp(value, 0.0, 1.0);
    const double pos = v * double(kAnchors.size() - 1);
    const std::size_t i = std::min(std::size_t(pos), kAnchors.size() - 2);
    const double f = pos - double(i);
    auto mix = [f](std::uint8_t a, std::uint8_t b) {
        return static_cast<std::uint8_t>(std::lround(double(a) + f * (double(b) - double(a))));
    };
    const Rgb& a = kAnchors[i];
    const Rgb& b = kAnchors[i + 1];
    return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

namespace {

png_image rgb_header(int width, int height) {
    png_image header;
    std::memset(&header, 0, sizeof header);
    header.version = PNG_IMAGE_VERSION;
    header.width = static_cast<png_uint_32>(width);
    header.height = static_cast<png_uint_32>(height);
    header.format = PNG_FORMAT_RGB;
    return header;
}

}  // namespace

std::vector<std::uint8_t> encode_png(const RgbImage& image) {
    if (image.width <= 0 || image.height <= 0)
        throw Error("PNG encoder: empty image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
    png_image header = rgb_header(image.width, image.height);
    // First call sizes the buffer, second call fills it.
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&header, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
        throw Error(std::string("PNG encoder: ") + header.message);
    std::vector<std::uint8_t> bytes(size);
    if (!png_image_write_to_memory(&header, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr))
        throw Error(std::string("PNG encoder: ") + header.message);
    bytes.resize(size);
    png_image_free(&header);
    return bytes;
}

RgbImage decode_png(const std::vector<std::uint8_t>& bytes, const std::string& what) {
    png_image header;
    std::memset(&header, 0, sizeof header);
    header.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&header, bytes.data(), bytes.size()))
        throw Error(what + ": not a PNG (" + header.message + ")");
    header.format = PNG_FORMAT_RGB;
    RgbImage image(static_cast<int>(header.width), static_cast<int>(header.height));
    // Transparent pixels are composed onto white, as a browser shows them.
    const png_color white{255, 255, 255};
    if (!png_image_finish_read(&header, &white, image.pixels.data(), 0, nullptr)) {
        const std::string message = header.message;
        png_image_free(&header);
        throw Error(what + ": cannot decode the PNG (" + message + ")");
    }
    return image;
}

}  // namespace sibilant::report
