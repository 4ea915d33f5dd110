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

# The Python module (python/), by SIBILANT_PYTHON: AUTO, ON or OFF. Debian's
# pybind11 and numpy are for /usr/bin/python3, so that interpreter is the
# default even when another python3 comes first on PATH (pyenv). Off in
# sanitizer builds: an instrumented extension needs the sanitizer runtime
# preloaded into the interpreter.
string(TOUPPER "${SIBILANT_PYTHON}" SIBILANT_PYTHON_MODE)
set(SIBILANT_PYTHON_ENABLED OFF)
if(SIBILANT_PYTHON_MODE MATCHES "^(ON|TRUE|YES|1)$" OR
   (SIBILANT_PYTHON_MODE STREQUAL "AUTO" AND NOT SIBILANT_SANITIZE AND NOT SIBILANT_TSAN))
  if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module)
  if(Python3_FOUND)
    find_package(pybind11 2.6 CONFIG)
  endif()
  if(Python3_FOUND AND pybind11_FOUND)
    set(SIBILANT_PYTHON_ENABLED ON)
  elseif(SIBILANT_PYTHON_MODE STREQUAL "AUTO")
    message(STATUS "Python 3 development files or pybind11 not found: the Python module is not built")
  else()
    message(FATAL_ERROR "SIBILANT_PYTHON=${SIBILANT_PYTHON} but Python 3's development files or pybind11 "
                        "were not found (Debian: python3-dev pybind11-dev; scripts/setup.sh installs them)")
  endif()
endif()
