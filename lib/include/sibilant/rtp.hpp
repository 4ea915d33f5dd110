// RTP (RFC 3550) as it arrives in a UDP datagram: the fixed header, the CSRC
// list, the header extension and padding, checked against the datagram's
// length so that nothing outside it is ever read. RTCP sharing the port
// (RFC 5761) is told apart by its packet type. Used by the probe service
// (`sibilant probe`) and the capture reader (`sibilant analyze CAPTURE.pcap`).
//
// Real time: parse_rtp() never allocates, never throws and reads only the
// bytes it is given.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sibilant {

/// Where a datagram came from: an IPv4 or IPv6 address and UDP port, as
/// bytes in network order, so that the monitor needs no socket headers.
struct RemoteEndpoint {
    bool ipv6 = false;
    std::array<std::uint8_t, 16> address{};  ///< IPv4 uses the first 4 bytes.
    std::uint16_t port = 0;
    friend bool operator==(const RemoteEndpoint&, const RemoteEndpoint&) = default;
};

/// "127.0.0.1:5004" or "[::1]:5004" into `out` (NUL-terminated, cut to fit);
/// 64 bytes always suffice. Returns the length written. No allocation.
std::size_t format_endpoint(const RemoteEndpoint& endpoint, char* out, std::size_t size) noexcept;

struct RtpHeader {
    int version = 0;                  ///< Always 2 for a parsed packet.
    bool padding = false;
    bool extension = false;
    bool marker = false;
    int csrc_count = 0;               ///< 0..15
    int payload_type = 0;             ///< 0..127
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;      ///< Opus (RFC 7587): always 48 kHz units.
    std::uint32_t ssrc = 0;
    std::uint16_t extension_profile = 0;   ///< When `extension`.
    std::size_t extension_bytes = 0;       ///< Extension data after its 4-byte header.
    std::size_t padding_bytes = 0;         ///< Padding at the end (the last byte's count).
    std::size_t payload_offset = 0;        ///< Where the payload starts in the datagram.
    std::size_t payload_size = 0;          ///< Payload bytes (without padding); may be 0.
};

/// Why a datagram is not an RTP packet.
enum class RtpParseResult {
    Ok,
    Truncated,     ///< Shorter than its fixed header, CSRC list or extension says.
    WrongVersion,  ///< Version field is not 2 (STUN, DTLS, garbage...).
    Rtcp,          ///< An RTCP packet (second byte 192..223, RFC 5761 section 4).
    BadPadding,    ///< The padding count is 0 or runs past the header.
};

/// "ok", "truncated", "wrong_version", "rtcp", "bad_padding".
const char* to_string(RtpParseResult result) noexcept;

/// Parses `datagram`; on Ok fills `out`, else leaves it unspecified.
RtpParseResult parse_rtp(std::span<const std::uint8_t> datagram, RtpHeader& out) noexcept;

/// The payload of a parsed packet (a view into `datagram`).
inline std::span<const std::uint8_t> rtp_payload(std::span<const std::uint8_t> datagram,
                                                 const RtpHeader& header) noexcept {
    return datagram.subspan(header.payload_offset, header.payload_size);
}

}  // namespace sibilant
