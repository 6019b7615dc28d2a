"""``optdist pareto`` and ``optdist diagnose`` run many solver calls (pareto22).

* A sweep without a solved point (stopped by a signal before its first point, a time limit, an
  infeasible instance) writes nothing: the existing .csv, .md and .png of ``--out`` stay as they
  were, a warning says so, and the exit status says why (130/143 for the signal, else 1). Before,
  they were replaced by an empty front.
* A solver call that fails (a real CBC process SIGKILLed, as the OOM killer would) is reported:
  the sweep's :attr:`~optdist.milp.pareto.ParetoFront.solver_errors`, the diagnosis's
  ``solver_errors`` (its relaxation's status ``error`` with the solver's message), and a warning on
  stderr naming the failure. Before, the failed point said ``error`` without why, and the
  diagnosis called a killed solve "unknown (no answer within the time limit)".
"""

from __future__ import annotations

import json
from pathlib import Path

from optdist.cli import main
from optdist.instance import load_instance
from tests.conftest import ROOT, kill_the_nth_solver, linux_only, requires_solver
from tests.test_solver_signals import sigint_in_build  # noqa: F401 (a fixture)

#: LeNet, 2 requests on 4 devices: the sweep's 5 MILPs (2 ends, 3 levels) take 0.07-2.6 s each
#: with HiGHS or CBC (`optdist pareto instances/tiny/lenet-2x4-tight.json --points 3`)
TINY = ROOT / "instances" / "tiny" / "lenet-2x4-tight.json"
#: one LeNet request on 4 devices: CBC's levels take 0.06-0.8 s (`optdist pareto
#: instances/tiny/lenet-1x4-tau0.6.json --points 3 --solver cbc`: 4.9 s in all, load 3.0)
ONE = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"
#: fc1's weights fit on no device: every relaxation but memory's is infeasible, 0.1 s each with CBC
INFEASIBLE = ROOT / "instances" / "infeasible" / "cifar-1x4-memory.json"
SUFFIXES = (".csv", ".md", ".png")
KILLED = "solver cbc ended abnormally: it was killed by signal SIGKILL"


#: files of an earlier pareto run, as pareto writes them (it replaces only its own: test_break38)
EARLIER = {".csv": b"eps_bytes,latency_s,shared_bytes\n1,2,3\n", ".md": b"# Latency / shared-data front: earlier\n",
           ".png": b"\x89PNG\r\n\x1a\n an earlier run's front, Matplotlib\n"}


def existing_outputs(tmp_path: Path) -> tuple[Path, dict[Path, bytes]]:
    """The prefix ``tmp_path/front`` with a .csv, .md and .png of an earlier run; their contents."""
    prefix = tmp_path / "front"
    before = {}
    for ext in SUFFIXES:
        path = prefix.with_name(prefix.name + ext)
        path.write_bytes(EARLIER[ext])
        before[path] = path.read_bytes()
    return prefix, before


@linux_only
@requires_solver("cbc")
def test_a_killed_solver_in_the_sweep_is_reported_and_the_front_written(monkeypatch, tmp_path, capsys):
    """A level's CBC is SIGKILLed (the 3rd solve: the two ends are solved): the sweep goes
    on, its point says ``error``, the other points are written, exit 0, and stderr names the failure."""
    import pandas as pd

    prefix, before = existing_outputs(tmp_path)
    killed: list[int] = []
    kill_the_nth_solver(monkeypatch, "cbc", 3, killed)
    rc = main(["pareto", str(ONE), "--points", "3", "--solver", "cbc", "--time-limit", "60", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert killed, "cbc never ran a third solve"
    assert rc == 0, err
    assert f"1 solver call of this sweep failed (its point says termination error; the front is what the other " \
           f"solves found): {KILLED}" in err, err
    assert all(path.read_bytes() != text for path, text in before.items())
    table = pd.read_csv(f"{prefix}.csv")
    assert list(table.termination).count("error") == 1 and table.objective_s.notna().sum() == len(table) - 1, table
    assert f"wrote {prefix}.csv" in out


@linux_only
@requires_solver("cbc")
def test_a_sweep_whose_first_solve_is_killed_says_why_and_keeps_the_files(monkeypatch, tmp_path, capsys):
    """CBC killed at the latency-optimal solve: no point, exit 1, the files kept, the failure named
    (in the sweep's ``solver_errors`` and on stderr)."""
    from optdist.milp.pareto import pareto_sweep

    killed: list[int] = []
    kill_the_nth_solver(monkeypatch, "cbc", 1, killed)
    front = pareto_sweep(load_instance(TINY), 3, formulation="tight", solver="cbc", time_limit=60, threads=1)
    assert killed, "cbc never ran"
    assert [p.termination for p in front] == ["error"] and not front.solved
    assert len(front.solver_errors) == 1 and front.solver_errors[0]["solves"] == 1, front.solver_errors
    assert front.solver_errors[0]["message"].startswith(KILLED), front.solver_errors

    prefix, before = existing_outputs(tmp_path)
    killed: list[int] = []
    kill_the_nth_solver(monkeypatch, "cbc", 1, killed)
    rc = main(["pareto", str(TINY), "--points", "3", "--solver", "cbc", "--time-limit", "60", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert killed, "cbc never ran"
    assert rc == 1, err
    assert {path: path.read_bytes() for path in before} == before
    assert "1 solver call of this sweep failed" in err and KILLED in err, err
    assert "no point on the front: no point was solved (termination error); nothing written" in err, err


@linux_only
@requires_solver("cbc")
def test_a_killed_solver_in_a_diagnosis_is_reported(monkeypatch, tmp_path, capsys):
    """The first relaxation's CBC (the 2nd solve, after the full model's) is SIGKILLed: it says
    ``error`` and why, the others go on (memory's still restores feasibility), the --json document
    lists the failure, and stderr names it."""
    killed: list[int] = []
    kill_the_nth_solver(monkeypatch, "cbc", 2, killed)
    out_json = tmp_path / "d.json"
    rc = main(["diagnose", str(INFEASIBLE), "--solver", "cbc", "--threads", "1", "--families", "privacy,memory",
               "--json", str(out_json)])
    out, err = capsys.readouterr()
    assert killed, "cbc never ran a second solve"
    assert rc == 1, err
    doc = json.loads(out_json.read_text())
    statuses = {tuple(r["families"]): r["status"] for r in doc["relaxations"]}
    assert list(statuses.values()).count("error") == 1, statuses
    failed = next(r for r in doc["relaxations"] if r["status"] == "error")
    assert failed["note"].startswith(KILLED), failed
    assert doc["solver_errors"] == [{"message": failed["note"], "solves": 1}], doc["solver_errors"]
    assert f"{INFEASIBLE}: 1 solver call of this diagnosis failed (status error in the report; the diagnosis is " \
           f"what the other solves found): {KILLED}" in err, err
    assert f"error  ({failed['seconds']:.2f} s)  {KILLED}" in out, out


@linux_only
@requires_solver("cbc")
def test_a_diagnosis_whose_full_model_solve_is_killed_says_so(monkeypatch):
    """Before: "full MILP: unknown (no answer within the time limit)" for a killed solver."""
    from optdist.diagnose import diagnose

    killed: list[int] = []
    kill_the_nth_solver(monkeypatch, "cbc", 1, killed)
    d = diagnose(load_instance(INFEASIBLE), time_limit=60, threads=1, families=("memory",), solver="cbc")
    assert killed, "cbc never ran"
    assert d.milp_feasible is None and [r.status for r in d.relaxations] == ["error"]
    assert "full MILP: unknown (its solve failed)" in d.report(), d.report()
    assert f"note: the full model could not be solved: {KILLED}" in d.report(), d.report()
    assert len(d.solver_errors) == 1 and d.solver_errors[0]["message"].startswith(KILLED)


def test_a_diagnosis_with_unanswered_relaxations_does_not_claim_none_restores_feasibility():
    """'no relaxation ... restores feasibility' alone read as a proof when some of them failed."""
    from optdist.diagnose import Diagnosis, Relaxation

    d = Diagnosis("x", [], [Relaxation((), "infeasible", 0.1), Relaxation(("memory",), "error", 0.1, note=KILLED),
                            Relaxation(("privacy",), "infeasible", 0.1)], solved=True, milp_feasible=False)
    assert ("no relaxation of the families tried restores feasibility (1 of them gave no answer: see their status)"
            in d.report()), d.report()
