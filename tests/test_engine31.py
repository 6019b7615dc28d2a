"""The exact engine's answers, made one (engine31): the decomposition's proof of infeasibility and
its +inf bound, a profile's raw gap beside ``--gap``, a solver's false claim of infeasibility with
and without ``--warm-start``, and ``SolveResult.load``.

Real HiGHS; the solver that lies is the stand-in cbc of :mod:`tests.test_solverout30` (the real
CBC, its solution file's "Optimal" rewritten to "Infeasible"); the CBC test skips with the install
hint when ``cbc`` is missing.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import ROOT, requires_solver
from tests.test_solverout30 import LENET, LIES_INFEASIBLE, _cbc_rewriting, _run, _termination


def _objective_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("objective"))


# --- 1. the decomposition's proof of infeasibility has the +inf bound ---------------------------------------------


def _requests_that_do_not_fit(folder) -> str:
    """3 micro requests from one camera on 6 RPi3 whose radios carry 160-320 B per period: each
    request fits alone and the pre-solve checks find nothing, but they do not fit together (the
    decomposition's coupled step proves it; tests/test_colgen.py). Written to ``folder``."""
    from optdist.generate import generate

    doc = generate("coupled", {"micro": 3}, {"rpi3": 6}, 0.95, sources=1, privacy="synthetic", seed=7)
    for d, bw in zip(doc["devices"], (320, 160, 320, 160, 160, 160)):
        d["bandwidth_capacity"] = bw
    path = folder / "coupled-too-small.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_the_decompositions_proof_of_infeasibility_has_an_infinite_bound(tmp_path):
    """Before: "bound -" printed and "bound": null without non_finite (every other proof: +inf)."""
    out = tmp_path / "r.json"
    run = _run("solve", _requests_that_do_not_fit(tmp_path), "--time-limit", "60", "--threads", "1", "--out", str(out))
    assert run.returncode == 1, run.stderr
    assert _termination(run.stdout).startswith("termination  infeasible"), run.stdout
    assert "formulation decomposed" in run.stdout
    assert "bound inf " in _objective_line(run.stdout), run.stdout
    doc = json.loads(out.read_text())
    assert doc["formulation"] == "decomposed" and "infeasible_by_checks" not in doc["extra"]
    assert doc["bound"] is None and doc["non_finite"]["/bound"] == "Infinity"
    from optdist.result import load_result

    assert math.isinf(load_result(out)["bound"])


def test_a_request_infeasible_alone_in_the_decomposition_has_an_infinite_bound():
    """The decomposition's other proof (a request alone cannot be placed), reached without the
    pre-solve checks. Before: bound None."""
    from optdist.instance import load_instance
    from optdist.milp.decomposition.orchestrate import solve_decomposed

    res = solve_decomposed(load_instance(ROOT / "instances" / "infeasible" / "lenet-1x3-privacy.json"),
                           time_limit=30, threads=1)
    assert res.termination == "infeasible" and res.extra["infeasible_requests"] == ["r1"]
    assert res.assignment is None and res.bound == math.inf


# --- 2. --gap beside a profile's own raw gap ---------------------------------------------------------------------


def test_gap_beside_a_profiles_different_raw_gap_is_refused_naming_both(tmp_path):
    """Before: ran, the profile's mip_rel_gap=0.9 silently won ("optimal (within gap 0.9)", exit 0),
    where --gap 0.1 --solver-option mip_rel_gap=0.9 is refused."""
    prof = tmp_path / "highs-loose.toml"
    prof.write_text('name = "highs-loose"\nsolver = "highs"\n[solver_options]\nmip_rel_gap = 0.9\n')
    run = _run("solve", str(LENET), "--formulation", "tight", "--solver", str(prof), "--gap", "0.1")
    assert run.returncode == 2, run.stdout
    said = (f"--gap 0.1 and mip_rel_gap = 0.9 in the [solver_options] of solver profile highs-loose ({prof}) both "
            "set the relative gap of solver highs-loose, to different values (fix: give it once: ")
    assert said in run.stderr and run.stdout == ""
    import optdist

    with pytest.raises(ValueError, match="both set the relative gap of solver highs-loose"):
        optdist.solve(LENET, formulation="tight", solver=str(prof), mip_gap=0.1)
    # one rule: the same value is one gap; the user's raw gap overrides the profile's
    for agree in (["--gap", "0.9"], ["--gap", "0.1", "--solver-option", "mip_rel_gap=0.1"]):
        ok = _run("solve", str(LENET), "--formulation", "tight", "--solver", str(prof), *agree)
        assert ok.returncode == 0, ok.stderr
        assert _termination(ok.stdout).startswith(f"termination  optimal (within gap {agree[1]})"), ok.stdout


# --- 3. a false claim of infeasibility: one meaning, with or without a warm start -------------------------------


@requires_solver("cbc")
def test_a_false_claim_of_infeasibility_ends_alike_with_and_without_a_greedy_warm_start(tmp_path):
    """Before: plain ``solve`` ended ``error`` (the greedy disproves the claim), ``--warm-start
    greedy`` ``feasible`` with another message."""
    bin_ = _cbc_rewriting(tmp_path / "bin", LIES_INFEASIBLE)
    docs, lines = [], []
    for extra in ([], ["--warm-start", "greedy"]):
        out = tmp_path / f"r{len(docs)}.json"
        run = _run("solve", str(LENET), "--formulation", "tight", "--solver", "cbc", *extra, "--out", str(out),
                   path=bin_)
        assert run.returncode == 0, run.stderr  # a feasible placement is kept
        lines.append(_termination(run.stdout))
        assert "solver cbc claimed infeasible, but a feasible placement exists (a greedy placement" in run.stdout
        assert "bound -" in _objective_line(run.stdout)
        docs.append(json.loads(out.read_text()))
    assert lines[0] == lines[1] and lines[0].startswith("termination  error"), lines
    plain, warm = docs
    for doc in docs:
        assert doc["termination"] == "error" and doc["bound"] is None and doc["feasible"] is True
        assert doc["extra"]["claim_refuted"] is True and "warning" not in doc["extra"]
    assert plain["extra"]["solver_error"] == warm["extra"]["solver_error"]
    assert plain["extra"]["incumbent"] == warm["extra"]["incumbent"]
    assert plain["assignment"]["requests"] == warm["assignment"]["requests"]


# --- 4. SolveResult.load ---------------------------------------------------------------------------------------


def test_solve_result_load_round_trips_a_saved_result(tmp_path):
    import optdist
    from optdist.result import SolveResult, Termination, load_result

    inst = optdist.load_instance(LENET)
    res = optdist.solve(inst, formulation="tight")
    path = res.save(inst, tmp_path / "r.json")
    back = SolveResult.load(path, inst)
    assert isinstance(back, SolveResult) and back.termination is Termination.OPTIMAL
    assert back.summary() == res.summary() and back.options == res.options
    assert back.evaluation.feasible and back.assignment.to_json(inst) == res.assignment.to_json(inst)
    assert back.to_json(inst) == load_result(path)
    # an infinite bound (a proof of infeasibility) comes back as inf, no placement
    bad = optdist.load_instance(ROOT / "instances" / "infeasible" / "lenet-1x4-compute.json")
    proof = optdist.solve(bad)
    again = SolveResult.load(proof.save(bad, tmp_path / "inf.json"), bad)
    assert again.termination is Termination.INFEASIBLE and again.bound == math.inf and again.assignment is None
    # the errors it names
    with pytest.raises(TypeError, match=r"takes the path first.*got Instance \"lenet-1x10-tau0.6\""):
        SolveResult.load(inst, path)
    with pytest.raises(ValueError, match="a result of another instance"):
        SolveResult.load(path, bad)
    with pytest.raises(ValueError, match="not an optdist-result/1 document"):
        SolveResult.load(LENET, inst)
