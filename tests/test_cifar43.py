"""Where column generation's seconds go (issue 11, branch cifar43): ``extra["seconds"]`` accounts
for the whole run, each second in one step only, ``extra["improvements"]`` for each improvement,
and the run they describe stays exact (its bound under the compact model's proven optimum, that
optimum under its incumbent, which the evaluator re-scores feasible)."""

from __future__ import annotations

import math

import pytest

import optdist
from optdist.milp.decomposition.colgen import column_generation

TINY_COUPLED = ["instances/tiny/lenet-2x4-tight.json", "instances/tiny/micro-2x3-tight.json"]
STEPS = {"pricing models", "seed placements", "pricing", "floor ascent", "LP master", "other"}
REL = 1e-7  # bounds vs objectives: the solvers' feasibility tolerance on stage times


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process (as in tests/test_colgen.py)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


@pytest.mark.parametrize("path", TINY_COUPLED)
def test_seconds_sum_to_the_wall_time_and_the_run_stays_exact(path):
    """The steps of ``extra["seconds"]`` (pricing, LP master, seeds, floor ascent, model building
    and the rest) are all there, none negative, and sum to the run's wall time; the rounds' pricing
    and LP seconds are within their steps', the improvements' (``extra["improvements"]``) are the
    improvement step's, and an improvement that found a better placement is an incumbent. The compact model's proven optimum lies between the
    run's bound and its incumbent (re-scored feasible by the evaluator)."""
    inst = optdist.load_instance(path)
    res = column_generation(inst, solver="highs", time_limit=20, mip_gap=1e-4, threads=1, seed=0)
    secs = res.extra["seconds"]
    assert STEPS <= set(secs), sorted(STEPS - set(secs))
    assert all(v >= 0 for v in secs.values()), secs
    assert sum(secs.values()) == pytest.approx(res.wall_time, rel=1e-9)
    rounds = res.extra["rounds"][1:]  # round 0 has no LP
    assert rounds and all(r["lp_s"] >= 0 for r in rounds)
    assert sum(r["lp_s"] for r in rounds) <= secs["LP master"] * (1 + 1e-9)
    assert sum(r["pricing_s"] for r in rounds) <= secs["pricing"] * (1 + 1e-9)
    imp = res.extra["improvements"]  # each improvement: its seconds are the step's, its finds incumbents
    assert imp and sum(e["seconds"] for e in imp) == pytest.approx(secs["improvement"], rel=1e-9)
    found_by = {f["found_by"] for f in res.extra["incumbents"]}
    assert all(e["at"] in found_by for e in imp if e["found"]), (imp, found_by)
    ref = optdist.solve(inst, method="milp", formulation="tight", time_limit=20, threads=1)
    assert ref.termination.value == "optimal"
    ev = optdist.evaluate(inst, res.assignment)
    assert ev.feasible and ev.objective == pytest.approx(res.objective, rel=1e-12)
    assert res.bound <= ref.objective * (1 + REL) and not math.isnan(res.bound)
    assert ref.objective <= res.objective * (1 + REL)


def test_seconds_probe_refuses_bad_input_and_records_a_run(capsys, tmp_path):
    """benchmarks/scale/seconds_probe.py: a missing instance or a time out of range is refused before
    any run (exit 2, the file or flag named, the fix, no traceback); a run on a tiny set writes its
    record, whose seconds sum to its wall time and whose placement the evaluator re-scored."""
    import json

    from .conftest import ROOT, load_script, refused

    probe = load_script("benchmarks/scale/seconds_probe.py")
    err = refused(probe.main, capsys, str(tmp_path / "none.json"))
    assert "none.json" in err and "not found" in err
    err = refused(probe.main, capsys, str(ROOT / TINY_COUPLED[0]), "--time-limit", "-1")
    assert "--time-limit" in err and "fix:" in err
    out = tmp_path / "r.json"
    assert probe.main([str(ROOT / TINY_COUPLED[0]), "--time-limit", "20", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["evaluator"]["feasible"] and rec["evaluator"]["objective"] == pytest.approx(rec["objective"], rel=1e-12)
    assert sum(rec["seconds"].values()) == pytest.approx(rec["wall_s"], rel=1e-9)
    assert "seconds:" in capsys.readouterr().out
