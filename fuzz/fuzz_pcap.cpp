// libFuzzer target: arbitrary bytes as a capture file (pcap or pcapng)
// through read_udp_datagrams(), then every datagram through parse_rtp(), as
// `sibilant analyze CAPTURE.pcap` does. Besides ASan and UBSan: Error is
// the only exception, frame numbers rise, every payload byte can be read.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "io/pcap_reader.hpp"
#include "sibilant/error.hpp"
#include "sibilant/rtp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sibilant::fuzz::fail;
    const sibilant::fuzz::MemoryFile file(data, size);
    static volatile unsigned sink = 0;
    try {
        std::int64_t last_frame = 0;
        sibilant::io::read_udp_datagrams(file.path(), [&](const sibilant::io::CapturedDatagram& d) {
            if (d.frame <= last_frame) fail("fuzz_pcap", "frame numbers do not rise");
            last_frame = d.frame;
            for (std::uint8_t b : d.payload) sink = sink + b;
            sibilant::RtpHeader header;
            if (sibilant::parse_rtp(d.payload, header) == sibilant::RtpParseResult::Ok)
                for (std::uint8_t b : sibilant::rtp_payload(d.payload, header)) sink = sink + b;
        });
    } catch (const sibilant::Error&) {
        // Not a capture, or its first record unreadable: said, naming it.
    }
    return 0;
}
