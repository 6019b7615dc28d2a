"""A spec's solvers, formulations and limits are checked when it is read, as its methods are
(found running `optdist bench` on specs with typos: `solvers = ["higs"]`, `formulations =
["tigth"]`, `time_limit = -5` and `threads = "1"` each expanded and ran, every MILP run failing
on its own, and the sweep exited 0)."""

from __future__ import annotations

import pytest

from optdist.bench.spec import parse_spec

from .conftest import ROOT

BASE = {"name": "t", "out": "o", "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")],
        "methods": ["milp", "greedy"]}


@pytest.mark.parametrize("field, value, msg", [
    ("solvers", ["higs"], r'solvers: unknown solver "higs"'),
    ("formulations", ["tigth"], r'formulations: unknown formulation "tigth" \(fix: choose from "auto", "decomposed"'),
    ("time_limit", -5, r"time_limit = -5 is out of range \(fix: give a finite number of seconds > 0\)"),
    ("time_limit", "60", r'time_limit = "60" is not a number \(fix: give a number, e.g. time_limit = 5.0\)'),
    ("threads", "1", r'threads = "1" is not a whole number \(fix: give a whole number, e.g. threads = 1\)'),
    ("threads", 0, r"threads = 0 is out of range"),
    ("wall_limit", 0, r"wall_limit = 0 is out of range \(fix: give a finite number of seconds > 0\)"),
    ("seeds", [0, -1], r"seeds = \[0, -1\]: -1 is out of range"),
    ("options", {"mip_gap": 2}, r"options: mip_gap = 2 is out of range"),
])
def test_a_spec_with_a_bad_axis_or_limit_is_refused_when_read(field, value, msg):
    with pytest.raises(ValueError, match=msg):
        parse_spec({**BASE, field: value}, "s.toml")


def test_good_axes_still_expand():
    spec = parse_spec({**BASE, "solvers": ["highs", "highs-1thread", "gurobi"], "formulations": ["auto", "tight"],
                       "time_limit": 5, "threads": 1, "wall_limit": 30, "seeds": [0, 3]})
    assert len(spec.runs()) == 3 * 2 + 1  # gurobi need not be installed where the spec is read


def test_solvers_of_an_external_method_are_its_own():
    spec = parse_spec({**BASE, "methods": ["tests.test_bench_methods:solve_fail"],
                       "solver_methods": ["tests.test_bench_methods:solve_fail"], "solvers": ["my-own"]})
    assert spec.solvers == ("my-own",)
