// Small HTML helpers for the report: escaping, number formatting, data URIs
// and the page skeleton (one self-contained file: inline CSS, no scripts, no
// network resources).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sibilant::report::html {

/// Text and attribute values: & < > " ' become entities.
std::string escape(std::string_view text);

/// printf-style "%.*f"; NaN and infinities give an en dash.
std::string fixed(double value, int decimals);

/// RFC 4648 base64, padded.
std::string base64(const std::vector<std::uint8_t>& bytes);

/// data:<mime>;base64,... for an <img> or SVG <image> href.
std::string data_uri(std::string_view mime, const std::vector<std::uint8_t>& bytes);

/// A complete HTML5 document: the title (escaped) as <title> and <h1>, the
/// report's stylesheet, then `body_html` as given.
std::string page(std::string_view title, std::string_view body_html);

}  // namespace sibilant::report::html
