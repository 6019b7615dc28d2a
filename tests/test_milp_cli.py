"""`optdist solve` and `optdist pareto` end to end (the `make demo` path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main
from tests.conftest import requires_solver

ROOT = Path(__file__).resolve().parents[1]
MICRO = str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json")


def test_solve_prints_objective_gap_and_latency(tmp_path, capsys):
    out = tmp_path / "res.json"
    assert main(["solve", MICRO, "--gap", "0", "--threads", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("termination  optimal", "objective    7.9002690", "gap 0.0000%", "| r1 ", "| r2 ", "stages of r1", "node use"):
        assert needle in text, needle
    doc = json.loads(out.read_text())
    assert doc["termination"] == "optimal" and doc["formulation"] == "decomposed" and doc["solver"] == "highs"
    assert abs(doc["objective"] - doc["evaluator_objective"]) <= 1e-6 * doc["objective"]
    assert set(doc["requests"]) == {"r1", "r2"} and doc["assignment"]["format"] == "optdist-assignment/1"


@requires_solver("cbc")
def test_solve_with_profile_time_limit_and_assignment_warm_start(tmp_path, capsys):
    first = tmp_path / "first.json"
    assert main(["solve", MICRO, "--formulation", "per-map", "--solver", "highs-1thread", "--out", str(first)]) == 0
    asg = tmp_path / "asg.json"
    asg.write_text(json.dumps(json.loads(first.read_text())["assignment"]))
    capsys.readouterr()
    assert main(["solve", MICRO, "--solver", "cbc", "--time-limit", "5", "--warm-start", str(asg)]) == 0
    text = capsys.readouterr().out
    assert "warm start   assignment" in text and "solver cbc" in text


def test_solve_reports_user_errors(capsys):
    assert main(["solve", MICRO, "--solver", "no-such-solver"]) == 2
    assert "unknown --solver no-such-solver (fix: " in capsys.readouterr().err
    assert main(["solve", "missing.json"]) == 2


@pytest.mark.slow
def test_pareto_writes_csv_markdown_and_png(tmp_path, capsys):
    prefix = tmp_path / "front"
    assert main(["pareto", str(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"), "--points", "3", "--out", str(prefix)]) == 0
    for ext in (".csv", ".md", ".png"):
        assert (tmp_path / f"front{ext}").stat().st_size > 0
    lines = (tmp_path / "front.csv").read_text().splitlines()
    assert lines[0].startswith("eps_bytes,latency_s,shared_bytes,objective_s") and len(lines) == 4


def test_forced_decomposition_that_does_not_apply_says_so(capsys):
    """`--formulation decomposed` on a serial-uplink instance is solved with `tight` (the header
    says so); a warning says why, not only the --out file's `extra.decomposed` (break15)."""
    serial = str(ROOT / "instances" / "tiny" / "micro-2x3-serial.json")
    assert main(["solve", serial, "--formulation", "decomposed", "--threads", "1"]) == 0
    assert "--formulation decomposed: not applicable (serial uplink" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["", "  ", 5])
def test_solve_with_a_solver_that_is_not_a_name_says_so(name):
    """break16: a solver that is no name was an AttributeError inside get_solver (``solver=None`` is
    now the method's default, as leaving it out: tests/test_fixd32a.py)."""
    import optdist

    inst = optdist.load_instance(MICRO)
    with pytest.raises(ValueError, match="give an adapter or profile name"):
        optdist.solve(inst, method="milp", solver=name, time_limit=5)
