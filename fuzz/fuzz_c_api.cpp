// libFuzzer target: the live probe through its C API, as a server links it:
// a random sequence of calls (create with any config, pushes of every kind
// and size, Opus packets, finish, reset, poll, summary, timeline, packet
// stats, calls with null pointers) with random data.
//
// Input: bytes 0-3 the config (mode, the two thresholds 0..255 so some are
// out of range, event capacity 0..255 so 0 is refused); then operations, an
// opcode byte and a size byte each, their data taken from the bytes that
// follow (cycled). At most 10 s of samples are pushed per input.
//
// Besides ASan and UBSan it checks what sibilant.h promises: every call
// returns 0, 1 (poll: an event) or one of the SIBILANT_ERR_* codes, each
// with a name; a refused create leaves no probe; a push of the other mode's
// kind is SIBILANT_ERR_WRONG_MODE; pushes after finish are
// SIBILANT_ERR_FINISHED until reset; events and the summary hold their
// ranges and NUL-terminated strings.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "sibilant/sibilant.h"

namespace {

using sibilant::fuzz::fail;

void check_code(int code) {
    if (code < SIBILANT_ERR_INTERNAL || code > 1) fail("fuzz_c_api", "a return code sibilant.h does not list");
    const char* name = sibilant_strerror(code);
    if (!name || !*name) fail("fuzz_c_api", "an error code without a name");
}

bool terminated(const char* text, std::size_t capacity) { return std::memchr(text, 0, capacity) != nullptr; }

class Bytes {
public:
    Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool done() const { return at_ >= size_; }
    std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
    // n bytes from here on, cycled over the whole input (it is never empty here).
    std::uint8_t cycled(std::size_t i) const { return data_[(at_ + i) % size_]; }

private:
    const std::uint8_t* data_;
    std::size_t size_, at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    Bytes in(data, size);
    sibilant_probe_config config;
    sibilant_probe_config_init(&config);
    config.mode = in.next() & 1;
    config.lisp_flag_threshold = in.next() * 0.5;          // 0..127.5: above 100 is refused
    config.smearing_flag_threshold = in.next() * 0.5;
    config.event_capacity = in.next();                     // 0 is refused
    sibilant_probe* probe = reinterpret_cast<sibilant_probe*>(1);
    const int created = sibilant_probe_create(&config, &probe);
    check_code(created);
    if (created != 0) {
        if (probe != nullptr) fail("fuzz_c_api", "a refused create left a probe");
        return 0;
    }
    if (!probe) fail("fuzz_c_api", "create succeeded without a probe");
    const bool reference = config.mode == SIBILANT_MODE_REFERENCE;
    bool finished = false;
    std::int64_t pushed = 0;
    std::vector<float> x, y;
    std::vector<std::int16_t> a, b;
    std::vector<std::uint8_t> packet;
    sibilant_event event;
    sibilant_summary summary;
    sibilant_toc_change changes[4];
    sibilant_packet_stats stats;
    static std::uint16_t sequence = 0;
    while (!in.done()) {
        const int op = in.next() % 12;
        const std::size_t n = std::size_t(in.next()) * 16;
        if (op <= 3 && pushed + std::int64_t(n) > 480000) continue;
        int code = 0;
        bool push = true, kind_ref = false;
        switch (op) {
            case 0:
            case 2:
                x.resize(n);
                y.resize(n);
                for (std::size_t i = 0; i < n; ++i) {
                    x[i] = float(std::int8_t(in.cycled(i))) / 128.0f;
                    y[i] = float(std::int8_t(in.cycled(i + 7))) / 128.0f;
                }
                kind_ref = op == 2;
                code = kind_ref ? sibilant_probe_push_float_ref(probe, x.data(), y.data(), n)
                                : sibilant_probe_push_float(probe, x.data(), n);
                break;
            case 1:
            case 3:
                a.resize(n);
                b.resize(n);
                for (std::size_t i = 0; i < n; ++i) {
                    a[i] = std::int16_t(in.cycled(i) << 8 | in.cycled(i + 1));
                    b[i] = std::int16_t(in.cycled(i + 3) << 8 | in.cycled(i + 5));
                }
                kind_ref = op == 3;
                code = kind_ref ? sibilant_probe_push_int16_ref(probe, a.data(), b.data(), n)
                                : sibilant_probe_push_int16(probe, a.data(), n);
                break;
            case 4:
                packet.resize(n / 16);
                for (std::size_t i = 0; i < packet.size(); ++i) packet[i] = in.cycled(i);
                sequence = std::uint16_t(sequence + 1 + (in.cycled(0) == 0xff ? 100 : 0));
                code = sibilant_probe_push_opus(probe, sequence, packet.data(), packet.size());
                if (code == SIBILANT_ERR_MALFORMED_PACKET) code = 0;
                break;
            case 5:
                push = false;
                code = sibilant_probe_finish(probe);
                finished = true;
                break;
            case 6:
                push = false;
                code = sibilant_probe_reset(probe);
                if (code == 0) finished = false;
                pushed = 0;
                break;
            case 7:
                push = false;
                code = sibilant_probe_poll_event(probe, &event);
                if (code == 1) {
                    if (!terminated(event.why, sizeof event.why) || !terminated(event.cls, sizeof event.cls))
                        fail("fuzz_c_api", "an event string without its NUL");
                    if (!(event.lisp >= 0 && event.lisp <= 100 && event.smearing >= 0 && event.smearing <= 100))
                        fail("fuzz_c_api", "an event score outside 0..100");
                    if (!(event.start_s >= 0 && event.start_s <= event.end_s)) fail("fuzz_c_api", "event times");
                }
                break;
            case 8:
                push = false;
                code = sibilant_probe_summary(probe, &summary);
                if (code == 0) {
                    if (!terminated(summary.verdict, sizeof summary.verdict)) fail("fuzz_c_api", "verdict without NUL");
                    if (!(summary.lisp_index >= 0 && summary.lisp_index <= 100 && summary.smearing_index >= 0 &&
                          summary.smearing_index <= 100))
                        fail("fuzz_c_api", "an index outside 0..100");
                }
                break;
            case 9:
                push = false;
                code = sibilant_probe_timeline(probe, changes, n % 5);
                if (code > 0) code = 0;
                check_code(sibilant_probe_packet_stats(probe, &stats));
                break;
            case 10:  // null pointers are refused, never dereferenced
                push = false;
                if (sibilant_probe_push_float(nullptr, x.data(), 0) != SIBILANT_ERR_INVALID_ARGUMENT ||
                    sibilant_probe_summary(probe, nullptr) != SIBILANT_ERR_INVALID_ARGUMENT ||
                    sibilant_probe_poll_event(nullptr, &event) != SIBILANT_ERR_INVALID_ARGUMENT)
                    fail("fuzz_c_api", "a null pointer not refused");
                break;
            default:
                push = false;
                code = n > 0 ? sibilant_probe_push_float(probe, nullptr, n) : 0;
                if (n > 0 && code != SIBILANT_ERR_INVALID_ARGUMENT) fail("fuzz_c_api", "null samples not refused");
                code = 0;
                break;
        }
        check_code(code);
        if (push) {
            const bool wrong_kind = op != 4 && kind_ref != reference;
            const bool opus_to_ref = op == 4 && reference;
            if (finished && code != SIBILANT_ERR_FINISHED && !wrong_kind && !opus_to_ref)
                fail("fuzz_c_api", "a push after finish not refused");
            if (!finished && (wrong_kind || opus_to_ref) && code != SIBILANT_ERR_WRONG_MODE)
                fail("fuzz_c_api", "a push of the other mode not refused");
            if (code == 0 && op <= 3) pushed += std::int64_t(n);
        }
    }
    sibilant_probe_destroy(probe);
    return 0;
}
