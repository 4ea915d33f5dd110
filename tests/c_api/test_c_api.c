/* The C API compiles as C11 and behaves: codes, strerror, version, both
 * modes, polling into caller structs, summary, Opus packets (malformed ones
 * refused), reset. A synthetic stream: a vowel-like buzz with a /s/-like
 * noise burst (resonant near 7 kHz) every half second; its degraded copy
 * keeps only what a 4 kHz channel would. Exit 0 when every check passed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sibilant/sibilant.h>

#define RATE_HZ 48000
#define SECONDS 6
#define N (SECONDS * RATE_HZ)

static int failures = 0;
#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                  \
        }                                                                \
    } while (0)

static float reference[N], degraded[N];

/* Buzz; from 0.30 to 0.45 s of every half second, noise through a resonator
 * at 7 kHz. The degraded: the same through four one-pole low-passes at 4 kHz
 * (about -20 dB at 7 kHz, -30 dB at 10 kHz). */
static void make_signals(void) {
    unsigned seed = 12345;
    double y1 = 0, y2 = 0, lp[4] = {0, 0, 0, 0};
    const double r = 0.85, w = 2.0 * M_PI * 7000.0 / RATE_HZ;
    const double a = 1.0 - exp(-2.0 * M_PI * 4000.0 / RATE_HZ);
    for (int n = 0; n < N; ++n) {
        const double t = (double)n / RATE_HZ, cycle = fmod(t, 0.5);
        double buzz = 0.0;
        for (int h = 1; h <= 25; ++h) buzz += sin(2.0 * M_PI * 110.0 * h * t) / h;
        seed = seed * 1664525u + 1013904223u;
        const double noise = (double)(seed >> 8) / 16777216.0 - 0.5;
        const double y = noise + 2.0 * r * cos(w) * y1 - r * r * y2;
        y2 = y1;
        y1 = y;
        const double hiss = cycle >= 0.30 && cycle < 0.45 ? 0.15 * y : 0.0;
        const double x = (cycle < 0.30 || cycle >= 0.45 ? 0.08 * buzz : 0.0) + hiss;
        double v = x;
        for (int k = 0; k < 4; ++k) v = lp[k] += a * (v - lp[k]);
        reference[n] = (float)x;
        degraded[n] = (float)v;
    }
}

/* Pushes both signals in uneven chunks; returns the flagged events seen. */
static int run(sibilant_probe* probe, int with_reference, int* events) {
    sibilant_event e;
    int flagged = 0;
    *events = 0;
    for (int pos = 0; pos < N;) {
        int n = 1 + (int)(((long long)pos * 7919) % 1500);
        if (n > N - pos) n = N - pos;
        const int rc = with_reference ? sibilant_probe_push_float_ref(probe, reference + pos, degraded + pos, (size_t)n)
                                      : sibilant_probe_push_float(probe, degraded + pos, (size_t)n);
        CHECK(rc == SIBILANT_OK);
        pos += n;
        while (sibilant_probe_poll_event(probe, &e) == 1) {
            ++*events;
            flagged += e.flagged;
            CHECK(strlen(e.why) > 10);
            CHECK(e.end_s > e.start_s);
            CHECK(e.lisp >= 0.0 && e.lisp <= 100.0);
        }
    }
    CHECK(sibilant_probe_finish(probe) == SIBILANT_OK);
    while (sibilant_probe_poll_event(probe, &e) == 1) {
        ++*events;
        flagged += e.flagged;
    }
    return flagged;
}

int main(void) {
    make_signals();
    CHECK(strcmp(sibilant_strerror(SIBILANT_ERR_WRONG_MODE), sibilant_strerror(SIBILANT_OK)) != 0);
    CHECK(sibilant_strerror(-999) != NULL);
    CHECK(sibilant_version() != NULL && strchr(sibilant_version(), '.') != NULL);
    CHECK(sibilant_version_number() >= 100);

    sibilant_probe_config config;
    sibilant_probe_config_init(&config);
    CHECK(config.mode == SIBILANT_MODE_NO_REFERENCE && config.event_capacity > 0);
    sibilant_probe* probe = NULL;
    CHECK(sibilant_probe_create(NULL, &probe) == SIBILANT_ERR_INVALID_ARGUMENT);
    config.lisp_flag_threshold = 200.0;
    CHECK(sibilant_probe_create(&config, &probe) == SIBILANT_ERR_INVALID_ARGUMENT && probe == NULL);
    sibilant_probe_config_init(&config);

    /* With a reference: the 4 kHz copy loses the /s/ noise: lisp. */
    config.mode = SIBILANT_MODE_REFERENCE;
    CHECK(sibilant_probe_create(&config, &probe) == SIBILANT_OK && probe != NULL);
    CHECK(sibilant_probe_push_float(probe, degraded, 10) == SIBILANT_ERR_WRONG_MODE);
    int events = 0;
    const int flagged = run(probe, 1, &events);
    sibilant_summary s;
    CHECK(sibilant_probe_summary(probe, &s) == SIBILANT_OK);
    printf("reference mode: %d events, %d flagged; lisp_index %.1f, verdict %s, delay %.2f ms, latency %.0f ms\n",
           events, flagged, s.lisp_index, s.verdict, s.delay_ms, 1000.0 * s.max_event_latency_s);
    CHECK(s.aligned == 1);
    CHECK(fabs(s.delay_ms) < 1.0);
    CHECK(events >= 8);
    CHECK(flagged >= events / 2);
    CHECK(s.lisp_index > 50.0);
    CHECK(strstr(s.verdict, "lisp") != NULL);
    /* With a reference an event waits for its delay to be final (probe.hpp,
       "Delay steps"): seconds, at most the 8 s store and the detector's 150 ms. */
    CHECK(s.max_event_latency_s > 0.0 && s.max_event_latency_s < 8.15);
    CHECK(sibilant_probe_push_float_ref(probe, reference, degraded, 10) == SIBILANT_ERR_FINISHED);
    CHECK(sibilant_probe_reset(probe) == SIBILANT_OK);
    CHECK(sibilant_probe_summary(probe, &s) == SIBILANT_OK && s.sibilants == 0 && s.samples == 0);
    sibilant_probe_destroy(probe);

    /* Without a reference: runs, and packets are refused cleanly when bad. */
    config.mode = SIBILANT_MODE_NO_REFERENCE;
    CHECK(sibilant_probe_create(&config, &probe) == SIBILANT_OK);
    const unsigned char garbage[3] = {0xff, 0xff, 0xff};
    CHECK(sibilant_probe_push_opus(probe, 1, garbage, sizeof garbage) == SIBILANT_ERR_MALFORMED_PACKET);
    sibilant_packet_stats ps;
    CHECK(sibilant_probe_packet_stats(probe, &ps) == SIBILANT_OK && ps.malformed == 1);
    CHECK(sibilant_probe_timeline(probe, NULL, 0) == 0);
    run(probe, 0, &events);
    CHECK(sibilant_probe_summary(probe, &s) == SIBILANT_OK);
    printf("no-reference mode: %d events; lisp_index %.1f, bandwidth %.0f Hz, verdict %s\n", events, s.lisp_index,
           s.degraded_bandwidth_hz, s.verdict);
    CHECK(s.samples == N);
    CHECK(s.degraded_bandwidth_hz > 0.0);
    /* After finish a packet is refused as FINISHED, as samples are (it used
     * to be MALFORMED_PACKET; found by fuzz_c_api), until reset. */
    CHECK(sibilant_probe_finish(probe) == SIBILANT_OK);
    CHECK(sibilant_probe_push_opus(probe, 2, garbage, sizeof garbage) == SIBILANT_ERR_FINISHED);
    CHECK(sibilant_probe_reset(probe) == SIBILANT_OK);
    CHECK(sibilant_probe_push_opus(probe, 3, garbage, sizeof garbage) == SIBILANT_ERR_MALFORMED_PACKET);
    sibilant_probe_destroy(probe);
    sibilant_probe_destroy(NULL);

    CHECK(strcmp(sibilant_bandwidth_name(SIBILANT_WB), "WB") == 0);
    CHECK(strcmp(sibilant_codec_mode_name(SIBILANT_HYBRID), "Hybrid") == 0);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
