# Third-party libraries, all from Debian packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
pkg_check_modules(LIBPNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
# The probe service (service/) and its tests: HTTP server and client.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)

# The GStreamer element (gst/), by SIBILANT_GSTREAMER: AUTO, ON or OFF.
string(TOUPPER "${SIBILANT_GSTREAMER}" SIBILANT_GSTREAMER_MODE)
if(NOT SIBILANT_GSTREAMER_MODE MATCHES "^(AUTO|ON|OFF|TRUE|FALSE|YES|NO|1|0)$")
  message(FATAL_ERROR "SIBILANT_GSTREAMER is '${SIBILANT_GSTREAMER}'; use AUTO, ON or OFF")
endif()
set(SIBILANT_GSTREAMER_ENABLED OFF)
if(SIBILANT_GSTREAMER_MODE STREQUAL "AUTO" OR SIBILANT_GSTREAMER_MODE MATCHES "^(ON|TRUE|YES|1)$")
  pkg_check_modules(GSTREAMER IMPORTED_TARGET GLOBAL gstreamer-1.0 gstreamer-base-1.0 gstreamer-audio-1.0)
  if(GSTREAMER_FOUND)
    set(SIBILANT_GSTREAMER_ENABLED ON)
  elseif(SIBILANT_GSTREAMER_MODE STREQUAL "AUTO")
    message(STATUS "GStreamer development packages not found: the sibilantprobe plugin is not built")
  else()
    message(FATAL_ERROR "SIBILANT_GSTREAMER=${SIBILANT_GSTREAMER} but pkg-config did not find gstreamer-1.0, "
                        "gstreamer-base-1.0 and gstreamer-audio-1.0 (Debian: libgstreamer1.0-dev "
                        "libgstreamer-plugins-base1.0-dev; scripts/setup.sh installs them). "
                        "Configure with -DSIBILANT_GSTREAMER=AUTO or OFF to build without the plugin.")
  endif()
endif()
