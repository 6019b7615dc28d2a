"""Export a model, solve the file with an external solver, read the solution back, score it."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import highspy
import pytest

from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp import build
from optdist.milp.export import formulation_of, load_solution, read_solution, write_model
from optdist.solve import solve
from optdist.solvers import ADAPTERS

TINY_DIR = Path(__file__).resolve().parents[1] / "instances" / "tiny"
NAME = "micro-2x3-tight"
RTOL = 1e-6


@functools.cache
def inst() -> Instance:
    return load_instance(TINY_DIR / f"{NAME}.json")


@functools.cache
def optimum() -> float:
    return solve(inst(), mip_gap=0.0).objective


def run_highs(model: Path, sol: Path) -> None:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(model))
    h.run()
    h.writeSolution(str(sol), 0)


def run_cbc(model: Path, sol: Path) -> None:
    subprocess.run(["cbc", str(model), "ratio", "0", "solve", "solu", str(sol)], check=True, capture_output=True)


def run_glpk(model: Path, sol: Path) -> None:
    fmt = "--lp" if model.suffix == ".lp" else "--freemps"
    subprocess.run(["glpsol", fmt, str(model), "--mipgap", "0", "-o", str(sol)], check=True, capture_output=True)


EXTERNAL = {
    "highs": (run_highs, None),
    "cbc": (run_cbc, "cbc"),
    "glpk": (run_glpk, "glpsol"),
}


def external(name: str):
    fn, exe = EXTERNAL[name]
    hint = f": {ADAPTERS[name].install_hint}" if name in ADAPTERS else ""
    return pytest.param(name, marks=pytest.mark.skipif(exe is not None and shutil.which(exe) is None, reason=f"{exe} not on PATH{hint}"))


@pytest.mark.parametrize("fmt", ["lp", "mps"])
@pytest.mark.parametrize("solver", [external(n) for n in EXTERNAL])
@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight"])
def test_external_solution_scores_the_in_process_optimum(tmp_path, solver, fmt, formulation):
    b = build(inst(), formulation)
    model = write_model(b, tmp_path / f"model.{fmt}")
    assert formulation_of(model) == formulation
    sol = tmp_path / "solution.txt"
    EXTERNAL[solver][0](model, sol)
    fresh = build(inst(), formulation)
    assert load_solution(fresh, read_solution(sol, solver), fmt) == []
    ev = evaluate(inst(), fresh.to_assignment())
    assert ev.feasible
    assert abs(ev.objective - optimum()) <= RTOL * optimum()


def test_lp_file_is_a_minimisation_with_symbolic_names(tmp_path):
    text = write_model(build(inst()), tmp_path / "m.lp").read_text()
    assert "\nmin \n" in text and "max" not in text.split("s.t.")[0]
    assert "n(0_1_0)" in text and "c_e_one_owner_c(0_0)_" in text
    with pytest.raises(ValueError, match="format"):
        write_model(build(inst()), tmp_path / "m.txt")


def test_cli_export_and_import(tmp_path, capsys):
    model, sol, asg = tmp_path / "m.lp", tmp_path / "m.sol", tmp_path / "asg.json"
    assert main(["export", str(TINY_DIR / f"{NAME}.json"), "--out", str(model)]) == 0
    run_highs(model, sol)
    rc = main(["import-solution", str(TINY_DIR / f"{NAME}.json"), "--model-file", str(model),
               "--solution", str(sol), "--format", "highs", "--out", str(asg)])
    out = capsys.readouterr().out
    assert rc == 0 and f"objective        {optimum():.9g}" in out
    assert main(["evaluate", str(TINY_DIR / f"{NAME}.json"), str(asg)]) == 0
    other = TINY_DIR / "micro-1x3-tau0.6.json"
    assert main(["import-solution", str(other), "--model-file", str(model), "--solution", str(sol)]) == 2
    assert "export the model of this instance again" in capsys.readouterr().err  # its fingerprint (fix29d)
