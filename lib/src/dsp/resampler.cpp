// Streaming sample-rate conversion with libsoxr (SOXR_HQ, float32 mono).
//
// Measured with libsoxr 0.1.3: soxr already removes its filter delay, so the
// output is time-aligned with the input (an impulse at input sample k comes out
// at round(k * out / in)), and after the end-of-input flush the total output is
// round(n_in * out / in). No extra delay compensation is therefore applied here;
// tests/test_resampler.cpp checks both properties so a library change that
// broke them would be noticed.
#include "sibilant/resampler.hpp"

#include <cmath>
#include <string>

#include <soxr.h>

#include "sibilant/error.hpp"

namespace sibilant {

namespace {

constexpr double kMinRateHz = 1000.0;
constexpr double kMaxRateHz = 1000000.0;

void check_rate(double rate_hz, const char* which) {
    if (!std::isfinite(rate_hz) || rate_hz < kMinRateHz || rate_hz > kMaxRateHz)
        throw Error(std::string("resampler: ") + which + " rate " + std::to_string(rate_hz) +
                    " Hz is outside 1000..1000000 Hz");
}

}  // namespace

struct Resampler::Impl {
    double in_rate_hz = 0;
    double out_rate_hz = 0;
    // Null when the rates are equal: samples then pass through untouched, which
    // keeps e.g. 16-bit input bit-exact when no conversion is needed.
    soxr_t soxr = nullptr;
    bool flushed = false;

    ~Impl() {
        if (soxr) soxr_delete(soxr);
    }

    // Room to reserve for the output of `n_in` input samples; soxr may also
    // release samples it held back from earlier calls, hence the margin.
    std::size_t output_room(std::size_t n_in) const {
        return static_cast<std::size_t>(std::ceil(double(n_in) * out_rate_hz / in_rate_hz)) + 256;
    }

    // One soxr_process call writing straight into the tail of `out`.
    // `in` == nullptr signals end of input. Returns {input used, output made}.
    std::pair<std::size_t, std::size_t> run(const float* in, std::size_t n_in,
                                            std::vector<float>& out, std::size_t room) {
        const std::size_t old_size = out.size();
        out.resize(old_size + room);
        std::size_t in_done = 0;
        std::size_t out_done = 0;
        soxr_error_t err = soxr_process(soxr, in, n_in, in ? &in_done : nullptr,
                                        out.data() + old_size, room, &out_done);
        out.resize(old_size + out_done);
        if (err) throw Error(std::string("resampler: libsoxr failed: ") + err);
        return {in_done, out_done};
    }
};

Resampler::Resampler(double in_rate_hz, double out_rate_hz) : impl_(std::make_unique<Impl>()) {
    check_rate(in_rate_hz, "input");
    check_rate(out_rate_hz, "output");
    impl_->in_rate_hz = in_rate_hz;
    impl_->out_rate_hz = out_rate_hz;
    if (in_rate_hz == out_rate_hz) return;

    soxr_error_t err = nullptr;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);  // no worker threads
    impl_->soxr = soxr_create(in_rate_hz, out_rate_hz, 1, &err, &io, &quality, &runtime);
    if (!impl_->soxr || err)
        throw Error(std::string("resampler: libsoxr could not be set up: ") +
                    (err ? err : "unknown error"));
}

Resampler::~Resampler() = default;
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;

void Resampler::process(std::span<const float> in, std::vector<float>& out) {
    if (!impl_) throw Error("resampler: used after being moved from");
    if (impl_->flushed) throw Error("resampler: process() called after flush()");
    if (!impl_->soxr) {
        out.insert(out.end(), in.begin(), in.end());
        return;
    }
    // Nothing to feed; also, an empty span's data() may be null, which soxr
    // would take as end of input.
    if (in.empty()) return;
    const float* next = in.data();
    std::size_t left = in.size();
    // soxr may take only part of the input when the output room runs out, so
    // keep calling until all input is consumed and a call leaves room unused
    // (meaning nothing more is ready right now).
    for (;;) {
        const std::size_t room = impl_->output_room(left);
        const auto [in_done, out_done] = impl_->run(next, left, out, room);
        next += in_done;
        left -= in_done;
        if (left == 0 && out_done < room) break;
    }
}

void Resampler::flush(std::vector<float>& out) {
    if (!impl_) throw Error("resampler: used after being moved from");
    if (impl_->flushed) return;
    impl_->flushed = true;
    if (!impl_->soxr) return;
    // With in == nullptr soxr drains its pipeline; it reports 0 once it is empty.
    for (;;) {
        const std::size_t room = 4096;
        if (impl_->run(nullptr, 0, out, room).second == 0) break;
    }
}

double Resampler::in_rate_hz() const { return impl_ ? impl_->in_rate_hz : 0.0; }
double Resampler::out_rate_hz() const { return impl_ ? impl_->out_rate_hz : 0.0; }

std::vector<float> resample(std::span<const float> in, double in_rate_hz, double out_rate_hz) {
    Resampler resampler(in_rate_hz, out_rate_hz);
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(std::ceil(double(in.size()) * out_rate_hz / in_rate_hz)) + 16);
    resampler.process(in, out);
    resampler.flush(out);
    return out;
}

}  // namespace sibilant
