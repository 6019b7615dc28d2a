"""benchmarks/scale/pricing_probe.py on bad input: a clear error naming the file, the field and the fix."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import ROOT, load_script, refused

PRICES = ROOT / "benchmarks" / "scale" / "pricing_prices" / "lenet-10x10-tight-tau0.8.json"


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/scale/pricing_probe.py")


def run(probe, capsys, *argv: str) -> str:
    return refused(probe.main, capsys, *argv)


def test_time_names_a_missing_file(probe, capsys, tmp_path):
    """... and the fix (lead40; before: no fix)."""
    err = run(probe, capsys, "time", str(tmp_path / "none.json"))
    assert err == (f"pricing_probe.py time: error: {tmp_path / 'none.json'}: saved-prices file not found (fix: check "
                   f"the path, e.g. `ls {tmp_path}/` shows what is there; the saved ones are in "
                   "benchmarks/scale/pricing_prices/, or give a file written by `pricing_probe.py capture ... --out "
                   "FILE`)\n")


def test_time_names_the_flag_of_an_unknown_integer_family(probe, capsys):
    """lead40: before, "zz: not an integer variable family ..." named no flag."""
    err = run(probe, capsys, "time", str(ROOT / "benchmarks/scale/pricing_prices/lenet-10x10-tight-tau0.8.json"),
              "--only", "0", "--integer-only", "y,zz", "--time-limit", "1")
    assert err.startswith("pricing_probe.py time: error: --integer-only y,zz: zz: not an integer variable family")


def test_time_names_bad_json_and_missing_fields(probe, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    assert "invalid JSON" in run(probe, capsys, "time", str(bad))
    bad.write_text(json.dumps({"solves": [{"r": 0}]}))
    err = run(probe, capsys, "time", str(bad))
    assert "instance: missing" in err and "solves[0]: missing at_s" in err and "pricing_probe.py capture" in err
    bad.write_text(json.dumps({"instance": "instances/none.json", "solves": []}))
    err = run(probe, capsys, "time", str(bad))
    assert "field 'instance' of" in err and "bad.json" in err


def test_time_rejects_an_index_past_the_saved_solves(probe, capsys):
    n = len(json.loads(PRICES.read_text())["solves"])
    err = run(probe, capsys, "time", str(PRICES), "--only", "0", str(n))
    assert f"--only {n}" in err and f"0..{n - 1}" in err


def test_time_rejects_options_that_are_not_a_json_object(probe, capsys):
    assert "--options: not JSON" in run(probe, capsys, "time", str(PRICES), "--only", "0", "--options", "{bad")
    assert "not a JSON object" in run(probe, capsys, "time", str(PRICES), "--only", "0", "--options", "[1]")


def test_time_rejects_an_unknown_solver(probe, capsys):
    assert "nosuch" in run(probe, capsys, "time", str(PRICES), "--only", "0", "--solver", "nosuch")


def test_capture_checks_out_before_the_run(probe, capsys, tmp_path):
    err = run(probe, capsys, "capture", str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json"),
              "--out", str(tmp_path / "no" / "such" / "x.json"))
    assert "--out" in err and "does not exist" in err


def _one_solve(tmp_path, change) -> str:
    """A copy of the saved prices with its first solve only, changed by ``change(data)``."""
    data = json.loads(PRICES.read_text())
    data["solves"] = data["solves"][:1]
    change(data)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("field, change", [
    ("solves[0].r", lambda d: d["solves"][0].update(r=999)),
    ("solves[0].r", lambda d: d["solves"][0].update(r="x")),
    ("solves[0].prices", lambda d: d["solves"][0].update(prices=[1, 2])),
    ("solves[0].prices.memory", lambda d: d["solves"][0]["prices"].update(memory=[0.0])),
    ("solves[0].prices.memory", lambda d: d["solves"][0]["prices"].update(memory="abc")),
    ("solves[0].prices.bandwidth", lambda d: d["solves"][0]["prices"].pop("bandwidth")),
    ("solves[0].start", lambda d: d["solves"][0].update(start=[[1, 2]])),
    ("solves[0].start_value", lambda d: d["solves"][0].update(start_value="x")),
])
def test_time_names_a_saved_solve_that_does_not_fit_its_instance(probe, capsys, tmp_path, field, change):
    path = _one_solve(tmp_path, change)
    err = run(probe, capsys, "time", path, "--start", "--time-limit", "1")
    assert "prices.json" in err and f"{field}:" in err and "fix:" in err


@pytest.mark.parametrize("argv", [("--time-limit", "-1"), ("--time-limit", "nan"), ("--gap", "nan"), ("--gap", "2")])
def test_time_rejects_a_bad_time_limit_or_gap(probe, capsys, argv):
    err = run(probe, capsys, "time", str(PRICES), "--only", "0", *argv)
    assert argv[0] in err and "fix:" in err


def test_time_prints_a_solve_that_found_no_column(probe, capsys):
    """A solve stopped before any placement (HiGHS without heuristics, no node past the root) is
    printed as such, not a TypeError on the missing value."""
    assert probe.main(["time", str(PRICES), "--only", "0", "--time-limit", "5",
                       "--options", '{"mip_heuristic_effort": 0.0, "mip_max_nodes": 0}']) == 0
    out = capsys.readouterr().out
    assert "solve 0 " in out and "column none found" in out and "closed False" in out


def test_partial_relaxation_brackets_the_pricing_optimum(probe, capsys):
    """Saved solve 2 of lenet-10x10-tight-tau0.8 closes (optimum 0.000716 s): the model with only
    the participations integer is a relaxation (its bound at most the optimum, above the LP), and
    the placement completed from its point is priced at least the optimum."""
    import numpy as np

    from optdist.instance import load_instance
    from optdist.milp.decomposition.pricing import PricingModel

    s = json.loads(PRICES.read_text())["solves"][2]
    prices = {k: np.asarray(v) for k, v in s["prices"].items()}
    pm = PricingModel(load_instance(ROOT / "instances" / "paper" / "lenet-10x10-tight-tau0.8.json"), s["r"],
                      solver="highs")
    opt = pm.solve(prices, time_limit=120, mip_gap=1e-7, threads=1, seed=0, steps=(float("inf"),))
    assert opt.proven
    lp = pm.lp_value(prices)
    part = pm.partial_relaxation(prices, ["y", "s"], time_limit=60, fix_time_limit=60)
    assert lp - 1e-9 <= part["relaxed_bound"] <= opt.value * (1 + 1e-6) + 1e-12
    assert part["fixed"] is not None and part["fixed"] >= opt.value * (1 - 1e-6)
    none = pm.partial_relaxation(prices, [], time_limit=60)  # nothing integer: the LP relaxation
    assert none["relaxed"] == pytest.approx(lp, rel=1e-6)
    with pytest.raises(ValueError, match="nosuch: not an integer variable family.*fix: one or more of"):
        pm.partial_relaxation(prices, ["nosuch"], time_limit=1)
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--fix")
    assert "--fix" in err and "--integer-only" in err
    assert probe.main(["time", str(PRICES), "--only", "2", "--time-limit", "30", "--integer-only", "y,s", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "only y,s integer:" in out and "fixed there:" in out


def test_integer_only_refuses_a_continuous_family(probe, capsys):
    """--integer-only names families to keep integer: a continuous one (the stage times T, the
    bytes z of the LeNet pricing model) is refused, not relaxed to nothing or fixed at a rounded
    time (before: 'only T integer', then 'fixed there: None (infeasible)'); a typo'd empty name too."""
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "y,T", "--fix")
    assert "T: not an integer variable family" in err and "fix: one or more of f, n, y" in err
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "z")
    assert "z: not an integer variable family" in err
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "y,")
    assert "'': not an integer variable family" in err


def test_integer_only_refuses_the_flags_it_would_ignore(probe, capsys):
    """--integer-only relaxes with HiGHS from no start at a gap of 1e-5: --start, --gap or another
    solver is refused, not ignored (before: 'only y integer: ...' printed from HiGHS, no start, gap 1e-5)."""
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "y", "--start")
    assert "--start" in err and "fix: drop --start or --integer-only" in err
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "y",
              "--gap", "0.1")
    assert "--gap 0.1" in err and "fix: drop --gap or --integer-only" in err
    if shutil.which("cbc") is None:  # without CBC the solver check refuses it first
        pytest.skip("cbc not installed: apt-get install coinor-cbc")
    err = run(probe, capsys, "time", str(PRICES), "--only", "2", "--time-limit", "5", "--integer-only", "y",
              "--solver", "cbc")
    assert "--solver cbc" in err and "HiGHS only" in err


def test_time_prints_the_lagrangian_bound_of_a_one_class_instance(probe, capsys):
    """lenet-10x10-tight-tau0.8 is one request class: each solve also prints L(pi) = -pi . cap +
    10 x its bound (and with its column's value), a lower bound on the instance's optimum, so it is
    at most the optimum (instances/paper.solu, =opt= 0.00720270874555) and equal to the
    column's where the solve closed."""
    import re

    assert probe.main(["time", str(PRICES), "--only", "2", "--time-limit", "30"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"Lagrangian bound at these prices: ([0-9.]+) \(-pi \. cap (-?[0-9.]+) \+ 10 x bound\); "
                  r"with this column's value instead: ([0-9.]+)", out)
    assert m and "closed True" in out, out
    lagr, part, with_column = map(float, m.groups())
    assert part < 0 and 0.0069 < lagr <= 0.00720270874555 and with_column == pytest.approx(lagr, rel=1e-4), out
