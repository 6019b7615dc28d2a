"""Fixes from a fresh user's review of the decomposition's warm start and tidy22 (review22c).

* ``optdist solve`` with a placement whose run had failed solver calls (``extra["solver_errors"]``,
  e.g. a CBC process killed inside the decomposition or a plan) warns of them on stderr too, as it
  does ``warning``, ``optimality_unproven`` and a kept warm start's ``solver_error`` (tidy22), and
  as ``pareto`` and ``diagnose`` do. Before: on stdout only (``optdist solve
  instances/coupled/lenet-8x4-rpi3.json --solver cbc --warm-start W.json`` with its CBCs killed:
  ``WARNING      7 solver calls of this run failed ...`` on stdout, nothing on stderr).
* A test of the decomposition's warm start (edges22) where it beats a *feasible* per-request
  combination (the per-class solves stopped within their sub-gap): it is the incumbent, the run
  optimal with the combination's bound. The tests of edges22 covered an infeasible start and a
  feasible one without checking which placement was kept.
* plan-guided/plan-rollout's ``plan_start`` file refused by ``load_placement`` (tidy22 gave it its
  ``use``): the file named once and one fix. Before: the path twice and two "(fix: ...)".
"""

from __future__ import annotations

from tests.conftest import ROOT, linux_only, requires_solver

#: 8 LeNet requests competing for 4 devices (plan-guided's plan is the decomposition's)
LENET = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")


@linux_only
@requires_solver("cbc")
def test_failed_solver_calls_of_a_run_with_a_placement_are_warned_on_stderr(capsys, tmp_path) -> None:
    """The first CBC solve of plan-guided's plan is SIGKILLed as it starts; every request is still
    placed (exit 0), and the failure is warned on stdout and on stderr, once each."""
    from tests.test_solver_death import _solve_killing_cbc

    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [LENET, "--method", "plan-guided",
                                                               "--time-limit", "4", "--seed", "0"], after=0.0)
    assert rc == 0 and doc["feasible"], err
    errors = doc["extra"]["solver_errors"]
    said = [f"{e['solves']} solver call{'s' if e['solves'] > 1 else ''} of this run failed (the result is what its "
            f"other steps found): {e['message']}" for e in errors]
    assert said and "failed (the result is what its other steps found): solver cbc ended abnormally: it was " \
        "killed by signal SIGKILL" in said[0], said
    for warning in said:
        assert out.count(f"WARNING      {warning}\n") == 1, out  # kept on stdout
        assert err.count(f"warning: {warning}\n") == 1, err


#: one CIFAR request on 4 devices: at --gap 0.1 its per-class solve stops (within its sub-gap of
#: 1 %) at 0.0768397859 s, above the optimum 0.0768114202 s (`optdist solve` at the default gap)
CIFAR = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"


def test_a_feasible_warm_start_that_beats_the_per_request_combination_is_the_incumbent() -> None:
    """The decomposition's warm start (edges22) is the incumbent wherever it beats the per-request
    combination, also a feasible one; it was the incumbent only where the combination was not
    feasible (then the combination, 0.0768397859, was reported above the start's 0.0768114202)."""
    import optdist
    from optdist.milp.decomposition.orchestrate import solve_decomposed

    inst = optdist.load_instance(CIFAR)
    best = solve_decomposed(inst, time_limit=60, threads=1, seed=0)
    assert best.termination == "optimal" and best.assignment is not None
    alone = solve_decomposed(inst, time_limit=60, mip_gap=0.1, threads=1, seed=0, coupled=False)
    assert alone.extra["combination_feasible"] and alone.objective > best.objective * (1 + 1e-6), alone.objective
    res = solve_decomposed(inst, time_limit=60, mip_gap=0.1, threads=1, seed=0, coupled=False,
                           warm_start=best.assignment)
    assert res.extra["combination_feasible"] and res.extra.get("incumbent") == (
        f"the warm start: the evaluator scores it {res.objective:.9g} s, better than the combination of the "
        f"per-request optima ({alone.objective:.9g} s)"), (res.objective, res.extra.get("incumbent"))
    assert res.assignment is best.assignment and res.objective == optdist.evaluate(inst, best.assignment).objective
    assert res.options["warm_start"] is True and "warm_start_skipped" not in res.extra
    assert res.termination == "optimal" and res.bound is not None and res.bound <= res.objective


MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


def test_a_plan_start_file_without_a_placement_is_named_once_with_one_fix(tmp_path) -> None:
    """A result file without an assignment as plan-guided's plan_start: the message names the file
    once and gives load_placement's fix only. Before: the path twice ("plan_start P: P: field
    'assignment' ...") and two "(fix: ...)", the second about another problem."""
    import json

    import pytest

    import optdist

    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"format": "optdist-result/1", "termination": "no_solution", "assignment": None}))
    with pytest.raises(ValueError) as e:
        optdist.solve(MICRO, method="plan-guided", plan_start=empty, plan_time_limit=5, polish_time_limit=0, seed=0)
    assert str(e.value) == (f"plan-guided: plan_start {empty}: field \"assignment\": this result has no assignment "
                            "(termination no_solution), so nothing can be used as plan-guided's plan_start on forecast "
                            "micro-2x3-tight (fix: give a result of a run that found a placement, or an assignment "
                            "file)")
    missing = tmp_path / "missing.json"  # no fix of its own: the plan_start's
    with pytest.raises(ValueError) as e:
        optdist.solve(MICRO, method="plan-guided", plan_start=missing, plan_time_limit=5, polish_time_limit=0, seed=0)
    assert str(e.value) == (f"plan-guided: plan_start {missing}: assignment or result file not found (fix: give a "
                            "placement of forecast micro-2x3-tight, e.g. the --out of `optdist solve` on it)")


def test_a_feasible_warm_start_is_kept_when_the_time_limit_is_spent_starting_up(tmp_path) -> None:
    """``--time-limit 0.001`` is gone before the solve starts (start-up alone takes longer) and a
    feasible ``--warm-start`` file was given: the stopper reports that placement (termination
    ``time_limit``, no bound, exit 0) and says the limit was spent starting up. Before: no
    solution, exit 1, the given placement dropped (the solve had not offered it yet)."""
    import json
    import subprocess
    import sys

    import optdist

    inst_path = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"
    inst = optdist.load_instance(inst_path)
    start = tmp_path / "start.json"
    given = optdist.solve(inst, method="greedy").assignment
    given.save(inst, start)
    score = optdist.evaluate(inst, given)
    assert score.feasible
    out = tmp_path / "res.json"
    cmd = [sys.executable, "-m", "optdist", "solve", str(inst_path), "--warm-start", str(start), "--time-limit",
           "0.001", "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert ("--time-limit 0.001 was spent before the solve could start" in run.stderr
            and "fix: a larger --time-limit); the best placement found so far is reported" in run.stderr), run.stderr
    doc = json.loads(out.read_text())
    assert doc["termination"] == "time_limit" and doc["bound"] is None and doc["feasible"], doc["termination"]
    assert doc["objective"] == score.objective and doc["assignment"]["requests"] == json.loads(
        start.read_text())["requests"]
