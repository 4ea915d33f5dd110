// libFuzzer target: arbitrary bytes as a UDP datagram into parse_rtp(), the
// first thing the probe service and the capture reader do with what the
// network sends. Besides ASan and UBSan it checks the parser's promises: a
// parsed packet's header, CSRC list, extension, payload and padding add up
// to the datagram and lie inside it; fields are in their ranges; the result
// has a name.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "fuzz_support.hpp"
#include "sibilant/rtp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sibilant::fuzz::fail;
    const std::span<const std::uint8_t> datagram(data, size);
    sibilant::RtpHeader h;
    const sibilant::RtpParseResult result = sibilant::parse_rtp(datagram, h);
    const char* name = sibilant::to_string(result);
    if (!name || std::strlen(name) == 0) fail("fuzz_rtp", "result without a name");
    if (result != sibilant::RtpParseResult::Ok) return 0;
    if (h.version != 2) fail("fuzz_rtp", "version is not 2");
    if (h.csrc_count < 0 || h.csrc_count > 15) fail("fuzz_rtp", "csrc_count outside 0..15");
    if (h.payload_type < 0 || h.payload_type > 127) fail("fuzz_rtp", "payload_type outside 0..127");
    const std::size_t header = 12 + 4 * std::size_t(h.csrc_count) + (h.extension ? 4 + h.extension_bytes : 0);
    if (h.payload_offset != header) fail("fuzz_rtp", "payload does not start after the header");
    if (h.payload_offset + h.payload_size + h.padding_bytes != size) fail("fuzz_rtp", "parts do not add up");
    if (h.padding != (h.padding_bytes > 0)) fail("fuzz_rtp", "padding flag and count disagree");
    // Every payload byte is read, so that ASan sees a view past the datagram.
    static volatile unsigned sink = 0;
    for (std::uint8_t b : sibilant::rtp_payload(datagram, h)) sink = sink + b;
    return 0;
}
