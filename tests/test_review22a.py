"""Edge cases found by review22a in the pareto22 and edges22 changes.

* A sweep whose least-shared solve fails after the latency-optimal one was solved ends with that
  one point: it is the front (``nondominated``), as every solved point no other beats is. Before,
  the early return skipped :func:`~optdist.milp.pareto.mark_front`, so the written table marked
  no point nondominated and the figure drew no front. A signal after the two end solves, before
  any level got a solution, keeps the two ends' points (it wrote nothing, "before the first
  point was solved").
* ``optdist pareto``: --time-limit checked before the build and named; --out "" named; a sweep
  without a point under --time-limit names the fix.
* ``optdist diagnose``: the minimal relaxations carry a caveat when a relaxation gave no answer.
* ``optdist solve --warm-start``: a file not named .json, or a result without a placement, is
  refused naming the flag or field and the fix.
* A huge finite --time-limit is capped at what GLPK (--tmlim, a C int) and SCIP (1e20) take.
"""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.instance import load_instance
from tests.conftest import kill_the_nth_solver, linux_only, requires_solver
from tests.test_pareto_robust import KILLED, ONE, existing_outputs


@linux_only
@requires_solver("cbc")
def test_a_sweep_ended_by_its_least_shared_solve_keeps_its_solved_point_on_the_front(monkeypatch, tmp_path, capsys):
    """CBC killed at the 2nd solve (the least-shared end): the latency-optimal point is the front.
    The 2nd CBC is killed as it starts (:func:`~tests.conftest.kill_the_nth_solver`): polling /proc
    every 5 ms (``kill_the_nth_solve``) missed that solve of milliseconds about once in 10 runs at
    load ~2 and killed the 3rd (a level), the front then ['optimal', 'optimal', 'optimal']."""
    import pandas as pd

    from optdist.milp.pareto import pareto_sweep

    killed: list[int] = []
    with monkeypatch.context() as m:
        kill_the_nth_solver(m, "cbc", 2, killed)
        front = pareto_sweep(load_instance(ONE), 3, formulation="tight", solver="cbc", time_limit=60, threads=1)
    assert killed, "cbc never ran a second solve"
    assert [p.termination for p in front] == ["optimal", "error"], front
    assert [p.nondominated for p in front] == [True, False], front

    prefix, _ = existing_outputs(tmp_path)
    killed = []
    with monkeypatch.context() as m:
        kill_the_nth_solver(m, "cbc", 2, killed)
        rc = main(["pareto", str(ONE), "--points", "3", "--solver", "cbc", "--time-limit", "60", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert killed, "cbc never ran a second solve"
    assert rc == 0, err
    assert KILLED in err, err
    table = pd.read_csv(f"{prefix}.csv")
    assert list(table.termination) == ["optimal", "error"] and list(table.nondominated) == [True, False], table


def test_a_warm_start_file_not_named_json_is_refused_naming_the_flag(tmp_path, capsys):
    """A result file saved as .txt: exit 2 naming --warm-start and the fix. Before: "unknown method
    'ws.txt'; choose one of [...]", as if it had been given as --method."""
    from tests.conftest import ROOT

    ws = tmp_path / "ws.txt"
    ws.write_text("{}")
    rc = main(["solve", str(ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"), "--warm-start", str(ws)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"--warm-start {ws}: neither a method (" in err and "its name ending in .json" in err, err


def test_pareto_refuses_a_bad_time_limit_or_an_empty_out_naming_the_flag(tmp_path, capsys):
    """Before: "time_limit = 0.0 is out of range" (the Python name) after the model was built (12 s
    on lenet-10x70-tight-tau0.6 with --formulation compact), and "PosixPath('.') has an empty name"."""
    prefix = tmp_path / "front"
    for value in ("0", "-1", "nan", "inf"):
        assert main(["pareto", str(ONE), "--time-limit", value, "--out", str(prefix)]) == 2
        err = capsys.readouterr().err
        said = "is not a number" if value == "nan" else "is out of range"  # nan: not a number (scip28)
        assert f"--time-limit {value} {said} (fix: give a finite number of seconds > 0, e.g. --time-limit 60)" \
            in err, err  # the text as written (msgs26)
    assert main(["pareto", str(ONE), "--out", ""]) == 2
    err = capsys.readouterr().err
    assert "--out is empty (fix: give a file prefix, e.g. --out front, or a folder, e.g. --out fronts/)" in err, err
    assert not list(tmp_path.iterdir())


def test_a_diagnosis_with_an_unanswered_relaxation_does_not_claim_its_minimal_sets_are_all():
    """{compute}'s solve failed: {compute, memory} restoring feasibility may not be minimal, and
    {compute} may restore it alone. Before: "minimal relaxation(s) restoring feasibility:
    {compute, memory}" without a caveat (pareto22 added one only where no set restores it)."""
    from optdist.diagnose import Diagnosis, Relaxation

    d = Diagnosis("x", [], [Relaxation((), "infeasible", 0.1), Relaxation(("compute",), "error", 0.1, note=KILLED),
                            Relaxation(("memory",), "infeasible", 0.1),
                            Relaxation(("compute", "memory"), "feasible", 0.1)], solved=True, milp_feasible=False)
    assert ("minimal relaxation(s) restoring feasibility: {compute, memory} (among those answered: 1 relaxation(s) "
            "gave no answer, see their status; a smaller or other set may restore it too)") in d.report(), d.report()
    answered = Diagnosis("x", [], [Relaxation((), "infeasible", 0.1), Relaxation(("memory",), "feasible", 0.1)],
                         solved=True, milp_feasible=False)
    assert "minimal relaxation(s) restoring feasibility: {memory}\n" in answered.report() + "\n", answered.report()


def test_a_signal_after_the_two_end_solves_keeps_their_points(monkeypatch, sigint_handled, tmp_path, capsys):
    """SIGINT (a real one, to this process) as the first level is set up, after the latency-optimal
    and least-shared solves: every level is ``interrupted`` without a solution. The two ends solved
    are the sweep's points: written, exit 130. Before: "stopped by SIGINT before the first point was
    solved; nothing written" (``optdist pareto instances/paper/lenet-10x10-tau0.6.json --solver cbc
    --time-limit 8``, Ctrl-C at 12 s: 8 s of solved latency-optimal point dropped)."""
    import os
    import signal

    import pandas as pd

    from optdist.milp import pareto

    limit = pareto.add_shared_bytes_limit
    sent: list[bool] = []

    def signalled(*args, **kwargs):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs at the next bytecode: the flag is set
        return limit(*args, **kwargs)

    monkeypatch.setattr(pareto, "add_shared_bytes_limit", signalled)
    prefix, before = existing_outputs(tmp_path)
    rc = main(["pareto", str(ONE), "--points", "3", "--time-limit", "30", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert sent, "the sweep never reached its levels"
    assert rc == 130, err
    assert f"wrote {prefix}.csv" in out and "no point on the front" not in err, err
    table = pd.read_csv(f"{prefix}.csv")
    assert list(table.termination)[2:] == ["interrupted"] * (len(table) - 2) and len(table) >= 3, table
    assert list(table.termination)[:2] == ["optimal", "optimal"] and table.eps_bytes[:2].isna().all(), table
    assert table.nondominated[:2].all(), table  # the latency-optimal and least-shared ends differ on ONE


def test_a_sweep_without_a_point_under_a_time_limit_says_the_fix(tmp_path, capsys):
    """lenet-10x10-tau0.6's latency-optimal solve finds no placement in 1 ms (HiGHS returns after
    0.4 s, load 2): exit 1 and the warning names --time-limit as the fix. Before: "no point was
    solved (termination no_solution); nothing written", no fix."""
    from tests.conftest import ROOT

    inst = ROOT / "instances" / "paper" / "lenet-10x10-tau0.6.json"
    rc = main(["pareto", str(inst), "--points", "3", "--time-limit", "0.001", "--out", str(tmp_path / "front")])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert ("no point on the front: no point was solved (termination no_solution); nothing written (fix: a larger "
            "--time-limit, now 0.001 s per solve)") in err, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("solver", [pytest.param(name, marks=requires_solver(name)) for name in ("glpk", "scip")])
def test_a_huge_time_limit_is_capped_at_what_the_solver_takes(solver, tmp_path, capsys):
    """--time-limit 1e308 (finite, so accepted): GLPK's --tmlim takes a C int of seconds, SCIP's
    limits/time at most 1e20. Before: glpsol "Invalid time limit", read as the solver ending
    abnormally (exit 1); SCIP "the value is invalid for the given parameter!" (exit 2)."""
    from tests.conftest import ROOT

    out_file = tmp_path / "r.json"
    rc = main(["solve", str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json"), "--solver", solver,
               "--formulation", "tight", "--time-limit", "1e308", "--out", str(out_file)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert json.loads(out_file.read_text())["termination"] == "optimal", err


def test_a_warm_start_result_without_a_placement_says_what_it_was_for_and_the_fix(tmp_path, capsys):
    """A result file of a run that found nothing, given as --warm-start: exit 2, the field, what it
    was for and the fix. Before: "this result has no assignment (termination no_solution): nothing
    to evaluate" (no evaluation was asked for, no fix)."""
    from tests.conftest import ROOT

    micro = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"
    empty = tmp_path / "none.json"
    empty.write_text(json.dumps({"format": "optdist-result/1", "termination": "no_solution", "assignment": None}))
    rc = main(["solve", str(micro), "--warm-start", str(empty)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert (f"{empty}: field \"assignment\": this result has no assignment (termination no_solution), so nothing can be "
            "used as the --warm-start of micro-2x3-tight (fix: give a result of a run that found a placement, or an "
            "assignment file)") in err, err
