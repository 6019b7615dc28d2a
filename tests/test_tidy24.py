"""tidy24: one home for the plan methods' seconds range and for the run's bound cap; a run's
warnings accumulate; the decomposition's ``optimal`` agrees with the final, capped bound; the line
that says a warm start was kept names the ``--warm-start`` given.

No real solver claims a false bound or a disagreeing objective on demand, so those results are
built as the solver paths return them and passed to the real functions that handle them
(:func:`optdist.milp.run._keep_warm_start`, the decomposition's :func:`_settle`,
:func:`optdist.result.finalize`, the CLI's report), as tests/test_fix23a.py and
tests/test_warm23b.py do.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal

import pytest

import optdist
from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.result import SolveResult, Termination, add_warning, finalize, warnings_of
from tests.conftest import LENET_1X4


def _cli_args(**given) -> argparse.Namespace:
    """The arguments ``optdist solve`` parses for ``_report`` (no --out, no rows printed)."""
    return argparse.Namespace(**{"instance": str(LENET_1X4), "method": "milp", "formulation": "tight",
                                 "solver": "highs", "out": None, "requests": 0, "time_limit": None,
                                 "warm_start": None, "plan_time_limit": None, "polish_time_limit": None,
                                 "repair_time_limit": None, **given})


# --- 1. one range for the plan methods' seconds -------------------------------------------------

@pytest.mark.parametrize("value", [1.0, 1e-3, 0.0, -1.0, math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("name", ["plan_time_limit", "polish_time_limit", "repair_time_limit"])
def test_the_cli_and_the_library_take_the_same_plan_seconds(name, value):
    """The CLI's check (errors naming the flag) and the library's (naming the option) refuse
    exactly the values :func:`seconds_in_range` refuses (0 is "no polish" for the polish only)."""
    from optdist.cli import FlagError, build_parser
    from optdist.commands.solve import PLAN_FLAGS
    from optdist.heuristics.plan_guided import _check_seconds, seconds_in_range

    polish = name == "polish_time_limit"
    ok = seconds_in_range(value, zero=polish)
    assert ok == (math.isfinite(value) and (value >= 0 if polish else value > 0))
    words = ["solve", str(LENET_1X4), f"{PLAN_FLAGS[name]}={value!r}"]  # the CLI checks them as it parses (msgs26)
    if ok:
        assert getattr(build_parser().parse_args(words), name) == value
    else:
        said = "is not a number" if math.isnan(value) else "is out of range"  # nan: not a number (scip28)
        with pytest.raises(FlagError, match=f"^{PLAN_FLAGS[name]} {value!r} {said}"):
            build_parser().parse_args(words)
    if not polish:
        if ok:
            _check_seconds("plan-guided", **{name: value})
        else:
            with pytest.raises(ValueError, match=f"^plan-guided: {name} = "):
                _check_seconds("plan-guided", **{name: value})


def test_a_bool_is_no_number_of_seconds():
    from optdist.heuristics.plan_guided import seconds_in_range

    assert not seconds_in_range(True) and not seconds_in_range(False, zero=True) and not seconds_in_range("1")


# --- 2. one home for the run's bound cap --------------------------------------------------------

def _violating(inst, opt):
    """``opt`` with both maps of r1's ReLU1 and conv2 on rpi3-1 (tests/test_fix23a.py): privacy broken."""
    import numpy as np

    owners = [[layer.copy() for layer in request] for request in opt.owners]
    owners[0][1] = np.array([0, 0])
    owners[0][2] = np.array([0, 0])
    return optdist.Assignment(owners)


@pytest.fixture(scope="module")
def micro():
    """(micro-2x2-tau0.6, HiGHS's optimal placement of it, its score in s)."""
    from tests.conftest import ROOT

    inst = optdist.load_instance(ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json")
    opt = optdist.solve(inst, solver="highs", mip_gap=1e-6)
    assert opt.termination is Termination.OPTIMAL and opt.evaluation.feasible
    return inst, opt.assignment, opt.evaluator_objective


def test_keeping_the_start_leaves_the_cap_to_finalize(micro):
    """:func:`_keep_warm_start` (the solver's placement breaks constraints, its bound 2x the start's
    score) leaves the bound as the solver gave it; :func:`finalize` caps it once, one record."""
    from optdist.milp.run import _keep_warm_start

    inst, opt, score = micro
    res = SolveResult(inst.name, "milp", Termination.OPTIMAL, objective=score, bound=2 * score, solver="highs",
                      formulation="tight", assignment=_violating(inst, opt), options={"mip_gap": 1e-4})
    _keep_warm_start(inst, res, opt, evaluate(inst, opt), "unused")
    assert res.bound == 2 * score and "bound_capped" not in res.extra
    finalize(inst, res)
    assert res.bound is None and res.extra["bound_unproven"] == pytest.approx(score)  # cap44: rests on a false claim
    assert res.termination is Termination.FEASIBLE
    assert res.extra["bound_capped"] == [{"what": "the run's bound", "solver": "highs", "reported": 2 * score,
                                          "capped_to": pytest.approx(score)}]


# --- 3. warnings accumulate ---------------------------------------------------------------------

METHOD_WARNING = "the method's own warning"


def test_finalize_keeps_the_methods_warning_and_adds_its_own(micro, capsys, caplog):
    """A method's warning, then finalize's (the evaluator scores the placement above the claim):
    both in ``extra["warning"]`` in that order, one WARNING line each on stdout and stderr.
    Before: finalize's replaced the method's."""
    from optdist.commands.solve import _report

    inst, opt, score = micro
    res = SolveResult(inst.name, "milp", Termination.FEASIBLE, objective=0.5 * score, bound=None, solver="highs",
                      assignment=opt, extra={"warning": METHOD_WARNING})
    finalize(inst, res)
    said = warnings_of(res.extra)
    assert said[0] == METHOD_WARNING and said[1].startswith("method claims objective") and len(said) == 2, said
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert _report(inst, res, _cli_args(instance=inst.name)) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("WARNING      ")]
    assert lines[:2] == [f"WARNING      {said[0]}", f"WARNING      {said[1]}"], lines
    logged = [r.getMessage() for r in caplog.records if r.getMessage() in said]
    assert logged == said, caplog.text


def test_keeping_the_start_adds_its_warning_after_one_already_there(micro):
    """:func:`_keep_warm_start` on a solver's false claim of infeasibility adds its warning after
    the one the run had. Before: it replaced it."""
    from optdist.milp.run import _keep_warm_start

    inst, opt, _ = micro
    res = SolveResult(inst.name, "milp", Termination.INFEASIBLE, solver="cbc", extra={"warning": METHOD_WARNING})
    _keep_warm_start(inst, res, opt, evaluate(inst, opt), "unused")
    finalize(inst, res)
    said = warnings_of(res.extra)
    assert said == [METHOD_WARNING], said  # kept, not replaced; the claim is refuted as plain solve refutes it
    assert res.extra["solver_error"].startswith("solver cbc claimed infeasible"), res.extra  # (engine31)


def test_the_same_warning_twice_is_kept_once():
    extra: dict = {}
    for text in ("a", "b", "a"):
        add_warning(extra, text)
    assert extra["warning"] == "a\nb" and warnings_of(extra) == ["a", "b"] and warnings_of({}) == []


# --- 4. the decomposition's optimal agrees with the final bound ---------------------------------

@pytest.mark.parametrize("factor, optimal", [(2.0, False), (1 + 1e-5, False), (1 + 1e-9, True)])
def test_a_decomposed_runs_optimal_stands_only_on_a_bound_that_is_no_false_claim(micro, factor, optimal):
    """A decomposed run whose bound is ``factor`` x its incumbent's score (a false claim that passed
    the per-step caps), settled by the decomposition (:func:`_settle`), then finalized: the bound
    ends capped at the score, and ``optimal`` only where the excess is within the solvers'
    tolerance (1e-9; :data:`optdist.result.AGREE_RTOL`), not on a false claim (2x; 1e-5, inside
    the 1e-4 gap). Before: the decomposition capped first, the gap was 0, so the run said
    ``optimal`` on any false claim."""
    from optdist.milp.decomposition.orchestrate import _settle
    from optdist.milp.run import Clock

    inst, opt, score = micro
    res = SolveResult(inst.name, "milp", Termination.NO_SOLUTION, objective=score, bound=factor * score,
                      solver="highs", formulation="decomposed", assignment=opt, options={"mip_gap": 1e-4})
    _settle(res, Clock(None), mip_gap=1e-4, abs_gap=1e-6)
    finalize(inst, res)
    if optimal:  # within the solvers' tolerance: capped silently, the bound stands
        assert res.bound == pytest.approx(score, rel=1e-12) and res.gap == pytest.approx(0, abs=1e-9)
    else:  # a false claim: no bound (cap44)
        assert res.bound is None and res.extra["bound_unproven"] == pytest.approx(score, rel=1e-12)
    assert (res.termination is Termination.OPTIMAL) == optimal, res.extra
    if not optimal:
        assert res.extra["bound_capped"][-1]["reported"] == factor * score
        assert "optimality_unproven" in res.extra


def test_a_real_decomposed_run_is_optimal_within_its_gap():
    """Guard: a real decomposed solve proven optimal stays so, its final gap within ``mip_gap``."""
    res = optdist.solve(LENET_1X4, formulation="decomposed", solver="highs", mip_gap=1e-4)
    assert res.termination is Termination.OPTIMAL and res.gap <= 1e-4 and "bound_capped" not in res.extra


# --- 5. the kept warm start is named --------------------------------------------------------------

@pytest.mark.parametrize("bound", [None, 0.5])
def test_the_interrupted_line_names_the_warm_start_kept(micro, bound, capsys):
    from optdist.commands.solve import _report

    inst, opt, score = micro
    res = finalize(inst, SolveResult(inst.name, "milp", Termination.INTERRUPTED, objective=score,
                                     bound=None if bound is None else bound * score, solver="highs",
                                     assignment=opt, extra={"interrupted": "SIGINT",
                                                            "incumbent": "the warm start: the solver was stopped"}))
    assert _report(inst, res, _cli_args(instance=inst.name, warm_start="start.json")) == 130
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("interrupted  "))
    assert line.endswith("; the kept placement is the --warm-start start.json"), line


def test_a_real_sigint_names_the_warm_start_file_kept(lenet_optimum_file, monkeypatch, capsys, sigint_handled):
    """``optdist solve`` stopped by SIGINT while the model is built keeps the --warm-start file's
    placement and says which. Before: "... (the warm start: stopped while the model was built)"."""
    from optdist.milp import model

    built = model._build

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the handler raises at the next bytecode
        return built(*args, **kwargs)

    monkeypatch.setattr(model, "_build", signalled)
    rc = main(["solve", str(LENET_1X4), "--formulation", "tight", "--warm-start", str(lenet_optimum_file),
               "--time-limit", "30", "--threads", "1", "--requests", "0"])
    out, err = capsys.readouterr()
    assert rc == 130, err
    assert ("interrupted  by SIGINT: the incumbent is kept, no bound (the warm start: stopped while the model was "
            f"built); the kept placement is the --warm-start {lenet_optimum_file}\n") in out, out


def test_the_limit_line_names_the_warm_start_method_kept(capsys):
    """``--warm-start greedy`` kept at a time limit spent building the model: the line says greedy."""
    rc = main(["solve", str(LENET_1X4), "--formulation", "tight", "--time-limit", "1e-9", "--warm-start", "greedy",
               "--requests", "0"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert ("incumbent    the warm start: the time limit ran out while the model was built; no bound; the kept "
            "placement is the --warm-start greedy\n") in out, out
