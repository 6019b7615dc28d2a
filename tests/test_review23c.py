"""Fixes from review23c (a fresh user's review of rl23, fix23a, rlt23): ``optdist solve --method rl
--time-limit`` says on its report what the limit cut (it was only in ``--out``'s ``extra``)."""

from __future__ import annotations

from pathlib import Path

from optdist.cli import main

ROOT = Path(__file__).resolve().parents[1]
LENET_8X4 = ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"


def test_solve_rl_report_says_what_time_limit_cut(capsys):
    """A limit too short for any training episode: the report names the cut training (0 of the
    preset's 3000 episodes) and the requests the network decided after the limit (all 8), as the
    plan methods' report names theirs; before, only the initial-weights warning said anything."""
    main(["solve", str(LENET_8X4), "--method", "rl", "--time-limit", "1e-6"])  # exit 1: the untrained network breaks constraints
    out = capsys.readouterr().out
    assert "training     cut at 5e-07 s (half of --time-limit): 0 of 3000 episodes" in out
    assert "deadline     8 of 8 requests decided after --time-limit ran out" in out


def test_solve_rl_report_without_time_limit_has_no_cut_lines(capsys):
    """Without --time-limit nothing is cut: neither line appears."""
    main(["solve", str(LENET_8X4), "--method", "rl", "--episodes", "2"])
    out = capsys.readouterr().out
    assert "trained" in out  # the rl report of a run that trained, so the absence below is not that of another report
    assert "training     cut" not in out and "deadline     " not in out
