// parse_rtp() (sibilant/rtp.hpp): every header field, the CSRC list, the
// extension and padding, and every way a datagram can fail to be RTP,
// including every truncation of a valid packet.
#include <gtest/gtest.h>

#include <vector>

#include "sibilant/rtp.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

const std::vector<std::uint8_t> kPayload = {0x78, 1, 2, 3, 4, 5, 6, 7};

TEST(Rtp, ParsesEveryFixedHeaderField) {
    const auto packet = test::rtp_packet(
        {.payload_type = 111, .sequence = 0xfffe, .timestamp = 0x01020304, .ssrc = 0xdeadbeef, .marker = true},
        kPayload);
    RtpHeader h;
    ASSERT_EQ(parse_rtp(packet, h), RtpParseResult::Ok);
    EXPECT_EQ(h.version, 2);
    EXPECT_TRUE(h.marker);
    EXPECT_FALSE(h.padding);
    EXPECT_FALSE(h.extension);
    EXPECT_EQ(h.payload_type, 111);
    EXPECT_EQ(h.sequence, 0xfffe);
    EXPECT_EQ(h.timestamp, 0x01020304u);
    EXPECT_EQ(h.ssrc, 0xdeadbeefu);
    EXPECT_EQ(h.payload_offset, 12u);
    const auto payload = rtp_payload(packet, h);
    EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), kPayload);
}

TEST(Rtp, SkipsCsrcsExtensionAndPadding) {
    const auto packet = test::rtp_packet({.csrc_count = 3, .extension_words = 2, .padding_bytes = 5}, kPayload);
    RtpHeader h;
    ASSERT_EQ(parse_rtp(packet, h), RtpParseResult::Ok);
    EXPECT_EQ(h.csrc_count, 3);
    EXPECT_TRUE(h.extension);
    EXPECT_EQ(h.extension_profile, 0xBEDE);
    EXPECT_EQ(h.extension_bytes, 8u);
    EXPECT_EQ(h.padding_bytes, 5u);
    EXPECT_EQ(h.payload_offset, 12u + 12u + 4u + 8u);
    const auto payload = rtp_payload(packet, h);
    EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), kPayload);
}

TEST(Rtp, AnEmptyPayloadIsStillRtp) {
    const auto packet = test::rtp_packet({}, {});
    RtpHeader h;
    ASSERT_EQ(parse_rtp(packet, h), RtpParseResult::Ok);
    EXPECT_EQ(h.payload_size, 0u);
}

TEST(Rtp, EveryTruncationOfAValidPacketIsRefusedWithoutReadingPastIt) {
    // Each prefix as its own allocation, so that AddressSanitizer would see a
    // read past the end.
    const auto packet = test::rtp_packet({.csrc_count = 2, .extension_words = 3}, kPayload);
    const std::size_t header_bytes = 12 + 8 + 4 + 12;
    for (std::size_t n = 0; n < header_bytes; ++n) {
        const std::vector<std::uint8_t> prefix(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(n));
        RtpHeader h;
        EXPECT_EQ(parse_rtp(prefix, h), RtpParseResult::Truncated) << n << " bytes";
    }
    for (std::size_t n = header_bytes; n <= packet.size(); ++n) {
        const std::vector<std::uint8_t> prefix(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(n));
        RtpHeader h;
        ASSERT_EQ(parse_rtp(prefix, h), RtpParseResult::Ok) << n << " bytes";
        EXPECT_EQ(h.payload_size, n - header_bytes);
    }
}

TEST(Rtp, OtherVersionsAreNotRtp) {
    for (int version : {0, 1, 3}) {
        auto packet = test::rtp_packet({}, kPayload);
        packet[0] = std::uint8_t((packet[0] & 0x3f) | (version << 6));
        RtpHeader h;
        EXPECT_EQ(parse_rtp(packet, h), RtpParseResult::WrongVersion) << version;
    }
    // A STUN binding request starts with two zero bits.
    const std::vector<std::uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    RtpHeader h;
    EXPECT_EQ(parse_rtp(stun, h), RtpParseResult::WrongVersion);
}

TEST(Rtp, RtcpOnTheSamePortIsToldApart) {
    // Sender report (200), receiver report (201), SDES (202), BYE (203), APP (204).
    for (int type : {200, 201, 202, 203, 204}) {
        const std::vector<std::uint8_t> rtcp = {0x80, std::uint8_t(type), 0x00, 0x06, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0};
        RtpHeader h;
        EXPECT_EQ(parse_rtp(rtcp, h), RtpParseResult::Rtcp) << type;
    }
}

TEST(Rtp, ImpossiblePaddingIsRefused) {
    auto zero = test::rtp_packet({.padding_bytes = 1}, kPayload);
    zero.back() = 0;
    RtpHeader h;
    EXPECT_EQ(parse_rtp(zero, h), RtpParseResult::BadPadding);
    auto too_long = test::rtp_packet({.padding_bytes = 1}, kPayload);
    too_long.back() = std::uint8_t(kPayload.size() + 2);
    EXPECT_EQ(parse_rtp(too_long, h), RtpParseResult::BadPadding);
    // Padding that eats exactly the payload is allowed.
    auto exact = test::rtp_packet({.padding_bytes = 1}, kPayload);
    exact.back() = std::uint8_t(kPayload.size() + 1);
    ASSERT_EQ(parse_rtp(exact, h), RtpParseResult::Ok);
    EXPECT_EQ(h.payload_size, 0u);
}

TEST(Rtp, ResultNamesAreMetricLabels) {
    EXPECT_STREQ(to_string(RtpParseResult::Ok), "ok");
    EXPECT_STREQ(to_string(RtpParseResult::WrongVersion), "wrong_version");
    EXPECT_STREQ(to_string(RtpParseResult::BadPadding), "bad_padding");
}

TEST(Rtp, EndpointsFormatAsHostPort) {
    RemoteEndpoint v4;
    v4.address = {127, 0, 0, 1};
    v4.port = 5004;
    char text[64];
    EXPECT_EQ(format_endpoint(v4, text, sizeof text), 14u);
    EXPECT_STREQ(text, "127.0.0.1:5004");
    RemoteEndpoint v6;
    v6.ipv6 = true;
    v6.address[15] = 1;
    v6.port = 65535;
    format_endpoint(v6, text, sizeof text);
    EXPECT_STREQ(text, "[::1]:65535");
    char small[6];
    EXPECT_EQ(format_endpoint(v4, small, sizeof small), 5u);
    EXPECT_STREQ(small, "127.0");
}

}  // namespace
}  // namespace sibilant
