"""benchmarks/scale/cifar20_mix/from_scratch.py on bad input: --workdir a file, an instance whose
engine closes without bandwidth prices, --out the instance, Ctrl-C mid-run (branch verify38)."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scale" / "cifar20_mix" / "from_scratch.py"


def from_scratch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_workdir_that_is_a_file_is_refused_naming_the_option(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    out = tmp_path / "o.json"
    got = from_scratch("instances/tiny/cifar-1x4-tau0.8.json", "--out", str(out), "--workdir", str(afile))
    assert got.returncode == 2
    assert f"--workdir {afile}" in got.stderr and "(fix:" in got.stderr
    assert "Errno" not in got.stderr and not out.exists()


def test_engine_closing_without_prices_says_there_is_nothing_to_mix(tmp_path):
    out = tmp_path / "o.json"
    got = from_scratch("instances/tiny/cifar-1x4-tau0.8.json", "--out", str(out), "--workdir", str(tmp_path / "w"))
    assert got.returncode == 2
    assert "proved its placement optimal" in got.stderr and "nothing to mix" in got.stderr
    assert "longer --engine-time-limit" not in got.stderr and not out.exists()


def test_out_that_is_the_instance_is_refused_even_with_force(tmp_path):
    inst = tmp_path / "cifar.json"
    inst.write_bytes((ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json").read_bytes())
    got = from_scratch(str(inst), "--out", str(inst), "--force")
    assert got.returncode == 2 and "is the input file" in got.stderr and "(fix:" in got.stderr
    assert inst.read_bytes() == (ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json").read_bytes()


def _wait_for(proc: subprocess.Popen, text: str, timeout: float) -> None:
    """Read ``proc``'s stdout until a line holds ``text``; kill it and fail after ``timeout`` s
    (on a loaded machine the imports alone took over 6 s: a fixed sleep sent the signal before the
    run's own handler was in place)."""
    end, seen = time.monotonic() + timeout, []
    while (left := end - time.monotonic()) > 0 and select.select([proc.stdout], [], [], left)[0]:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return
    proc.kill()
    pytest.fail(f"no {text!r} on stdout in {timeout:g} s: {seen}")


@pytest.mark.slow
def test_ctrl_c_mid_run_stops_with_a_message_and_writes_nothing(tmp_path):
    out = tmp_path / "o.json"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "instances/coupled/cifar-6x5-nexus-rpi3.json", "--out",
                             str(out), "--workdir", str(tmp_path / "w")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(proc, "step 1 engine ...", 120)  # past the imports (a signal there is Python's, not the run's)
    time.sleep(2)  # inside the engine's column generation (about 35 s to its first prices on cifar-6x5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted by SIGINT: nothing written to --out" in stderr
    assert "Traceback" not in stderr and not out.exists()
