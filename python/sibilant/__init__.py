"""sibilant: does a speech codec make people sound like they lisp?

The analyzer, the Opus channel simulation and the live probe of the sibilant
C++ library, on numpy arrays and files. Results are the library's own: a
result's ``to_dict()`` is the JSON that ``sibilant analyze --json`` writes,
key for key and value for value.

    >>> import sibilant
    >>> x, rate = sibilant.read_audio("speech.flac", rate=0)
    >>> y, report = sibilant.simulate(x, rate, bitrate_bps=12000, loss="ge:0.02,0.3", seed=1)
    >>> result = sibilant.analyze(x, y, rate)
    >>> result.lisp_index, result.verdict

Samples are float32/float64 at full scale +-1.0, or int16 (full scale
32768); 1-D, or 2-D as (frames, channels), mixed down by the mean unless a
``channel`` is chosen. Any rate from 8 kHz to 192 kHz; the analysis runs at
48 kHz. Errors are ``sibilant.Error`` (a ValueError) with the library's
message, or TypeError/ValueError for arrays of the wrong kind. The GIL is
released while the library works, so threads analyse in parallel.
"""

import json as _json

from . import _sibilant
from ._sibilant import Error

__all__ = [
    "Error",
    "Probe",
    "Result",
    "analyze",
    "analyze_files",
    "read_audio",
    "read_results",
    "simulate",
    "__version__",
    "scoring_version",
]

__version__ = _sibilant.version
#: Version of the scoring rules (changes when scores change on purpose).
scoring_version = _sibilant.scoring_version


class Result:
    """One analysis. The summary's figures are attributes (``sibilants``,
    ``flagged``, ``compared``, ``lisp_flagged``, ``smearing_flagged``,
    ``lisp_index``, ``smearing_index`` (0..100), ``dropouts``, ``verdict``),
    as are ``mode``, ``reference``, ``degraded``, ``degraded_bandwidth_hz``,
    ``alignment`` (a dict) and ``events`` (a list of dicts, one per sibilant,
    in time order, each with its ``why``)."""

    def __init__(self, document):
        self._document = document
        for key, value in document.items():
            if key not in ("summary", "events"):
                setattr(self, key, value)
        for key, value in document["summary"].items():
            setattr(self, key, value)
        self.summary = dict(document["summary"])
        self.events = document["events"]

    def to_dict(self):
        """The whole result, exactly as ``sibilant analyze --json`` writes it."""
        return _json.loads(_json.dumps(self._document))

    def events_frame(self):
        """The events as a pandas DataFrame, one row per event; the measures
        of each side and the score parts are flattened into columns
        (``reference.cog_hz``, ``parts.lisp_top``, ...). Needs pandas."""
        import pandas

        return pandas.json_normalize(self.events) if self.events else pandas.DataFrame()

    def __repr__(self):
        return (f"<sibilant.Result {self.mode}: {self.verdict}, lisp {self.lisp_index}, "
                f"smearing {self.smearing_index}, {self.sibilants} sibilants>")


def _options(lisp_threshold, smearing_threshold, channel, alignment):
    return dict(lisp_threshold=float(lisp_threshold), smearing_threshold=float(smearing_threshold),
                channel=int(channel), alignment=alignment)


def analyze(*signals, rate=None, lisp_threshold=50.0, smearing_threshold=50.0, channel=-1,
            alignment="whole-file"):
    """``analyze(reference, degraded, rate)`` compares a processed signal
    with its original; ``analyze(degraded, rate)`` judges one signal against
    clean-speech norms (no reference). ``rate`` (Hz) may be positional or a
    keyword. ``alignment``: "whole-file" (the default) or "incremental" (as
    the live probe aligns). Thresholds 0..100. Returns a Result."""
    signals = list(signals)
    if rate is None:
        if len(signals) < 2 or hasattr(signals[-1], "shape"):
            raise TypeError("analyze: the sample rate is missing: analyze(reference, degraded, rate) "
                            "or analyze(degraded, rate)")
        rate = signals.pop()
    if len(signals) == 1:
        reference, degraded = None, signals[0]
    elif len(signals) == 2:
        reference, degraded = signals
    else:
        raise TypeError("analyze(reference, degraded, rate) or analyze(degraded, rate)")
    document = _sibilant.analyze_arrays(reference, degraded, int(rate),
                                        **_options(lisp_threshold, smearing_threshold, channel, alignment))
    return Result(_json.loads(document))


def analyze_files(reference_path, degraded_path=None, *, lisp_threshold=50.0, smearing_threshold=50.0,
                  channel=-1, alignment="whole-file"):
    """``analyze_files(ref_path, deg_path)`` runs what ``sibilant analyze REF
    DEG`` runs; ``analyze_files(deg_path)`` what ``sibilant analyze
    --no-reference DEG`` runs. Any format libsndfile reads, any rate."""
    if degraded_path is None:
        reference_path, degraded_path = None, reference_path
    document = _sibilant.analyze_paths(None if reference_path is None else str(reference_path), str(degraded_path),
                                       **_options(lisp_threshold, smearing_threshold, channel, alignment))
    return Result(_json.loads(document))


def simulate(x, rate, *, seed=1, output_rate=0, channel=-1, **settings):
    """Passes a signal through libopus and a packet-loss model, as ``sibilant
    simulate`` does. ``settings`` are a sweep profile's keys, with the same
    defaults and checks: bitrate_bps (default 24000), application, complexity,
    frame_ms, bandwidth, max_bandwidth, rate_control, signal, fec,
    expected_loss_percent, dtx, loss ("none", "bernoulli:P",
    "ge:P,R[,LOSS_GOOD,LOSS_BAD]", "trace:FILE"). int16 input takes
    libopus's 16-bit path (as opus_demo does), float input the float path.

    Returns ``(decoded, report)``: float32 samples at ``output_rate`` (0: the
    input's rate; or 48000), exactly as long as the input, and the report as
    ``sibilant simulate --json`` writes it (a dict). The same seed gives the
    same losses and the same samples."""
    profile = dict(settings)
    profile["name"] = "simulate"
    decoded, report = _sibilant.simulate(x, int(rate), _json.dumps(profile), int(seed), int(output_rate), int(channel))
    return decoded, _json.loads(report)


def read_audio(path, rate=48000, channel=-1):
    """Reads a file as sibilant does: mono float32 (channels mixed down, or
    ``channel``) at ``rate`` (0: the file's own rate). Returns ``(samples,
    rate)``."""
    return _sibilant.read_audio(str(path), int(rate), int(channel))


def read_results(sweep_dir):
    """The results table of a sweep (a ``sibilant sweep --out`` folder, or its
    results.csv): one row per file and profile, the columns of results.csv,
    checked as ``sibilant compare`` checks them. A pandas DataFrame when
    pandas is installed, else a list of dicts."""
    rows = _sibilant.read_sweep_results(str(sweep_dir))
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


class Probe:
    """The live probe, one per stream. ``Probe()`` judges one stream without
    a reference; ``Probe(reference=True)`` takes the original and the
    processed stream in step. Push chunks of any size at ``rate`` (resampled
    to 48 kHz on the way in); events come out as each sibilant is judged.

        probe = sibilant.Probe(rate=16000)
        for chunk in chunks:
            probe.push(chunk)
            for event in probe.poll():
                print(event["start_s"], event["why"])
        probe.finish()
        probe.summary()
    """

    def __init__(self, reference=False, rate=48000, lisp_threshold=50.0, smearing_threshold=50.0,
                 event_capacity=1024):
        self._probe = _sibilant.Probe(bool(reference), int(rate), float(lisp_threshold), float(smearing_threshold),
                                      int(event_capacity))

    def push(self, *chunks):
        """``push(degraded)``, or ``push(reference, degraded)`` (equal lengths)
        with a reference. Raises Error after finish() (reset() starts anew)."""
        self._probe.push(*chunks)

    def poll(self):
        """The events judged since the last poll, as dicts (each as the
        events of ``sibilant analyze --json``)."""
        return [_json.loads(e) for e in self._probe.poll()]

    def finish(self):
        """The end of the stream: judges what is still pending."""
        self._probe.finish()

    def reset(self):
        """Starts a new stream with the same settings."""
        self._probe.reset()

    def summary(self):
        """The summary of every event so far (unrounded figures)."""
        return self._probe.summary()

    def status(self):
        """Samples taken and analysed, events, latency, alignment state."""
        return self._probe.status()

    @property
    def has_reference(self):
        return self._probe.has_reference

    @property
    def rate(self):
        return self._probe.rate
