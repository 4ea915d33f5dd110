#include "dsp/fftw_planner.hpp"

namespace sibilant::dsp {

// Defined out of line so that the whole library, however it is linked, has
// exactly one instance.
std::mutex& fftw_planner_mutex() {
    static std::mutex mutex;
    return mutex;
}

}  // namespace sibilant::dsp
