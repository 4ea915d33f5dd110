#include "dsp/fftw_planner.hpp"

#include <map>
#include <utility>

namespace sibilant::dsp {

// Defined out of line so that the whole library, however it is linked, has
// exactly one instance.
std::mutex& fftw_planner_mutex() {
    static std::mutex mutex;
    return mutex;
}

namespace {

enum class Kind { R2c, C2r };

fftwf_plan shared_plan(Kind kind, int n) {
    // Plans live until the process exits: destroying them at static
    // destruction could race other static destructors that still use them.
    static auto* plans = new std::map<std::pair<Kind, int>, fftwf_plan>;
    std::lock_guard lock(fftw_planner_mutex());
    const auto found = plans->find({kind, n});
    if (found != plans->end()) return found->second;
    // Scratch buffers for planning only: fftwf_malloc's alignment, out of place.
    const auto bins = static_cast<std::size_t>(n / 2 + 1);
    float* real = fftwf_alloc_real(static_cast<std::size_t>(n));
    fftwf_complex* complex = fftwf_alloc_complex(bins);
    if (!real || !complex) {
        fftwf_free(real);
        fftwf_free(complex);
        throw OutOfMemory("FFT planner: out of memory for a " + std::to_string(n) + "-point transform");
    }
    const fftwf_plan plan = kind == Kind::R2c ? fftwf_plan_dft_r2c_1d(n, real, complex, FFTW_ESTIMATE)
                                              : fftwf_plan_dft_c2r_1d(n, complex, real, FFTW_ESTIMATE);
    fftwf_free(real);
    fftwf_free(complex);
    if (plan) plans->emplace(std::pair{kind, n}, plan);
    return plan;
}

}  // namespace

fftwf_plan shared_r2c_plan(int n) { return shared_plan(Kind::R2c, n); }
fftwf_plan shared_c2r_plan(int n) { return shared_plan(Kind::C2r, n); }

}  // namespace sibilant::dsp
