"""Warm starts and the CLI's deadline stop, said and handled truly (warm23).

* A feasible warm start the evaluator scores better than the solver's placement is the result,
  on any solver (before: GLPK, which takes no MIP start, stopping within ``--gap 0.5`` on
  lenet-1x4-tau0.8's ``tight`` model, reported 0.00135523051 s against the start's
  0.00103928275 s). ``extra["incumbent"]`` says "the warm start: ..." as every kept start does,
  the decomposition's too (before: "warm start").
* The warm-start line of such a run says one thing (before: "not used: solver glpk takes no MIP
  start (the start is the incumbent to beat)").
* The CLI's warning for an infeasible ``--warm-start`` says what this run does with it (before:
  "a solver may discard it", also where the decomposition or GLPK does not use it at all).
* The deadline stop's label of a kept warm start is true whether or not a step had offered a
  bound (before: "no step of the solve had returned by the run's deadline", with a bound).
* A result file's own ``instance`` field is checked as its assignment's is (before: ignored).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import optdist
from optdist.cli import main
from tests.conftest import LENET_1X4, ROOT, requires_solver, same_placement

#: one CIFAR request on 4 devices (the greedy's placement is feasible)
CIFAR = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"


@pytest.fixture(scope="module")
def infeasible_start() -> optdist.Assignment:
    """The greedy's placement of :data:`CIFAR` with its first conv moved off the camera."""
    inst = optdist.load_instance(CIFAR)
    owners = [[layer.copy() for layer in per] for per in optdist.solve(inst, method="greedy").assignment.owners]
    owners[0][0][:] = inst.node_ids.index("rpi3-1")
    bad = optdist.Assignment(owners)
    assert not optdist.evaluate(inst, bad).feasible
    return bad


@requires_solver("glpk")
def test_a_solver_without_a_mip_start_keeps_a_better_warm_start(lenet_optimum):
    inst = optdist.load_instance(LENET_1X4)
    start_obj = optdist.evaluate(inst, lenet_optimum).objective
    alone = optdist.solve(inst, formulation="tight", solver="glpk", mip_gap=0.5)
    assert alone.evaluator_objective > start_obj * (1 + 1e-3), alone.evaluator_objective  # GLPK alone is worse
    res = optdist.solve(inst, formulation="tight", solver="glpk", mip_gap=0.5, warm_start=lenet_optimum)
    assert same_placement(res.assignment, lenet_optimum) and res.evaluation.feasible
    assert res.objective == pytest.approx(start_obj, rel=1e-12)
    assert res.extra["incumbent"] == (f"the warm start: the evaluator scores it {start_obj:.9g} s, better than the "
                                      f"solver's placement ({alone.evaluator_objective:.9g} s)"), res.extra
    # the solver's optimal within its gap stays true of the better start: the bound is the solver's
    assert res.termination == "optimal" and res.bound == pytest.approx(alone.bound, rel=1e-9)
    assert res.bound <= res.objective * (1 + 1e-9)
    assert res.options["warm_start"] is False and res.extra["warm_start_not_seeded"] == "solver glpk takes no MIP start"
    assert "warm_start_skipped" not in res.extra


@requires_solver("glpk")
def test_the_cli_says_the_warm_start_once_and_truly_with_glpk(lenet_optimum_file, tmp_path, capsys):
    out_file = tmp_path / "res.json"
    assert main(["solve", str(LENET_1X4), "--solver", "glpk", "--formulation", "tight", "--gap", "0.5",
                 "--warm-start", str(lenet_optimum_file), "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("warm start   "))
    assert line == ("warm start   assignment (the incumbent to beat, not a MIP start: solver glpk takes no MIP "
                    "start)"), line
    assert "not used" not in out, out
    kept = [x for x in out.splitlines() if x.startswith("incumbent    ")]
    assert kept and kept[0].startswith("incumbent    the warm start: the evaluator scores it 0.00103928"), out
    doc = json.loads(out_file.read_text())
    assert doc["evaluator_objective"] == pytest.approx(0.00103928275, rel=1e-8) and doc["termination"] == "optimal"


@requires_solver("glpk")
def test_the_decomposition_with_glpk_says_the_warm_start_once_and_truly(lenet_optimum_file, capsys):
    assert main(["solve", str(LENET_1X4), "--solver", "glpk", "--gap", "0.5",
                 "--warm-start", str(lenet_optimum_file)]) == 0
    out = capsys.readouterr().out
    assert "formulation decomposed" in out, out
    line = next(x for x in out.splitlines() if x.startswith("warm start   "))
    assert line == ("warm start   assignment (the incumbent to beat, not a MIP start: solver glpk takes no MIP "
                    "start)"), line


def _warm_start_warning(err: str) -> str:
    lines = [x for x in err.splitlines() if "--warm-start" in x and "breaks" in x]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("solver", ["glpk", "highs"])
def test_the_infeasible_start_warning_says_what_a_tight_solve_does_with_it(solver, infeasible_start, tmp_path,
                                                                            capsys):
    if not optdist.solvers.ADAPTERS[solver].is_available():
        pytest.skip(f"{solver} not installed: {optdist.solvers.ADAPTERS[solver].install_hint}")
    path = tmp_path / "bad.json"
    infeasible_start.save(optdist.load_instance(CIFAR), path)
    main(["solve", str(CIFAR), "--solver", solver, "--formulation", "tight", "--warm-start", str(path)])
    out, err = capsys.readouterr()
    warning = _warm_start_warning(err)
    assert "may discard" not in warning or solver == "highs", warning
    line = next(x for x in out.splitlines() if x.startswith("warm start   "))
    if solver == "glpk":
        assert warning.endswith("; not used: solver glpk takes no MIP start, and it is never kept as the incumbent")
        assert line.startswith("warm start   assignment (not used: solver glpk takes no MIP start, and it breaks "), line
    else:
        assert warning.endswith("; it is passed to solver highs as a MIP start, which the solver may discard; it is "
                                "never kept as the incumbent"), warning
        assert line == "warm start   assignment", line
    assert "incumbent    the warm start" not in out, out


def test_the_infeasible_start_warning_says_the_decomposition_does_not_use_it(infeasible_start, tmp_path, capsys):
    path = tmp_path / "bad.json"
    infeasible_start.save(optdist.load_instance(CIFAR), path)
    assert main(["solve", str(CIFAR), "--warm-start", str(path)]) == 0
    out, err = capsys.readouterr()
    warning = _warm_start_warning(err)
    assert warning.endswith("; the decomposition does not use it (it starts only from a feasible placement)"), warning
    assert "formulation decomposed" in out and "warm start   assignment (not used: it breaks" in out, out


#: a process whose run is stopped at its deadline (the CLI's ``_Stopper``) with the warm start as its
#: best placement; argv[1]: a bound a step had offered, or "none"
STOPPED = textwrap.dedent("""
    import argparse, sys, threading, time
    import optdist
    from optdist.commands.solve import _Stopper
    from optdist.milp.run import offer, offer_warm_start, watch_progress

    path = sys.argv[2]
    inst = optdist.load_instance(path)
    start = optdist.solve(inst, method="greedy").assignment
    args = argparse.Namespace(instance=path, method="milp", formulation="auto", solver="highs", pricing_solver=None,
                              time_limit=10.0, out=None, requests=0)
    with watch_progress() as progress:
        offer_warm_start(inst, start)
        if sys.argv[1] != "none":
            offer(bound=float(sys.argv[1]))
        _Stopper(time.perf_counter() - 60, inst, args, progress)  # past the deadline: it reports and exits
        threading.Event().wait(60)
    sys.exit(99)  # not reached
""")


@pytest.mark.parametrize("bound", [None, 0.01])
def test_the_deadline_stop_says_truly_why_the_warm_start_is_kept(bound):
    run = subprocess.run([sys.executable, "-c", STOPPED, "none" if bound is None else str(bound), str(CIFAR)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    kept = [x for x in run.stdout.splitlines() if x.startswith("incumbent    ")]
    assert len(kept) == 1, run.stdout
    if bound is None:
        assert kept[0] == ("incumbent    the warm start: no step of the solve had found a better placement by the "
                           "run's deadline, nor a bound"), kept
    else:
        assert "bound 0.01 " in run.stdout, run.stdout
        assert kept[0] == ("incumbent    the warm start: no step of the solve had found a better placement by the "
                           "run's deadline (the bound is the best its steps had proven)"), kept
    assert "had returned" not in run.stdout, run.stdout


@pytest.fixture
def result_file(tmp_path) -> Path:
    """A result file of :data:`CIFAR` (``optdist solve --method greedy --out``)."""
    path = tmp_path / "res.json"
    assert main(["solve", str(CIFAR), "--method", "greedy", "--out", str(path), "-q"]) == 0
    return path


@pytest.mark.parametrize("value", [3, ["x"], True])
def test_a_result_files_own_instance_that_is_not_a_string_is_refused(value, result_file, capsys):
    doc = json.loads(result_file.read_text())
    doc["instance"] = value
    result_file.write_text(json.dumps(doc))
    assert main(["evaluate", str(CIFAR), str(result_file)]) == 2
    err = capsys.readouterr().err
    assert f"{result_file}: 1 problem(s) in the result" in err, err  # its own field, not its assignment's
    assert (f"- instance: is {json.dumps(value)}, not a string (the name of the instance the result was made for) "
            f"(fix: set \"instance\": \"cifar-1x4-tau0.8\", or leave it out)") in err, err


def _instance_warnings(err: str) -> list[str]:
    return [x for x in err.splitlines() if 'field "instance"' in x]


def test_a_result_file_made_for_another_instance_is_warned_about(result_file, capsys):
    doc = json.loads(result_file.read_text())
    doc["instance"] = "other"  # its assignment still names cifar-1x4-tau0.8
    result_file.write_text(json.dumps(doc))
    assert main(["evaluate", str(CIFAR), str(result_file)]) == 0
    warnings = _instance_warnings(capsys.readouterr().err)
    assert len(warnings) == 1, warnings
    assert (f"{result_file}: field \"instance\": made for instance \"other\", not \"cifar-1x4-tau0.8\" (the same content: its "
            "instance_digest is this one's); its request and node ids match, so it is scored on cifar-1x4-tau0.8") in warnings[0], warnings


def test_a_result_file_naming_another_instance_twice_is_warned_about_once(result_file, capsys):
    """Guard (passes before the fix too, when the result's own field was not read): the same
    instance named by the result and by its assignment is one warning, not two."""
    doc = json.loads(result_file.read_text())
    doc["instance"] = doc["assignment"]["instance"] = "other"
    result_file.write_text(json.dumps(doc))
    assert main(["solve", str(CIFAR), "--formulation", "tight", "--warm-start", str(result_file)]) == 0
    warnings = _instance_warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and "made for instance \"other\", not \"cifar-1x4-tau0.8\"" in warnings[0], warnings
    assert "used as the --warm-start of cifar-1x4-tau0.8" in warnings[0], warnings


#: two LeNet requests with a serial uplink: the decomposition does not apply ('tight' is solved)
SERIAL = ROOT / "instances" / "tiny" / "micro-2x3-serial.json"


def test_the_infeasible_start_warning_is_true_where_the_decomposition_does_not_apply(tmp_path, capsys):
    """``--formulation decomposed`` on a serial uplink solves 'tight' and passes the start to HiGHS as
    a MIP start ("warm start   assignment": seeded); the warning said "the decomposition does not use
    it" (review23b)."""
    inst = optdist.load_instance(SERIAL)
    owners = [[layer.copy() for layer in per] for per in optdist.solve(inst, formulation="tight").assignment.owners]
    owners[0][-1][:] = inst.node_ids.index("rpi3-1")  # the last layer (fc1) off the camera
    bad = optdist.Assignment(owners)
    assert not optdist.evaluate(inst, bad).feasible
    path = tmp_path / "bad.json"
    bad.save(inst, path)
    assert main(["solve", str(SERIAL), "--formulation", "decomposed", "--warm-start", str(path)]) == 0
    out, err = capsys.readouterr()
    warning = _warm_start_warning(err)
    assert warning.endswith("; it is passed to solver highs as a MIP start, which the solver may discard; it is "
                            "never kept as the incumbent"), warning
    assert "formulation tight" in out and "warm start   assignment\n" in out, out
