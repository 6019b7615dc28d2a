"""fix23a: a feasible warm start kept when the solver's placement breaks a constraint; ``dir(optdist)``
lists the public API only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.result import SolveResult, Termination, finalize
from optdist.solve import solve

ROOT = Path(__file__).resolve().parents[1]


def _optimum_and_a_violating_placement():
    """(instance, HiGHS's optimal placement, the same placement with both maps of r1's ReLU1 and
    conv2 on rpi3-1: the privacy limit Nf = 1 broken twice) on ``micro-2x2-tau0.6``."""
    inst = load_instance(ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json")
    opt = solve(inst, solver="highs", mip_gap=1e-6)
    assert opt.termination is Termination.OPTIMAL and opt.evaluation.feasible
    owners = [[layer.copy() for layer in request] for request in opt.assignment.owners]
    owners[0][1] = np.array([0, 0])
    owners[0][2] = np.array([0, 0])
    return inst, opt, Assignment(owners)


@pytest.mark.parametrize("bound_factor", [0.5, 2.0])
def test_a_feasible_warm_start_replaces_the_solvers_violating_placement(bound_factor):
    """No real solver returns a placement breaking a constraint on demand, so the result is built
    as :func:`optdist.milp.run.solve_formulation` builds it from such an outcome (``optimal``,
    the solver's placement, its objective and bound in seconds) and passed to the function that
    combines it with the warm start, :func:`optdist.milp.run._keep_warm_start`, then to
    :func:`optdist.result.finalize` as :func:`optdist.solve` does. The start is kept, ``optimal``
    becomes ``feasible``, the bound stays where it is at most the start's score (0.5x) and is capped
    there otherwise (2x). Before: the start was dropped and the run reported ``violated``."""
    from optdist.milp.run import _keep_warm_start

    inst, opt, broken = _optimum_and_a_violating_placement()
    found = evaluate(inst, broken)
    assert [v.constraint for v in found.violations] == ["privacy", "privacy"]
    score = opt.evaluator_objective
    res = SolveResult(inst.name, "milp", Termination.OPTIMAL, objective=found.objective, bound=bound_factor * score,
                      solver="highs", formulation="tight", assignment=broken, options={"mip_gap": 1e-4})
    _keep_warm_start(inst, res, opt.assignment, evaluate(inst, opt.assignment), "unused")
    finalize(inst, res)
    assert res.termination is Termination.FEASIBLE and res.assignment is opt.assignment
    assert res.evaluation.feasible and res.objective == pytest.approx(score)
    assert res.extra["warning"].startswith(
        f"the solver's placement breaks 2 constraint(s) (first: {found.violations[0].message}): ")
    assert "warm start" in res.extra["warning"] and res.extra["warning"].endswith("is kept")
    assert "proof of optimality is in doubt" in res.extra["optimality_unproven"]
    assert res.extra["claimed_termination"] == "optimal" and res.extra["rejected"] == 0
    assert res.extra["incumbent"].startswith("the warm start: ")
    if bound_factor < 1:
        assert res.bound == 0.5 * score and "bound_capped" not in res.extra
    else:  # capped at the score, then no bound: it rests on a false claim (cap44)
        assert res.bound is None and res.extra["bound_unproven"] == pytest.approx(score)
        assert res.extra["bound_capped"] == [{"what": "the run's bound", "solver": "highs", "reported": 2 * score,
                                              "capped_to": pytest.approx(score)}]


def test_a_violating_placement_without_a_feasible_start_is_still_violated():
    """Guard: with no warm start, or an infeasible one, the solver's violating placement is left to
    :func:`optdist.result.finalize`, which reports it as ``violated``."""
    from optdist.milp.run import _keep_warm_start

    inst, _, broken = _optimum_and_a_violating_placement()
    for start in (None, broken):
        res = SolveResult(inst.name, "milp", Termination.OPTIMAL, solver="highs", assignment=broken)
        _keep_warm_start(inst, res, start, None if start is None else evaluate(inst, start), "unused")
        finalize(inst, res)
        assert res.termination is Termination.VIOLATED and res.assignment is broken
        assert "incumbent" not in res.extra


def test_dir_optdist_lists_the_public_api_and_module_dunders_only():
    """In a fresh interpreter (nothing of optdist loaded yet): ``dir(optdist)`` is ``__all__``, the
    lazily loaded ``profile_module``, ``__version__`` and the module's dunders; ``help(optdist)``
    names none of the lazy import's helpers; ``from optdist import *`` gives ``__all__``.
    Before: ``TYPE_CHECKING``, ``_Package``, ``_SOURCES``, ``__getattr__``, ``__dir__``,
    ``annotations``, ``importlib``, ``sys`` and ``types`` were listed too."""
    code = ("import optdist, pydoc; print(' '.join(dir(optdist))); "
            "text = pydoc.render_doc(optdist, renderer=pydoc.plaintext); "
            "print(' '.join(w for w in ('TYPE_CHECKING', '_Package', '_SOURCES', '__getattr__', 'importlib') "
            "if w in text) or '-'); ns = {}; exec('from optdist import *', ns); "
            "print(sorted(set(ns) - {'__builtins__'}) == sorted(optdist.__all__))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listed, in_help, star = out.stdout.splitlines()
    import optdist

    dunders = {"__all__", "__builtins__", "__cached__", "__doc__", "__file__", "__loader__", "__name__",
               "__package__", "__path__", "__spec__", "__version__"}
    assert listed.split() == sorted({*optdist.__all__, "profile_module", *dunders})
    assert in_help == "-" and star == "True"
