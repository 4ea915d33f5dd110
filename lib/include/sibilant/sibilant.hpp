// Umbrella header for sibilant's C++ API.
#pragma once

#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/batch.hpp"
#include "sibilant/error.hpp"
#include "sibilant/loss.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/resampler.hpp"
#include "sibilant/simulate.hpp"
#include "sibilant/version.hpp"
