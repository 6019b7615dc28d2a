"""A run that ends without a placement and without a reason says what to do next (found with a
jointly infeasible pair, tests/test_break12_extremes.py: plain `optdist solve` printed only
`termination  no_solution` and `no solution`, where `--formulation tight` proves infeasibility
and `optdist diagnose` names the capacities)."""

from __future__ import annotations

import json

from optdist.cli import main
from tests.test_break12_extremes import _two_requests_that_cannot_both_fit


def test_no_solution_without_a_reason_points_to_diagnose(tmp_path, capsys):
    f = tmp_path / "joint.json"
    f.write_text(json.dumps(_two_requests_that_cannot_both_fit()))
    assert main(["solve", str(f), "--threads", "1"]) == 1
    cap = capsys.readouterr()
    assert "no solution" in cap.out
    if "termination  no_solution" in cap.out:  # the decomposition's answer today (its xfail in test_break12_extremes)
        assert f"optdist diagnose {f}" in cap.err and "--formulation tight" in cap.err


def test_no_solution_at_the_time_limit_says_so(capsys):
    from tests.conftest import ROOT

    inst = ROOT / "instances" / "coupled" / "lenet-9x5-nexus-rpi3.json"  # compact finds no placement in ~3 s
    assert main(["solve", str(inst), "--formulation", "compact", "--time-limit", "5", "--threads", "1"]) == 1
    cap = capsys.readouterr()
    assert "termination  no_solution" in cap.out
    assert "ran out before a placement was found (fix: a larger --time-limit" in cap.err
    assert "optdist diagnose" not in cap.err
