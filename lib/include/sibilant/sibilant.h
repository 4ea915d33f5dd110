/* sibilant C API: the live quality probe (issue #4) for servers in any
 * language. One probe per stream: create it from a config, push the stream's
 * audio (or its Opus packets) in chunks of any size, poll the sibilant events
 * as they are judged, read the summary at any time, destroy it.
 *
 * Audio is mono, 48 kHz: float samples nominally in [-1, 1], or 16-bit.
 * Times are seconds of stream time from the first sample pushed.
 *
 * Errors: functions return SIBILANT_OK (0) or a negative sibilant_error;
 * sibilant_strerror() names it. Nothing throws or aborts across this API.
 *
 * Real time: after sibilant_probe_create(), the push, finish and
 * poll_event functions allocate nothing, take no lock and never block.
 * sibilant_probe_summary() allocates a few bytes internally; _create and
 * _reset allocate (call them between streams).
 *
 * Thread safety: a probe is used by one thread at a time (the caller locks
 * if it shares one). Different probes need no locking between them, on one
 * thread or many: create them from any threads; many probes on one thread
 * are fine.
 *
 * Memory: about 0.5 MB per no-reference probe, about 7 MB with a reference
 * (see README "Live probe" and bench/; measured, not promised).
 */
#ifndef SIBILANT_H
#define SIBILANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sibilant_error {
    SIBILANT_OK = 0,
    SIBILANT_ERR_INVALID_ARGUMENT = -1, /* a null pointer, or a config value out of range */
    SIBILANT_ERR_WRONG_MODE = -2,       /* a reference push to a no-reference probe, or the reverse */
    SIBILANT_ERR_FINISHED = -3,         /* pushed after sibilant_probe_finish() */
    SIBILANT_ERR_OUT_OF_MEMORY = -4,
    SIBILANT_ERR_MALFORMED_PACKET = -5, /* counted and skipped; the probe goes on */
    SIBILANT_ERR_INTERNAL = -6
} sibilant_error;

/* A static English sentence for a sibilant_error (any int is accepted). */
const char* sibilant_strerror(int error);
/* The library's version, "MAJOR.MINOR.PATCH"; and as MAJOR*10000+MINOR*100+PATCH. */
const char* sibilant_version(void);
int sibilant_version_number(void);

typedef enum sibilant_mode {
    SIBILANT_MODE_NO_REFERENCE = 0, /* only the processed stream */
    SIBILANT_MODE_REFERENCE = 1     /* the original and the processed stream, pushed in step */
} sibilant_mode;

typedef struct sibilant_probe_config {
    int mode;                        /* a sibilant_mode */
    double lisp_flag_threshold;      /* 0..100, default 50 */
    double smearing_flag_threshold;  /* 0..100, default 50 */
    int event_capacity;              /* events held until polled, 1..65536, default 64; the
                                        oldest is overwritten when full (still summarised) */
} sibilant_probe_config;

/* Fills the defaults (no-reference). */
void sibilant_probe_config_init(sibilant_probe_config* config);

typedef struct sibilant_probe sibilant_probe;

/* Creates a probe into *probe. SIBILANT_ERR_INVALID_ARGUMENT names nothing
 * more: check the ranges above. */
int sibilant_probe_create(const sibilant_probe_config* config, sibilant_probe** probe);
/* Destroys a probe; null is ignored. */
void sibilant_probe_destroy(sibilant_probe* probe);

/* No-reference probes: the next samples of the processed stream. */
int sibilant_probe_push_float(sibilant_probe* probe, const float* samples, size_t count);
int sibilant_probe_push_int16(sibilant_probe* probe, const int16_t* samples, size_t count);
/* Reference probes: the next `count` samples of both streams. */
int sibilant_probe_push_float_ref(sibilant_probe* probe, const float* reference, const float* degraded,
                                  size_t count);
int sibilant_probe_push_int16_ref(sibilant_probe* probe, const int16_t* reference, const int16_t* degraded,
                                  size_t count);
/* No-reference probes: one Opus packet and its 16-bit RTP sequence number.
 * Gaps in the sequence are concealed (in-band FEC when the next packet has
 * it, else PLC); late and duplicate packets are dropped; malformed ones
 * return SIBILANT_ERR_MALFORMED_PACKET and are skipped. */
int sibilant_probe_push_opus(sibilant_probe* probe, uint16_t sequence, const uint8_t* packet, size_t bytes);
/* End of the stream: judges what is pending. Further pushes return
 * SIBILANT_ERR_FINISHED until sibilant_probe_reset(). */
int sibilant_probe_finish(sibilant_probe* probe);
/* Clears the stream state, keeps the config. Allocates. */
int sibilant_probe_reset(sibilant_probe* probe);

#define SIBILANT_WHY_CAPACITY 640

typedef struct sibilant_event {
    double start_s, end_s;   /* the sibilant, in stream time */
    char cls[4];             /* "s" (/s z/-like) or "sh" (/sh zh/-like) */
    double lisp;             /* 0..100, 0 = transparent */
    double smearing;         /* 0..100 */
    int dropout;             /* 1: the sibilant vanished or was holed (reference mode only) */
    int flagged;             /* 1: a score reached its threshold, or a dropout */
    int compared;            /* 0: not judged (reference mode: a delay-step guard zone) */
    double cog_hz;           /* centre of gravity of the processed sibilant */
    double bandwidth_hz;     /* highest frequency the processed signal carries here */
    char why[SIBILANT_WHY_CAPACITY]; /* one sentence with the numbers behind the scores */
} sibilant_event;

/* Takes the oldest event not yet polled into *event. Returns 1 when it did,
 * 0 when there is none, or a negative error. */
int sibilant_probe_poll_event(sibilant_probe* probe, sibilant_event* event);

typedef struct sibilant_summary {
    int64_t sibilants, flagged, compared, dropouts;
    double lisp_index;           /* 0..100 */
    double smearing_index;       /* 0..100 */
    char verdict[40];            /* "clean", "lisp", "smearing", "dropouts", "lisp+smearing", ...,
                                    "no-sibilants" */
    double degraded_bandwidth_hz;
    double max_event_latency_s;  /* worst sibilant-end-to-event delay seen, stream time (with a
                                    reference an upper bound, seconds: see probe.hpp) */
    int64_t samples;             /* processed-stream samples taken */
    int64_t overwritten_events;
    int aligned;                 /* reference mode: the delay is locked */
    double delay_ms, gain_db;    /* reference mode: the locked alignment in use (it follows delay steps) */
} sibilant_summary;

int sibilant_probe_summary(const sibilant_probe* probe, sibilant_summary* summary);

/* Opus input: what the packets' TOC bytes said, without spectral work. */
typedef enum sibilant_codec_mode { SIBILANT_SILK = 0, SIBILANT_HYBRID = 1, SIBILANT_CELT = 2 } sibilant_codec_mode;
typedef enum sibilant_bandwidth {
    SIBILANT_NB = 1, SIBILANT_MB = 2, SIBILANT_WB = 3, SIBILANT_SWB = 4, SIBILANT_FB = 5
} sibilant_bandwidth;

typedef struct sibilant_toc_change {
    double time_s;         /* stream time at the packet that changed it */
    int64_t packet;        /* index among the packets pushed */
    int kind;              /* 0 start, 1 restart, 2 change */
    int mode, bandwidth;   /* sibilant_codec_mode, sibilant_bandwidth */
    double frame_ms;
    int previous_mode, previous_bandwidth;
    double previous_frame_ms;
} sibilant_toc_change;

/* Copies up to `capacity` timeline entries (oldest first) into `changes`
 * and returns how many there are in all (may exceed capacity), or a
 * negative error. */
int sibilant_probe_timeline(const sibilant_probe* probe, sibilant_toc_change* changes, size_t capacity);
/* "SILK", "Hybrid", "CELT"; "NB", "MB", "WB", "SWB", "FB" (static strings). */
const char* sibilant_codec_mode_name(int mode);
const char* sibilant_bandwidth_name(int bandwidth);

typedef struct sibilant_packet_stats {
    int64_t received, decoded, lost, fec_recovered, plc, late, duplicate, malformed, restarts;
    double concealed_s;
} sibilant_packet_stats;

int sibilant_probe_packet_stats(const sibilant_probe* probe, sibilant_packet_stats* stats);

#ifdef __cplusplus
}
#endif

#endif /* SIBILANT_H */
