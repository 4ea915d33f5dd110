// The C API when memory runs out (issue #12): sibilant_probe_create() returns
// SIBILANT_ERR_OUT_OF_MEMORY, leaves no probe and leaks nothing (the
// sanitizer build checks leaks), whichever of its allocations fails; and a
// created probe's push, poll and finish keep working with no memory left at
// all, because they allocate nothing. The failing allocator is
// test::with_allocations_failing_after() (operator new and fftwf_malloc).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sibilant/sibilant.h"
#include "test_support.hpp"

namespace sibilant {
namespace {

sibilant_probe_config config_for(int mode) {
    sibilant_probe_config config;
    sibilant_probe_config_init(&config);
    config.mode = mode;
    return config;
}

// Fails the first, second, ... allocation of create in turn until create has
// all it needs; returns how many allocations create makes.
std::size_t expect_out_of_memory_at_every_allocation(int mode) {
    const sibilant_probe_config config = config_for(mode);
    // One create first, so that the FFT plans it needs are made (FFTW plans
    // once per process, see dsp/fftw_planner.hpp) and what follows measures
    // only what every create allocates.
    sibilant_probe* warm = nullptr;
    EXPECT_EQ(sibilant_probe_create(&config, &warm), SIBILANT_OK);
    sibilant_probe_destroy(warm);

    constexpr std::size_t kMaxAllocations = 100000;
    for (std::size_t allowed = 0; allowed < kMaxAllocations; ++allowed) {
        sibilant_probe* probe = reinterpret_cast<sibilant_probe*>(1);
        int code = 0;
        test::with_allocations_failing_after(allowed, [&] { code = sibilant_probe_create(&config, &probe); });
        if (code == SIBILANT_OK) {
            EXPECT_NE(probe, nullptr);
            sibilant_probe_destroy(probe);
            return allowed;
        }
        EXPECT_EQ(code, SIBILANT_ERR_OUT_OF_MEMORY) << "allocation " << allowed << " failing";
        EXPECT_EQ(probe, nullptr) << "allocation " << allowed << " failing left a probe";
        if (code != SIBILANT_ERR_OUT_OF_MEMORY) break;
    }
    ADD_FAILURE() << "create never succeeded";
    return 0;
}

TEST(CApiFaults, CreateReportsOutOfMemoryWhicheverAllocationFails) {
    const std::size_t no_reference = expect_out_of_memory_at_every_allocation(SIBILANT_MODE_NO_REFERENCE);
    const std::size_t reference = expect_out_of_memory_at_every_allocation(SIBILANT_MODE_REFERENCE);
    // A probe is made of many parts (STFTs, rings, the event store, and with
    // a reference the aligner): each was made to fail on its own.
    EXPECT_GT(no_reference, 10u);
    EXPECT_GT(reference, no_reference);
    RecordProperty("no_reference_allocations", static_cast<int>(no_reference));
    RecordProperty("reference_allocations", static_cast<int>(reference));
}

TEST(CApiFaults, PushPollAndFinishWorkWithNoMemoryLeft) {
    const std::vector<float> speech = test::speech_like(6.0, 48000, 3);
    std::vector<std::int16_t> speech16(speech.size());
    for (std::size_t i = 0; i < speech.size(); ++i) speech16[i] = static_cast<std::int16_t>(speech[i] * 20000.0f);
    for (const int mode : {SIBILANT_MODE_NO_REFERENCE, SIBILANT_MODE_REFERENCE}) {
        const sibilant_probe_config config = config_for(mode);
        sibilant_probe* probe = nullptr;
        ASSERT_EQ(sibilant_probe_create(&config, &probe), SIBILANT_OK);
        int events = 0;
        sibilant_event event;
        // Every allocation from here on fails; one would end the process
        // (push is noexcept), so the test passing is the proof.
        test::with_allocations_failing_after(0, [&] {
            for (std::size_t at = 0; at < speech.size(); at += 1000) {
                const std::size_t n = std::min<std::size_t>(1000, speech.size() - at);
                const int code = mode == SIBILANT_MODE_REFERENCE
                                     ? (at % 2000 ? sibilant_probe_push_float_ref(probe, &speech[at], &speech[at], n)
                                                  : sibilant_probe_push_int16_ref(probe, &speech16[at], &speech16[at], n))
                                     : (at % 2000 ? sibilant_probe_push_float(probe, &speech[at], n)
                                                  : sibilant_probe_push_int16(probe, &speech16[at], n));
                ASSERT_EQ(code, SIBILANT_OK) << "push at sample " << at;
                while (sibilant_probe_poll_event(probe, &event) == 1) ++events;
            }
            ASSERT_EQ(sibilant_probe_finish(probe), SIBILANT_OK);
            while (sibilant_probe_poll_event(probe, &event) == 1) ++events;
        });
        EXPECT_GT(events, 3) << "mode " << mode << ": the speech-like signal's sibilants were judged";
        sibilant_summary summary;
        ASSERT_EQ(sibilant_probe_summary(probe, &summary), SIBILANT_OK);
        EXPECT_EQ(summary.sibilants, events);
        sibilant_probe_destroy(probe);
    }
}

}  // namespace
}  // namespace sibilant
