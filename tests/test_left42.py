"""left42: GLPK takes no seed (glpsol's ``--seed`` seeds MathProg models only) and says so where one
is given; glpsol's input-format switches (``mps``, ``math``, ``cpxlp``, ...) and ``seed`` are refused
as raw options (Pyomo's ``--cpxlp FILE`` overrode them unsaid)."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.solvers import ADAPTERS, Feature, base, get_solver
from optdist.solvers.glpk import NOT_SETTINGS

from .conftest import ROOT, refused, requires_solver

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"  # privacy: micro's bundled "synthetic"
SEED_UNUSED = "solver glpk takes no seed (seed 3 given: its search makes no random choice to seed)"


@pytest.fixture
def noted_afresh():
    """A note is said once a process: said again in each test."""
    base._note_once.cache_clear()
    yield
    base._note_once.cache_clear()


def test_glpk_claims_no_seed_and_every_adapter_with_one_names_its_seed():
    assert Feature.SEED not in ADAPTERS["glpk"].features and "seed" not in ADAPTERS["glpk"].option_names
    assert all("seed" in a.option_names for a in ADAPTERS.values() if Feature.SEED in a.features)


@requires_solver("glpk")
@pytest.mark.parametrize("formulation", ["tight", "decomposed"])
def test_a_seeded_glpk_solve_says_the_seed_is_unused(tmp_path, capsys, noted_afresh, formulation):
    """``--seed 3``: a note on stderr, once, and ``extra["seed_unused"]``, the run's options keeping
    the seed asked (before: passed on as glpsol's --seed, which seeds nothing of the MIP search)."""
    out = tmp_path / "r.json"
    solve = ["solve", str(MICRO), "--formulation", formulation, "--seed", "3"]
    assert main([*solve, "--solver", "glpk", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count(f"optdist: {SEED_UNUSED}\n") == 1
    doc = json.loads(out.read_text())
    assert doc["options"]["seed"] == 3 and doc["extra"]["seed_unused"] == SEED_UNUSED
    assert main([*solve, "--solver", "highs", "--out", str(tmp_path / "highs.json")]) == 0
    assert "takes no seed" not in capsys.readouterr().err
    assert "seed_unused" not in json.loads((tmp_path / "highs.json").read_text())["extra"]


@requires_solver("glpk")
@pytest.mark.parametrize("key", ["mps", "freemps", "lp", "cpxlp", "glp", "math", "mincost", "maxflow", "cnf"])
def test_glpsol_input_formats_are_refused(key):
    """Before: ``mps=`` ran (Pyomo's --cpxlp FILE came after it and won), ``cpxlp`` was "no option"."""
    with pytest.raises(ValueError) as got:
        get_solver("glpk").check_raw_options({key: ""}, "--solver-option")
    assert str(got.value) == (f'--solver-option: {key} = "": glpsol\'s --{key} {NOT_SETTINGS[key]}; optdist\'s run '
                              "of glpsol gives it the model and reads back its solution itself, and a raw option only "
                              "sets how it solves (fix: remove it)")
    assert "the input file" in NOT_SETTINGS[key]


@requires_solver("glpk")
def test_glpsol_seed_is_refused_as_raw_option(capsys):
    err = refused(main, capsys, "solve", str(MICRO), "--solver", "glpk", "--solver-option", "seed=3")
    assert "glpsol's --seed applies to a MathProg model (--math) only, not to optdist's model" in err
    assert "(fix: remove it)" in err
