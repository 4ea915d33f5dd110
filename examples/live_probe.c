/* A live probe in a server, in C: one probe per stream, 10 ms of decoded
 * 16-bit audio at a time, events polled as they come, the summary at the end.
 * Here the "stream" is a 48 kHz mono file (read with libsndfile) so that the
 * example runs anywhere; a server pushes what its decoder gives it.
 *
 *   cc live_probe.c $(pkg-config --cflags --libs sibilant sndfile) -o live_probe
 *   sibilant simulate speech.flac narrow.wav --bitrate 6000 --out-rate 48000
 *   ./live_probe narrow.wav
 */
#include <stdio.h>

#include <sndfile.h>
#include <sibilant/sibilant.h>

#define CHUNK 480 /* 10 ms at 48 kHz */

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: live_probe FILE (48 kHz mono)\n");
        return 2;
    }
    SF_INFO info = {0};
    SNDFILE* file = sf_open(argv[1], SFM_READ, &info);
    if (file == NULL || info.samplerate != 48000 || info.channels != 1) {
        fprintf(stderr, "live_probe: %s: %s\n", argv[1], file ? "not 48 kHz mono" : sf_strerror(NULL));
        return 2;
    }

    sibilant_probe_config config;
    sibilant_probe_config_init(&config); /* no reference: a server only has the stream */
    sibilant_probe* probe = NULL;
    int rc = sibilant_probe_create(&config, &probe);
    if (rc != SIBILANT_OK) {
        fprintf(stderr, "live_probe: %s\n", sibilant_strerror(rc));
        return 2;
    }

    short chunk[CHUNK];
    sibilant_event event; /* caller-owned: polling allocates nothing */
    sf_count_t n;
    while ((n = sf_readf_short(file, chunk, CHUNK)) > 0) {
        rc = sibilant_probe_push_int16(probe, chunk, (size_t)n); /* real-time safe */
        if (rc != SIBILANT_OK) fprintf(stderr, "live_probe: push: %s\n", sibilant_strerror(rc));
        while (sibilant_probe_poll_event(probe, &event) == 1)
            if (event.flagged) printf("flagged: %s\n", event.why);
    }
    sibilant_probe_finish(probe);
    while (sibilant_probe_poll_event(probe, &event) == 1)
        if (event.flagged) printf("flagged: %s\n", event.why);

    sibilant_summary summary;
    sibilant_probe_summary(probe, &summary);
    printf("%lld sibilants, %lld flagged, lisp_index %.1f, smearing_index %.1f, bandwidth %.0f Hz, "
           "worst latency %.0f ms: %s\n",
           (long long)summary.sibilants, (long long)summary.flagged, summary.lisp_index, summary.smearing_index,
           summary.degraded_bandwidth_hz, 1000.0 * summary.max_event_latency_s, summary.verdict);
    sibilant_probe_destroy(probe);
    sf_close(file);
    return 0;
}
