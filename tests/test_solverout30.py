"""How optdist takes a solver's answer (solverout30): an answer that is no placement, a broken
glpsol, a solver that falsely claims infeasible, the bound of an infeasible run, one gap rule.

Real solvers where they show it: HiGHS with a loose ``mip_feasibility_tolerance`` returns values
whose flows or counts do not add up. Answers no real solver gives on demand (NaN or all-0 values,
a false "infeasible", a glpsol that writes no solution or answers no ``--version``) come from a
tiny executable script placed first on PATH (:func:`_stand_in`): a stand-in for the binary, as a
user's broken install would be; it runs the real binary where it needs an answer and then
rewrites its solution file. Those runs are separate processes (``python -m optdist``), so Pyomo's
caches of executables and versions see the stand-in. CBC/GLPK tests skip with the install hint
when ``cbc``/``glpsol`` are missing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, requires_solver

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


def _run(*args: str, path: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m optdist ARGS`` in a fresh process (``path``: a folder put first on PATH)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if path is not None:
        env["PATH"] = f"{path}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-m", "optdist", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def _stand_in(folder: Path, name: str, body: str) -> Path:
    """Write the executable shell script ``folder/name`` (a stand-in for a broken solver binary)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return folder


def _cbc_rewriting(folder: Path, awk: str) -> Path:
    """A stand-in ``cbc``: runs the real CBC, then rewrites its solution file (``-solu FILE``) with ``awk``."""
    real = shutil.which("cbc")
    return _stand_in(folder, "cbc", f'"{real}" "$@"; rc=$?\n'
                                    f'for a in "$@"; do [ "$prev" = "-solu" ] && '
                                    f"{{ awk '{awk}' \"$a\" > \"$a.tmp\" && mv \"$a.tmp\" \"$a\"; }}; prev=\"$a\"; done\n"
                                    "exit $rc\n")


#: the solution file's column lines (rows are named c_...): every value replaced
NAN_VALUES = 'NR>1 && $2 !~ /^c_/ {$3="nan"} {print}'
ZERO_VALUES = 'NR>1 && $2 !~ /^c_/ {$3="0"} {print}'
#: CBC's first line "Optimal - objective value ..." made a claim of infeasibility
LIES_INFEASIBLE = 'NR==1{sub(/^Optimal/,"Infeasible")} {print}'


def _termination(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("termination"))


# --- 1. an answer that is no placement --------------------------------------------------------------------------


def test_a_highs_answer_that_is_no_placement_ends_error_naming_the_solver(tmp_path):
    """Before: "internal error: RuntimeError: request 0 transition 3: flows from node 1 carry 0 of its
    1 maps", exit 3, no --out."""
    out = tmp_path / "r.json"
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver-option", "mip_feasibility_tolerance=0.4",
               "--out", str(out))
    assert run.returncode == 1, run.stderr
    assert "internal error" not in run.stderr
    assert _termination(run.stdout).startswith("termination  error")
    doc = json.loads(out.read_text())
    assert doc["termination"] == "error" and "assignment" not in doc and doc["feasible"] is not True
    said = doc["extra"]["solver_error"]
    assert said.startswith("solver highs returned values that are no valid placement") and "request 0" in said
    assert "f[0," in said and "mip_feasibility_tolerance" in said


def test_an_invalid_answer_keeps_the_warm_start_through_the_python_api():
    """Before: RuntimeError "solution owns 17 of 16 segments" raised from optdist.solve."""
    import optdist

    res = optdist.solve(LENET, formulation="compact", solver_options={"mip_feasibility_tolerance": 0.2},
                        warm_start="greedy")
    assert res.termination == "error"
    assert "request 0 layer ReLU2" in res.extra["invalid_solution"] and "of its 16 segments" in res.extra["invalid_solution"]
    assert res.extra["solver_error"].startswith("solver highs returned values")
    assert res.assignment is not None and res.evaluation.feasible and res.bound is None
    assert res.extra["incumbent"] == "the warm start: the solver's answer was no valid placement"


@requires_solver("cbc")
def test_nan_values_end_error_naming_the_variable(tmp_path):
    """A stand-in cbc writing NaN values. Before: "error: cannot convert float NaN to integer", exit 2."""
    out = tmp_path / "r.json"
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "cbc", "--out", str(out),
               path=_cbc_rewriting(tmp_path / "bin", NAN_VALUES))
    assert run.returncode == 1, run.stderr
    doc = json.loads(out.read_text())
    assert doc["termination"] == "error"
    said = doc["extra"]["solver_error"]
    assert said.startswith("solver cbc returned values") and "is not a finite number" in said and "variable " in said


@requires_solver("cbc")
def test_all_zero_values_end_error_and_keep_the_warm_start(tmp_path):
    """A stand-in cbc writing 0 for every variable. Before: "solution owns 0 of 1 segments", exit 3."""
    out = tmp_path / "r.json"
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "cbc", "--warm-start", "greedy",
               "--out", str(out), path=_cbc_rewriting(tmp_path / "bin", ZERO_VALUES))
    assert run.returncode == 0, run.stderr  # README: error with a feasible warm start kept exits 0
    doc = json.loads(out.read_text())
    assert doc["termination"] == "error" and doc["assignment"] and doc["feasible"] is True
    assert "own 0 of its 1 segments" in doc["extra"]["solver_error"]
    assert doc["extra"]["incumbent"].startswith("the warm start")


# --- 2. a broken glpsol -----------------------------------------------------------------------------------------


@requires_solver("glpk")
def test_a_glpsol_that_writes_no_solution_gave_no_result(tmp_path):
    """A stand-in glpsol answering --version and --help but exiting 0 without a solution. Before:
    "error: Error parsing solution description file, line 1: ...", exit 2, GLPK not named."""
    real = shutil.which("glpsol")
    folder = _stand_in(tmp_path / "bin", "glpsol", f'case "$1" in --version|--help) exec "{real}" "$1";; esac\nexit 0\n')
    out = tmp_path / "r.json"
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "glpk", "--out", str(out), path=folder)
    assert run.returncode == 1, run.stderr
    doc = json.loads(out.read_text())
    assert doc["termination"] == "error"
    assert doc["extra"]["solver_error"].startswith("solver glpk gave no result: glpsol exited with status 0")


@requires_solver("glpk")
def test_a_glpsol_without_a_version_is_not_usable(tmp_path):
    """A stand-in glpsol that fails ``--version``. Before: "internal error: TypeError: 'NoneType'
    object is not iterable", exit 3."""
    real = shutil.which("glpsol")
    folder = _stand_in(tmp_path / "bin", "glpsol", f'case "$1" in --version) exit 1;; esac\nexec "{real}" "$@"\n')
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "glpk", path=folder)
    assert run.returncode == 1, run.stderr
    assert "internal error" not in run.stderr and _termination(run.stdout).startswith("termination  error")
    assert "solver glpk is not usable" in run.stderr and "--version` gave no version" in run.stderr


# --- 3. diagnose takes no solver's word unchecked ---------------------------------------------------------------


@requires_solver("cbc")
def test_diagnose_checks_a_claim_of_infeasibility_against_the_greedy(tmp_path):
    """A stand-in cbc that answers "Infeasible". Before: "full MILP: infeasible" and every relaxation
    infeasible, exit 1 as for a proof."""
    out = tmp_path / "d.json"
    run = _run("diagnose", str(LENET), "--solver", "cbc", "--time-limit", "30", "--json", str(out),
               path=_cbc_rewriting(tmp_path / "bin", LIES_INFEASIBLE))
    assert run.returncode == 1, run.stderr  # README: no answer from a failed solver
    assert "full MILP: infeasible" not in run.stdout
    assert "solver cbc claimed infeasible, but a feasible placement exists (a greedy placement" in run.stdout
    doc = json.loads(out.read_text())
    assert doc["infeasible"] is None and doc["milp_feasible"] is None
    assert [r["status"] for r in doc["relaxations"]] == ["error"]  # no relaxation took its word


@requires_solver("cbc")
def test_diagnose_rescores_a_feasible_answer(tmp_path):
    """A stand-in cbc writing 0 for every variable. Before: "full MILP: feasible", exit 0, unchecked."""
    run = _run("diagnose", str(LENET), "--solver", "cbc", "--time-limit", "30",
               path=_cbc_rewriting(tmp_path / "bin", ZERO_VALUES))
    assert run.returncode == 1, run.stderr
    assert "full MILP: feasible" not in run.stdout and "returned values that are no valid placement" in run.stdout


def test_diagnose_still_reports_a_real_solvers_feasible_answer():
    run = _run("diagnose", str(LENET), "--time-limit", "30")
    assert run.returncode == 0, run.stderr
    assert "full MILP: feasible" in run.stdout


# --- 4. an infeasible run has no finite bound -------------------------------------------------------------------


def test_an_infeasible_run_prints_no_finite_bound(tmp_path):
    """Before: "termination infeasible" next to "bound 0.0007424055" (a stand-in cbc that answered
    "Infeasible" while its log proved a bound; plain solve now checks such a claim against a greedy
    placement, tests/test_fixs30.py, so the proof here is a real one: the pre-solve checks')."""
    out = tmp_path / "r.json"
    run = _run("solve", str(ROOT / "instances" / "infeasible" / "lenet-1x4-compute.json"), "--formulation", "tight",
               "--out", str(out))
    assert run.returncode == 1, run.stderr
    assert _termination(run.stdout).startswith("termination  infeasible")
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("objective"))
    assert "bound inf " in line, line
    doc = json.loads(out.read_text())
    assert doc["bound"] is None and doc["non_finite"] == {"/bound": "Infinity"}
    from optdist.result import load_result

    assert math.isinf(load_result(out)["bound"])


# --- 5. one gap rule whatever way the gap is given --------------------------------------------------------------


@pytest.mark.parametrize("how", [("--gap", "0.9"), ("--solver-option", "mip_rel_gap=0.9")])
def test_a_gap_is_one_rule_however_given_highs(how):
    """Before: ``--gap 0.9`` "optimal ... gap 20.5%", ``mip_rel_gap=0.9`` "feasible"."""
    run = _run("solve", str(LENET), "--formulation", "tight", *how)
    assert run.returncode == 0, run.stderr
    assert _termination(run.stdout).startswith("termination  optimal (within gap 0.9)  ("), run.stdout


@requires_solver("scip")
def test_a_gap_is_one_rule_however_given_scip():
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "scip", "--solver-option", "limits/gap=0.9")
    assert run.returncode == 0, run.stderr
    assert _termination(run.stdout).startswith("termination  optimal (within gap 0.9)  ("), run.stdout


def test_an_optimum_closed_to_rounding_says_no_gap():
    run = _run("solve", str(LENET), "--formulation", "tight")
    assert run.returncode == 0, run.stderr
    assert _termination(run.stdout).startswith("termination  optimal  ("), run.stdout
