#include "report/html.hpp"

#include <cmath>
#include <cstdio>

namespace sibilant::report::html {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string fixed(double value, int decimals) {
    if (!std::isfinite(value)) return "\u2013";
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    const std::string s = text;
    // -0.001 rounds to "-0.0": no sign on a zero.
    return s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos ? s.substr(1) : s;
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
    static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = std::uint32_t(bytes[i]) << 16 | std::uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
        out += kDigits[v >> 18 & 63];
        out += kDigits[v >> 12 & 63];
        out += kDigits[v >> 6 & 63];
        out += kDigits[v & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        const std::uint32_t v = std::uint32_t(bytes[i]) << 16 | (rest == 2 ? std::uint32_t(bytes[i + 1]) << 8 : 0);
        out += kDigits[v >> 18 & 63];
        out += kDigits[v >> 12 & 63];
        out += rest == 2 ? kDigits[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string data_uri(std::string_view mime, const std::vector<std::uint8_t>& bytes) {
    return "data:" + std::string(mime) + ";base64," + base64(bytes);
}

namespace {

// Verdict colours (the same in marks, legends and table swatches) are set
// by class; they read on white and on the viridis spectrogram alike.
constexpr std::string_view kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 20px 28px; max-width: 1240px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 26px 0 8px; }
h3 { font-size: 15px; margin: 14px 0 2px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px 24px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.facts td { border: none; padding: 1px 12px 1px 0; }
.why { max-width: 720px; }
.note { color: #555; font-size: 13px; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
svg .axis line, svg .axis path { stroke: #444; stroke-width: 1; fill: none; }
svg .grid line { stroke: #ddd; stroke-width: 1; }
.legend span { display: inline-block; margin-right: 16px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; }
.v-lisp { --c: #e0303a; } .v-smearing { --c: #ff9f1c; } .v-dropout { --c: #111111; }
.v-clean { --c: #2e9e4a; } .v-not-compared { --c: #9a9a9a; }
.swatch { background: var(--c); }
.event-mark rect.band { fill: var(--c); }
.event-mark rect.span { stroke: var(--c); fill: none; stroke-width: 2; }
.event-mark.v-clean rect.span, .event-mark.v-not-compared rect.span { stroke-dasharray: 4 3; stroke-width: 1.5; }
.event-mark text { font-size: 10px; }
)";

}  // namespace

std::string page(std::string_view title, std::string_view body_html) {
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
    out += escape(title);
    out += "</title>\n<style>";
    out += kStyle;
    out += "</style>\n</head>\n<body>\n<h1>";
    out += escape(title);
    out += "</h1>\n";
    out += body_html;
    out += "</body>\n</html>\n";
    return out;
}

}  // namespace sibilant::report::html
