// RTP header parsing (RFC 3550 section 5.1, 5.3.1; RFC 5761 section 4).
#include "sibilant/rtp.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace sibilant {

namespace {

std::uint16_t be16(const std::uint8_t* p) noexcept { return std::uint16_t((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

constexpr std::size_t kFixedHeaderBytes = 12;

}  // namespace

const char* to_string(RtpParseResult result) noexcept {
    switch (result) {
        case RtpParseResult::Ok: return "ok";
        case RtpParseResult::Truncated: return "truncated";
        case RtpParseResult::WrongVersion: return "wrong_version";
        case RtpParseResult::Rtcp: return "rtcp";
        case RtpParseResult::BadPadding: return "bad_padding";
    }
    return "unknown";
}

std::size_t format_endpoint(const RemoteEndpoint& e, char* out, std::size_t size) noexcept {
    if (size == 0) return 0;
    char address[INET6_ADDRSTRLEN] = "?";
    inet_ntop(e.ipv6 ? AF_INET6 : AF_INET, e.address.data(), address, sizeof address);
    const int n = std::snprintf(out, size, e.ipv6 ? "[%s]:%u" : "%s:%u", address, unsigned(e.port));
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    return std::min(std::size_t(n), size - 1);
}

RtpParseResult parse_rtp(std::span<const std::uint8_t> d, RtpHeader& out) noexcept {
    // The version first: a one-byte STUN or garbage datagram is "not RTP",
    // which says more than "truncated".
    if (d.empty()) return RtpParseResult::Truncated;
    if ((d[0] >> 6) != 2) return RtpParseResult::WrongVersion;
    if (d.size() < 2) return RtpParseResult::Truncated;
    // RTCP packet types 192..223 land in the marker + payload type byte;
    // RFC 5761 reserves those payload types so the two can share a port.
    if (d[1] >= 192 && d[1] <= 223) return RtpParseResult::Rtcp;
    if (d.size() < kFixedHeaderBytes) return RtpParseResult::Truncated;

    RtpHeader h;
    h.version = 2;
    h.padding = (d[0] & 0x20) != 0;
    h.extension = (d[0] & 0x10) != 0;
    h.csrc_count = d[0] & 0x0f;
    h.marker = (d[1] & 0x80) != 0;
    h.payload_type = d[1] & 0x7f;
    h.sequence = be16(&d[2]);
    h.timestamp = be32(&d[4]);
    h.ssrc = be32(&d[8]);

    std::size_t offset = kFixedHeaderBytes + 4 * std::size_t(h.csrc_count);
    if (d.size() < offset) return RtpParseResult::Truncated;
    if (h.extension) {
        if (d.size() < offset + 4) return RtpParseResult::Truncated;
        h.extension_profile = be16(&d[offset]);
        h.extension_bytes = 4 * std::size_t(be16(&d[offset + 2]));
        offset += 4;
        if (d.size() - offset < h.extension_bytes) return RtpParseResult::Truncated;
        offset += h.extension_bytes;
    }
    std::size_t end = d.size();
    if (h.padding) {
        h.padding_bytes = d[d.size() - 1];
        if (h.padding_bytes == 0 || end - offset < h.padding_bytes) return RtpParseResult::BadPadding;
        end -= h.padding_bytes;
    }
    h.payload_offset = offset;
    h.payload_size = end - offset;
    out = h;
    return RtpParseResult::Ok;
}

}  // namespace sibilant
