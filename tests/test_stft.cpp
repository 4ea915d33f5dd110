// STFT front end (lib/src/dsp/stft.hpp): bin placement, energy (Parseval
// with the window), framing and frame times, bit-identical results for any
// chunking of the input, no allocation in push(), and plan creation from
// several threads at once.
//
// This file also replaces the global operator new/delete (forwarding to
// malloc/free) so that a test can count the allocations a piece of code
// makes on its own thread, or make them fail; other test files use it too.
// It also stands in for FFTW's fftwf_malloc (the library's FFT buffers),
// forwarding to the real one unless allocations are made to fail.
#include "dsp/stft.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <new>
#include <numbers>
#include <random>
#include <thread>
#include <vector>

#include "sibilant/error.hpp"
#include "test_support.hpp"

// ------------------------------------------------------------ allocation count

namespace {
thread_local bool t_counting = false;
thread_local std::size_t t_allocations = 0;
// Allocations on this thread that succeed before every later one fails; -1: no failing.
thread_local std::int64_t t_allocations_before_failure = -1;

// False when this allocation is to fail.
bool allocation_allowed() {
    if (t_allocations_before_failure == 0) return false;
    if (t_allocations_before_failure > 0) --t_allocations_before_failure;
    return true;
}

void* counted_malloc(std::size_t size) {
    if (t_counting) ++t_allocations;
    if (!allocation_allowed()) return nullptr;
    return std::malloc(size ? size : 1);
}

void* counted_aligned(std::size_t size, std::align_val_t alignment) {
    if (t_counting) ++t_allocations;
    if (!allocation_allowed()) return nullptr;
    const std::size_t a = std::max(static_cast<std::size_t>(alignment), sizeof(void*));
    const std::size_t rounded = (std::max<std::size_t>(size, 1) + a - 1) / a * a;
    return std::aligned_alloc(a, rounded);
}
}  // namespace

// The library's FFT buffers come from fftwf_malloc (dsp/fftw_planner.hpp).
// This definition in the executable takes its place for the whole process;
// the real one is found behind it.
extern "C" void* fftwf_malloc(std::size_t size) {
    using Allocate = void* (*)(std::size_t);
    static const Allocate real = reinterpret_cast<Allocate>(dlsym(RTLD_NEXT, "fftwf_malloc"));
    if (!allocation_allowed()) return nullptr;
    return real(size);
}

void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    if (void* p = counted_aligned(size, alignment)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    if (void* p = counted_aligned(size, alignment)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return counted_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return counted_aligned(size, alignment);
}
// GCC sees free() on memory from operator new once these are inlined; that
// is exactly the pairing intended here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace sibilant::test {
// operator new calls that `work` makes on the calling thread.
std::size_t allocations_during(const std::function<void()>& work) {
    t_allocations = 0;
    t_counting = true;
    work();
    t_counting = false;
    return t_allocations;
}

void with_allocations_failing_after(std::size_t allowed, const std::function<void()>& work) {
    t_allocations_before_failure = static_cast<std::int64_t>(allowed);
    try {
        work();
    } catch (...) {
        t_allocations_before_failure = -1;
        throw;
    }
    t_allocations_before_failure = -1;
}
}  // namespace sibilant::test

// ------------------------------------------------------------ tests

namespace {

using sibilant::dsp::Stft;
using sibilant::dsp::StftConfig;
using sibilant::dsp::StftFrame;

constexpr int kRate = 48000;

// Every frame of `x` pushed in one call, power spectra concatenated.
std::vector<float> batch_power(const std::vector<float>& x, const StftConfig& config = {}) {
    Stft stft(config);
    std::vector<float> out;
    stft.push(x, [&](const StftFrame& f) { out.insert(out.end(), f.power.begin(), f.power.end()); });
    return out;
}

double hann(int i, int n) { return 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / n); }

}  // namespace

TEST(Stft, DefaultsAre512PointHannWith5MsHop) {
    Stft stft;
    EXPECT_EQ(stft.config().fft_size, 512);
    EXPECT_EQ(stft.config().hop_samples, 240);
    EXPECT_EQ(stft.bins(), 257);
    EXPECT_DOUBLE_EQ(stft.bin_hz(), 93.75);
}

TEST(Stft, SinePeakLandsInNearestBin) {
    for (double f_hz : {440.0, 1000.0, 3000.0, 6031.0, 12345.0, 19000.0}) {
        const auto x = sibilant::test::sine(f_hz, 0.2, kRate, 0.5);
        Stft stft;
        const long expected = std::lround(f_hz / stft.bin_hz());
        int frames = 0;
        stft.push(x, [&](const StftFrame& frame) {
            const auto peak = std::max_element(frame.power.begin(), frame.power.end()) - frame.power.begin();
            EXPECT_EQ(peak, expected) << f_hz << " Hz, frame " << frame.index;
            ++frames;
        });
        EXPECT_GT(frames, 30);
    }
}

TEST(Stft, PowerSumsToWindowWeightedMeanSquare) {
    // Parseval: with the scaling used, the bins of a frame add up to
    // sum((w x)^2) / sum(w^2), computed here directly in double.
    const auto x = sibilant::test::white_noise(0.3, kRate, 7, 0.3);
    Stft stft;
    const int n = stft.config().fft_size;
    double window_energy = 0.0;
    for (int i = 0; i < n; ++i) window_energy += hann(i, n) * hann(i, n);
    int frames = 0;
    stft.push(x, [&](const StftFrame& frame) {
        double weighted = 0.0;
        const std::size_t first = static_cast<std::size_t>(frame.index) * 240;
        for (int i = 0; i < n; ++i) {
            const double v = hann(i, n) * x[first + static_cast<std::size_t>(i)];
            weighted += v * v;
        }
        double total = 0.0;
        for (float p : frame.power) total += p;
        EXPECT_NEAR(total, weighted / window_energy, 1e-5 * weighted / window_energy) << "frame " << frame.index;
        ++frames;
    });
    EXPECT_EQ(frames, Stft::frame_count(static_cast<std::int64_t>(x.size())));
}

TEST(Stft, SineOfAmplitudeAHasTotalPowerASquaredOverTwo) {
    // Full-scale sine: 0.5, i.e. -3 dB, whatever window and bin it falls in.
    for (double f_hz : {1000.0, 5123.0}) {
        const double amplitude = 0.25;
        const auto x = sibilant::test::sine(f_hz, 0.5, kRate, amplitude);
        Stft stft;
        stft.push(x, [&](const StftFrame& frame) {
            double total = 0.0;
            for (float p : frame.power) total += p;
            EXPECT_NEAR(total, amplitude * amplitude / 2, 0.002 * amplitude * amplitude) << f_hz << " Hz";
        });
    }
}

TEST(Stft, FrameCountAndCentreTimes) {
    for (std::int64_t n : {0, 1, 511, 512, 513, 751, 752, 48000, 480000}) {
        const std::int64_t expected = n < 512 ? 0 : 1 + (n - 512) / 240;
        EXPECT_EQ(Stft::frame_count(n), expected) << n;
        std::vector<float> x(static_cast<std::size_t>(n), 0.0f);
        Stft stft;
        std::int64_t frames = 0;
        stft.push(x, [&](const StftFrame& frame) {
            EXPECT_EQ(frame.index, frames);
            // Centre: where the periodic Hann window peaks, sample k*hop + 256.
            EXPECT_DOUBLE_EQ(frame.centre_s, (double(frame.index) * 240 + 256) / 48000.0);
            ++frames;
        });
        EXPECT_EQ(frames, expected) << n;
        EXPECT_EQ(stft.frames_emitted(), expected);
    }
}

TEST(Stft, CentreTimeIsWhereAnImpulseWeighsMost) {
    // An impulse at sample 1000 weighs most in the frame whose centre is
    // nearest to it: frame k with k*240 + 256 closest to 1000, i.e. k = 3.
    std::vector<float> x(4000, 0.0f);
    x[1000] = 1.0f;
    Stft stft;
    std::int64_t best_frame = -1;
    double best_total = -1.0;
    stft.push(x, [&](const StftFrame& frame) {
        double total = 0.0;
        for (float p : frame.power) total += p;
        if (total > best_total) {
            best_total = total;
            best_frame = frame.index;
        }
    });
    EXPECT_EQ(best_frame, 3);
    EXPECT_NEAR(stft.frame_centre_s(3) * 48000.0, 976.0, 1e-9);
}

TEST(Stft, AnyChunkingGivesBitIdenticalFrames) {
    const auto x = sibilant::test::speech_like(1.3, kRate, 3);
    const auto reference = batch_power(x);
    std::mt19937 rng(11);
    for (std::size_t max_chunk : {std::size_t{1}, std::size_t{7}, std::size_t{240}, std::size_t{1000},
                                  std::size_t{70000}}) {
        std::uniform_int_distribution<std::size_t> chunk(0, max_chunk);
        Stft stft;
        std::vector<float> streamed;
        std::size_t at = 0;
        while (at < x.size()) {
            const std::size_t n = std::min(chunk(rng), x.size() - at);
            stft.push(std::span<const float>(x.data() + at, n),
                      [&](const StftFrame& f) { streamed.insert(streamed.end(), f.power.begin(), f.power.end()); });
            at += n;
        }
        ASSERT_EQ(streamed.size(), reference.size()) << "max chunk " << max_chunk;
        EXPECT_TRUE(std::equal(streamed.begin(), streamed.end(), reference.begin())) << "max chunk " << max_chunk;
    }
}

TEST(Stft, ResetStartsOver) {
    const auto x = sibilant::test::white_noise(0.1, kRate, 5);
    Stft stft;
    std::vector<float> first, second;
    stft.push(x, [&](const StftFrame& f) { first.insert(first.end(), f.power.begin(), f.power.end()); });
    stft.reset();
    EXPECT_EQ(stft.frames_emitted(), 0);
    stft.push(x, [&](const StftFrame& f) { second.insert(second.end(), f.power.begin(), f.power.end()); });
    EXPECT_EQ(first, second);
}

TEST(Stft, AllocationCounterSeesAllocations) {
    // The check below would pass vacuously if the counter saw nothing.
    static std::vector<int>* volatile escape = nullptr;
    const std::size_t allocations = sibilant::test::allocations_during([] {
        escape = new std::vector<int>(100, 1);
        delete escape;
    });
    EXPECT_GE(allocations, 2u);
}

TEST(Stft, PushDoesNotAllocate) {
    const auto x = sibilant::test::speech_like(2.0, kRate, 9);
    Stft stft;
    double sink = 0.0;
    const std::size_t allocations = sibilant::test::allocations_during([&] {
        for (std::size_t at = 0; at < x.size(); at += 333)
            stft.push(std::span<const float>(x.data() + at, std::min<std::size_t>(333, x.size() - at)),
                      [&](const StftFrame& f) { sink += f.power[10]; });
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(sink, 0.0);
}

TEST(Stft, PlansCanBeMadeFromSeveralThreads) {
    // FFTW's planner is not thread-safe; Stft serialises it. Many objects
    // made and destroyed at once must all work and agree.
    const auto x = sibilant::test::white_noise(0.05, kRate, 2);
    const auto reference = batch_power(x);
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i)
                if (batch_power(x) == reference) ++ok[static_cast<std::size_t>(t)];
        });
    for (auto& thread : threads) thread.join();
    for (int count : ok) EXPECT_EQ(count, 25);
}

TEST(Stft, OtherSizesWork) {
    StftConfig config;
    config.fft_size = 1024;
    config.hop_samples = 480;
    const auto x = sibilant::test::sine(3000.0, 0.2, kRate, 0.5);
    Stft stft(config);
    EXPECT_EQ(stft.bins(), 513);
    int frames = 0;
    stft.push(x, [&](const StftFrame& frame) {
        const auto peak = std::max_element(frame.power.begin(), frame.power.end()) - frame.power.begin();
        EXPECT_EQ(peak, 64);  // 3000 / 46.875
        ++frames;
    });
    EXPECT_EQ(frames, Stft::frame_count(static_cast<std::int64_t>(x.size()), config));
}

TEST(Stft, RejectsBadConfig) {
    EXPECT_THROW(Stft(StftConfig{.fft_size = 511}), sibilant::Error);
    EXPECT_THROW(Stft(StftConfig{.fft_size = 8}), sibilant::Error);
    EXPECT_THROW(Stft(StftConfig{.fft_size = 512, .hop_samples = 0}), sibilant::Error);
    EXPECT_THROW(Stft(StftConfig{.fft_size = 512, .hop_samples = 513}), sibilant::Error);
    EXPECT_THROW(Stft(StftConfig{.fft_size = 512, .hop_samples = 240, .rate_hz = 0.0}), sibilant::Error);
}
