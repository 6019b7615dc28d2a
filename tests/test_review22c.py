"""Fixes from a fresh user's review of the decomposition's warm start and tidy22 (review22c).

* ``optdist solve`` with a placement whose run had failed solver calls (``extra["solver_errors"]``,
  e.g. a CBC process killed inside the decomposition or a plan) warns of them on stderr too, as it
  does ``warning``, ``optimality_unproven`` and a kept warm start's ``solver_error`` (tidy22), and
  as ``pareto`` and ``diagnose`` do. Before: on stdout only (``optdist solve
  instances/coupled/lenet-8x4-rpi3.json --solver cbc --warm-start W.json`` with its CBCs killed:
  ``WARNING      7 solver calls of this run failed ...`` on stdout, nothing on stderr).
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
