"""Shows that the Python module releases the GIL while the library works: a
pure-Python thread keeps counting during native analyses (it could not run at
all if they held the GIL), and reports its rate against an idle period of
the same length. Not a test (it measures time); see README, Python.
Usage: PYTHONPATH=build/python python3 eval/python_gil_release.py REF DEG"""
import sys
import threading
import time

import sibilant

ref, rate = sibilant.read_audio(sys.argv[1])
deg, _ = sibilant.read_audio(sys.argv[2])
count, stop = [0], [False]


def spin():
    while not stop[0]:
        count[0] += 1


spinner = threading.Thread(target=spin)
spinner.start()
time.sleep(0.05)
c0, t0 = count[0], time.perf_counter()
for _ in range(20):
    sibilant.analyze(ref, deg, rate)
busy_s, c1 = time.perf_counter() - t0, count[0]
time.sleep(busy_s)
c2 = count[0]
stop[0] = True
spinner.join()
print(f"20 analyses in {busy_s:.2f} s; the Python thread counted {c1 - c0} meanwhile, "
      f"{c2 - c1} in as long idle ({(c1 - c0) / max(c2 - c1, 1):.0%})")
