"""benchmarks/scale/cifar20_mix/from_scratch.py on bad input: --workdir a file, an instance whose
engine closes without bandwidth prices, --out the instance (branch verify38). Ctrl-C mid-run:
tests/test_fix39.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
