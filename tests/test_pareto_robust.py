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
import os
import signal
import threading
import time
from pathlib import Path

from optdist.cli import main
from optdist.instance import load_instance
from tests.conftest import ROOT, linux_only, requires_solver, solver_pids
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


def existing_outputs(tmp_path: Path) -> tuple[Path, dict[Path, bytes]]:
    """The prefix ``tmp_path/front`` with a .csv, .md and .png of an earlier run; their contents."""
    prefix = tmp_path / "front"
    before = {}
    for ext in SUFFIXES:
        path = prefix.with_name(prefix.name + ext)
        path.write_bytes(f"an earlier run's front{ext}\n".encode())
        before[path] = path.read_bytes()
    return prefix, before


def kill_the_nth_solve(binary: str, n: int, killed: list[int]) -> threading.Thread:
    """A started thread that SIGKILLs, on sight, the ``n``-th (from 1) ``binary`` child of this
    process that solves (Pyomo's ``cbc -stop`` version query is not one), as the OOM killer would;
    appends its pid to ``killed``. A solve that ends between two looks (5 ms apart), or has ended
    and waits to be reaped (a zombie), is not counted, so the one killed may come later than the
    ``n``-th (never earlier)."""
    seen: set[int] = set()

    def solving(pid: int) -> bool:
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            return False
        # a zombie has ended (its solution written): a SIGKILL would do nothing, and the test would
        # wait for a failure that never comes (seen at load 4: no relaxation said error)
        return state != "Z" and args[-2:-1] not in ([b"-stop"], [b"--version"])  # cmdline ends with a NUL

    def run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in solver_pids(os.getpid(), binary):
                if pid in seen or not solving(pid):
                    continue
                seen.add(pid)
                if len(seen) == n:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_sweep_stopped_before_its_first_point_keeps_the_existing_files(sigint_in_build, tmp_path, capsys):  # noqa: F811
    """SIGINT as the sweep's model is built (no point solved): exit 130, the three files as they
    were. Before: replaced by an empty front (a table of one ``interrupted`` row, an empty plot)."""
    prefix, before = existing_outputs(tmp_path)
    state = sigint_in_build("optdist/milp/pareto.py")
    rc = main(["pareto", str(TINY), "--points", "3", "--time-limit", "30", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert state == {"sent": True, "finished": False}
    assert rc == 130, err
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in before)  # no temporary left
    assert ("no point on the front: stopped by SIGINT before the first point was solved; nothing written, the existing "
            f"{prefix}.csv, {prefix}.md, {prefix}.png kept") in err, err
    assert "interrupted" in out and "wrote" not in out, out


def test_a_sweep_without_a_point_writes_nothing_and_exits_1(tmp_path, capsys):
    """An infeasible instance: the latency-optimal solve has no point; exit 1 (no feasible result),
    the files kept. Before: exit 0 and the files replaced by an empty front."""
    prefix, before = existing_outputs(tmp_path)
    rc = main(["pareto", str(INFEASIBLE), "--points", "3", "--out", str(prefix)])
    out, err = capsys.readouterr()
    assert rc == 1, err
    assert {path: path.read_bytes() for path in before} == before
    assert ("no point on the front: no point was solved (termination infeasible); nothing written, the existing "
            f"{prefix}.csv, {prefix}.md, {prefix}.png kept (`optdist diagnose {INFEASIBLE}` says why)") in err, err
    assert "wrote" not in out


@linux_only
@requires_solver("cbc")
def test_a_killed_solver_in_the_sweep_is_reported_and_the_front_written(tmp_path, capsys):
    """A level's CBC is SIGKILLed (the 3rd solve or later: the two ends are solved): the sweep goes
    on, its point says ``error``, the other points are written, exit 0, and stderr names the failure."""
    import pandas as pd

    prefix, before = existing_outputs(tmp_path)
    for _attempt in range(3):  # a kill can land as a 0.06-s solve exits (seen once in the suite, load ~5): again
        killed: list[int] = []
        watcher = kill_the_nth_solve("cbc", 3, killed)
        rc = main(["pareto", str(ONE), "--points", "3", "--solver", "cbc", "--time-limit", "60", "--out", str(prefix)])
        watcher.join(5)
        out, err = capsys.readouterr()
        if "solver call of this sweep failed" in err:
            break
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
def test_a_sweep_whose_first_solve_is_killed_says_why_and_keeps_the_files(tmp_path, capsys):
    """CBC killed at the latency-optimal solve: no point, exit 1, the files kept, the failure named
    (in the sweep's ``solver_errors`` and on stderr)."""
    from optdist.milp.pareto import pareto_sweep

    killed: list[int] = []
    watcher = kill_the_nth_solve("cbc", 1, killed)
    front = pareto_sweep(load_instance(TINY), 3, formulation="tight", solver="cbc", time_limit=60, threads=1)
    watcher.join(5)
    assert killed, "cbc never ran"
    assert [p.termination for p in front] == ["error"] and not front.solved
    assert len(front.solver_errors) == 1 and front.solver_errors[0]["solves"] == 1, front.solver_errors
    assert front.solver_errors[0]["message"].startswith(KILLED), front.solver_errors

    prefix, before = existing_outputs(tmp_path)
    killed: list[int] = []
    watcher = kill_the_nth_solve("cbc", 1, killed)
    rc = main(["pareto", str(TINY), "--points", "3", "--solver", "cbc", "--time-limit", "60", "--out", str(prefix)])
    watcher.join(5)
    out, err = capsys.readouterr()
    assert killed, "cbc never ran"
    assert rc == 1, err
    assert {path: path.read_bytes() for path in before} == before
    assert "1 solver call of this sweep failed" in err and KILLED in err, err
    assert "no point on the front: no point was solved (termination error); nothing written" in err, err


@linux_only
@requires_solver("cbc")
def test_a_killed_solver_in_a_diagnosis_is_reported(tmp_path, capsys):
    """The first relaxation's CBC (the 2nd solve, after the full model's) is SIGKILLed: it says
    ``error`` and why, the others go on (memory's still restores feasibility), the --json document
    lists the failure, and stderr names it."""
    killed: list[int] = []
    watcher = kill_the_nth_solve("cbc", 2, killed)
    out_json = tmp_path / "d.json"
    rc = main(["diagnose", str(INFEASIBLE), "--solver", "cbc", "--threads", "1", "--families", "privacy,memory",
               "--json", str(out_json)])
    watcher.join(5)
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
def test_a_diagnosis_whose_full_model_solve_is_killed_says_so():
    """Before: "full MILP: unknown (no answer within the time limit)" for a killed solver."""
    from optdist.diagnose import diagnose

    killed: list[int] = []
    watcher = kill_the_nth_solve("cbc", 1, killed)
    d = diagnose(load_instance(INFEASIBLE), time_limit=60, threads=1, families=("memory",), solver="cbc")
    watcher.join(5)
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
