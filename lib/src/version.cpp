#include "sibilant/version.hpp"

namespace sibilant {
const char* version() noexcept { return SIBILANT_VERSION_STRING; }
}  // namespace sibilant
