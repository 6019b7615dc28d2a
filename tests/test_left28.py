"""left28: the solver and method names' and the raw solver options' remaining rough edges.

1. ``--solver hihgs`` listed the adapters and profiles as Python lists with no close match:
   "did you mean --solver highs?", the flag and the name as typed.
2. ``--method greedyy``: the same, "did you mean --method greedy?".
3. A ``--solver-option`` key given twice (``mip_max_nodes=2.5``, then ``mip_max_nodes=5``) kept the
   last value and never checked the first: each is checked, and two values are refused naming both.
4. ``--solver-option tmlim`` (no value) or ``=5`` (no name) under ``--solver glpk`` offered HiGHS's
   ``presolve=off``: the chosen solver's example. HiGHS's own default ``objective_bound=inf`` was
   refused before HiGHS saw it: HiGHS decides. ``--out`` recorded ``mip_max_nodes=1e2`` as 100.0,
   not the int the solver got.
5. ``"privacy": {"lenet": ""}`` said ``no privacy table '' for lenet: looked at [...]`` (a Python
   list, Python quotes): "is empty", with an example, in JSON quotes.
"""

from __future__ import annotations

import json

import pytest

import optdist
from optdist.cli import main
from optdist.commands.solve import parse_solver_options
from optdist.instance import load_instance
from optdist.result import load_result
from optdist.solvers import get_solver

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
TINY = ROOT / "instances/tiny/lenet-1x4-tau0.6.json"
LENET = str(ROOT / "instances/paper/lenet-1x10-tau0.6.json")


def _said(capsys) -> str:
    """The one line on stderr (nothing on stdout, no usage, no traceback)."""
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "usage:" not in cap.err, cap.err
    assert "Traceback" not in cap.err and "['" not in cap.err, cap.err
    return cap.err


# 1. a solver's name

def test_a_misspelt_solver_names_the_flag_and_the_solver_meant(capsys):
    assert main(["solve", LENET, "--solver", "hihgs"]) == 2
    said = _said(capsys)
    assert "unknown --solver hihgs (fix: did you mean --solver highs?" in said
    assert "adapters: cbc, cplex, glpk, gurobi, highs, scip, xpress" in said


def test_a_misspelt_pricing_solver_names_its_flag(capsys):
    assert main(["solve", MICRO, "--pricing-solver", "scpi"]) == 2
    assert "unknown --pricing-solver scpi (fix: did you mean --pricing-solver scip?" in _said(capsys)


def test_a_solver_far_from_any_name_gets_an_example(capsys):
    assert main(["solve", MICRO, "--solver", "zzzq"]) == 2
    assert "unknown --solver zzzq (fix: give an adapter or a profile, e.g. --solver highs;" in _said(capsys)


def test_the_python_api_names_the_solver_meant():
    with pytest.raises(ValueError, match=r"unknown solver \"hihgs\" \(fix: did you mean highs\? The adapters: cbc, "):
        get_solver("hihgs")


# 2. a method's name

def test_a_misspelt_method_names_the_flag_and_the_method_meant(capsys):
    assert main(["solve", LENET, "--method", "greedyy"]) == 2
    said = _said(capsys)
    assert "unknown --method greedyy (fix: did you mean --method greedy? The methods: defended, edge-cloud, " in said


def test_the_python_api_names_the_method_meant():
    with pytest.raises(ValueError, match=r"unknown method \"greedyy\" \(fix: did you mean greedy\? The methods: "):
        optdist.solve(MICRO, method="greedyy")


# 3. a raw option given twice

@pytest.mark.parametrize("first, last", [("2.5", "5"), ("5", "2.5")])
def test_each_value_of_a_repeated_option_is_checked(capsys, first, last):
    assert main(["solve", MICRO, "--solver-option", f"mip_max_nodes={first}",
                 "--solver-option", f"mip_max_nodes={last}"]) == 2
    said = _said(capsys)
    assert "HiGHS refuses mip_max_nodes = 2.5: not a whole number" in said
    assert "e.g. --solver-option mip_max_nodes=1000" in said


def test_two_values_of_one_option_are_refused_naming_both(capsys):
    assert main(["solve", MICRO, "--solver-option", "mip_max_nodes=7", "--solver-option", "mip_max_nodes=5"]) == 2
    assert ("--solver-option mip_max_nodes=7 and --solver-option mip_max_nodes=5 both set mip_max_nodes "
            "(fix: give it once, e.g. --solver-option mip_max_nodes=5)") in _said(capsys)


@pytest.mark.parametrize("last", ["mip_max_nodes = 1000", "mip_max_nodes=1e3"])  # 1e3: the same value (review28)
def test_the_same_value_twice_is_taken(tmp_path, capsys, last):
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--solver-option", "mip_max_nodes=1000", "--solver-option", last,
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["options"]["solver_options"] == {"mip_max_nodes": 1000}


# 4. the chosen solver's example; HiGHS's infinite values; what --out records

@pytest.mark.parametrize("item, said", [
    ("tmlim", "--solver-option \"tmlim\" is not KEY=VALUE (fix: give tmlim a value, e.g. --solver-option tmlim=60)"),
    ("=5", "--solver-option \"=5\" is not KEY=VALUE: the name is empty (fix: give a name and a value, "
           "e.g. --solver-option memlim=1024)"),
    ("nosuch", "--solver-option \"nosuch\" is not KEY=VALUE (fix: give a name and a value, "
               "e.g. --solver-option memlim=1024)"),
])
def test_an_option_without_a_value_or_a_name_gets_the_chosen_solvers_example(capsys, item, said):
    assert main(["solve", MICRO, "--solver", "glpk", "--solver-option", item]) == 2
    got = _said(capsys)
    assert said in got and "presolve" not in got


@pytest.mark.parametrize("solver, example", [("highs", "presolve=off"), ("scip", "limits/nodes=1000"),
                                             ("cbc", "cuts=off")])
def test_an_empty_name_gets_each_solvers_own_example(solver, example):
    with pytest.raises(Exception, match=f"e.g. --solver-option {example}"):
        parse_solver_options(["=5"], solver=solver)


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_highs_decides_on_an_infinite_objective_bound(tmp_path, value):
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--solver-option", f"objective_bound={value}", "--out", str(out)]) == 0
    # strict JSON since out29: null, named in "non_finite", read back as the float by load_result
    assert json.loads(out.read_text())["non_finite"] == {"/options/solver_options/objective_bound": "Infinity"
                                                         if value == "inf" else "-Infinity"}
    assert load_result(out)["options"]["solver_options"] == {"objective_bound": float(value)}
    assert get_solver("highs").check_raw_options({"objective_bound": float(value)}) == \
        {"objective_bound": float(value)}


@pytest.mark.parametrize("item, said", [
    ("mip_rel_gap=-inf", "mip_rel_gap = -inf is out of range (highs's name for mip_gap; "),
    ("time_limit=inf", "time_limit = inf is out of range (highs's name for time_limit; "),
    ("mip_max_nodes=inf", "HiGHS refuses mip_max_nodes = inf: out of range"),
    ("objective_bound=nan", "--solver-option objective_bound=nan is not a finite number"),
])
def test_highs_still_refuses_an_infinite_value_out_of_its_range(capsys, item, said):
    assert main(["solve", MICRO, "--solver-option", item]) == 2
    assert said in _said(capsys)


def test_other_solvers_still_refuse_an_infinite_value():
    with pytest.raises(ValueError, match="is not finite"):
        get_solver("glpk").check_raw_options({"tmlim": float("inf")})
    with pytest.raises(Exception, match="tmlim=inf is not a finite number"):
        parse_solver_options(["tmlim=inf"], solver="glpk")


def test_out_records_the_whole_number_the_solver_got(tmp_path):
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--solver-option", "mip_max_nodes=1e2", "--out", str(out)]) == 0
    got = json.loads(out.read_text())["options"]["solver_options"]["mip_max_nodes"]
    assert got == 100 and type(got) is int


# 5. an empty privacy-table name

@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_privacy_table_name_says_so_with_an_example(tmp_path, name):
    doc = json.loads(TINY.read_text())
    doc["privacy"]["lenet"] = name
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(Exception) as e:
        load_instance(path)
    said = str(e.value)
    assert f'privacy.lenet: privacy table name {json.dumps(name)} for lenet is empty (e.g. "lenet": "paper"; ' \
           'bundled for lenet: "calibrated", "he2019", "paper")' in said
    assert "['" not in said and "lenet-.json" not in said


def test_a_missing_privacy_table_is_named_in_json_quotes(tmp_path):
    doc = json.loads(TINY.read_text())
    doc["privacy"]["lenet"] = "papr"
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(Exception) as e:
        load_instance(path)
    said = str(e.value)
    assert 'no privacy table "papr" for lenet: looked at "' in said
    assert 'lenet-papr.json"; bundled for lenet: "calibrated", "he2019", "paper"' in said and "['" not in said


@pytest.mark.parametrize("name", ["", " "])
def test_an_empty_solver_name_says_so_with_an_example(capsys, name):
    assert main(["solve", MICRO, "--solver", name]) == 2
    assert f"--solver {json.dumps(name)} is empty (fix: give an adapter or a profile, e.g. --solver highs)" in _said(capsys)
