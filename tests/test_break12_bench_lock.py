"""Two sweeps into one records folder: the second is refused while the first runs (found
starting `optdist bench SPEC` twice at once: both ran every run, each at half the CPU, so
every recorded time was measured against the other sweep)."""

from __future__ import annotations

import pytest

from optdist.bench.runner import SweepBusy, run_sweep, sweep_lock
from optdist.bench.spec import parse_spec
from optdist.cli import main

from .conftest import ROOT

MICRO = [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")]


def test_a_second_sweep_into_a_busy_folder_is_refused(tmp_path):
    spec = parse_spec({"name": "t", "out": str(tmp_path), "instances": MICRO, "methods": ["greedy"]})
    with sweep_lock(tmp_path):
        with pytest.raises(SweepBusy, match=r"another `optdist bench` \(pid \d+\) is writing .* wait for it"):
            run_sweep(spec, progress=False)
    assert not list((tmp_path / "records").glob("*.json"))
    rep = run_sweep(spec, progress=False)  # the lock went with the first sweep
    assert (rep.ran, rep.failed) == (1, 0)


def test_the_cli_says_so_and_exits_2(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "t"\nout = "{tmp_path / "o"}"\ninstances = {MICRO!r}\nmethods = ["greedy"]\n'.replace("'", '"'))
    with sweep_lock(tmp_path / "o"):
        assert main(["bench", str(spec), "--no-progress"]) == 2
    assert "another `optdist bench`" in capsys.readouterr().err
