import os
import pathlib
import subprocess

import pytest

# Set by CTest (tests/CMakeLists.txt); the defaults fit a build in build/.
ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = pathlib.Path(os.environ.get("SIBILANT_TESTDATA", ROOT / "testdata"))
CLI = os.environ.get("SIBILANT_CLI", str(ROOT / "build" / "tools" / "sibilant"))


@pytest.fixture(scope="session")
def demo():
    return str(TESTDATA / "speech" / "demo.flac")


@pytest.fixture(scope="session")
def cli():
    def run(*args, check=True):
        return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=check)

    return run


@pytest.fixture(scope="session")
def degraded_12k(tmp_path_factory, cli, demo):
    """demo.flac through `sibilant simulate` at 12 kbps with bursty loss."""
    path = tmp_path_factory.mktemp("sim") / "demo_12k.wav"
    cli("simulate", demo, path, "--bitrate", "12000", "--loss", "ge:0.05,0.3", "--seed", "3")
    return str(path)
