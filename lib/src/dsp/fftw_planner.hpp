// One lock for FFTW's planner, shared by every FFT user in the library, and
// the library's FFT plans, made once per size.
//
// FFTW's planner (fftwf_plan_* and fftwf_destroy_plan) is not thread-safe,
// and a separate mutex per file would not help: two files planning at the
// same time would still race. Executing an existing plan on separate buffers
// is thread-safe and needs no lock.
#pragma once

#include <fftw3.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "sibilant/error.hpp"

namespace sibilant::dsp {

/// Hold this while creating or destroying any FFTW plan.
std::mutex& fftw_planner_mutex();

/// Out-of-place FFTW_ESTIMATE plans of an n-point real transform, made on
/// the first request for that size and kept for the life of the process
/// (never destroy them). Every analysis needs the same few sizes, and
/// planning, even from FFTW's wisdom, cost more than some of the stages that
/// use the plans. ESTIMATE picks the same plan for the same size, alignment
/// and placement every time, so results do not depend on who planned first.
/// Execute only with fftwf_execute_dft_r2c / fftwf_execute_dft_c2r on
/// distinct fftwf_malloc'd input and output buffers (the alignment the plans
/// were made for). They take the planner lock themselves; return nullptr if
/// FFTW cannot plan the size, and throw OutOfMemory when the scratch buffers
/// for planning cannot be had. (FFTW 3.3's planner checks its own
/// allocations and aborts the process when one fails, kernel/alloc.c: only
/// the first probe or analysis that needs a size plans it; later ones look
/// the plan up.)
fftwf_plan shared_r2c_plan(int n);
fftwf_plan shared_c2r_plan(int n);

/// Deleter for buffers from fftwf_malloc.
struct FftwFree {
    void operator()(void* p) const noexcept { fftwf_free(p); }
};

/// `count` zeroed values of T, aligned as FFTW's plans expect. Throws
/// OutOfMemory naming `user` when memory runs out.
template <class T>
std::unique_ptr<T, FftwFree> fftw_array(std::size_t count, const char* user) {
    auto* p = static_cast<T*>(fftwf_malloc(sizeof(T) * count));
    if (!p) throw OutOfMemory(std::string(user) + ": out of memory for " + std::to_string(count) + " FFT values");
    std::memset(static_cast<void*>(p), 0, sizeof(T) * count);
    return std::unique_ptr<T, FftwFree>(p);
}

}  // namespace sibilant::dsp
