// One lock for FFTW's planner, shared by every FFT user in the library.
//
// FFTW's planner (fftwf_plan_* and fftwf_destroy_plan) is not thread-safe,
// and a separate mutex per file would not help: two files planning at the
// same time would still race. Executing an existing plan on separate buffers
// is thread-safe and needs no lock.
#pragma once

#include <mutex>

namespace sibilant::dsp {

/// Hold this while creating or destroying any FFTW plan.
std::mutex& fftw_planner_mutex();

}  // namespace sibilant::dsp
