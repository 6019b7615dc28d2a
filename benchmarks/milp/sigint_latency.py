"""How soon an optdist command stops after Ctrl-C: runs ``python -m optdist ARGS`` (this
interpreter, in the current directory, whose ``optdist`` it imports first: run it from the tree
to measure, with ``PYTHONPATH`` set to it), sends it one SIGINT ``--at`` seconds after starting
it (to the process only, as a supervisor does) and prints the 1-minute load, the seconds from the
signal to its exit, its exit status and the last ``--lines`` lines of its output (table rows left
out). Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD nice -n 10 python benchmarks/milp/sigint_latency.py --at 10 -- \
        solve instances/paper/lenet-20x70-tight-tau0.6.json --formulation decomposed --threads 1

Where the signal lands (a model build or a solve) is the caller's to know: time a run first.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--at", type=float, required=True, help="seconds after the start to send SIGINT")
    ap.add_argument("--lines", type=int, default=8, help="output lines to print (default 8)")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="optdist's arguments (after --)")
    a = ap.parse_args()
    args = a.args[1:] if a.args[:1] == ["--"] else a.args
    if not args or a.at < 0:
        ap.error("give --at >= 0 and optdist's arguments after --, e.g. -- solve FILE")
    t0 = time.monotonic()
    # SIGINT as on a terminal: Python's handler in optdist also when this runs as a background job
    # (which starts with SIGINT ignored, and an ignored signal stays ignored in optdist)
    proc = subprocess.Popen([sys.executable, "-m", "optdist", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(a.at)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate()
    ended = time.monotonic()
    print(f"load {os.getloadavg()[0]:.2f}; SIGINT at {sent - t0:.2f} s; exit status {proc.returncode} at "
          f"{ended - t0:.2f} s: {ended - sent:.2f} s after the signal")
    print("\n".join([line for line in out.splitlines() if not line.startswith("|")][-a.lines:]))


if __name__ == "__main__":
    main()
