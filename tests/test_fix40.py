"""fix40: ``from_scratch.py``'s column step honours ``--column-time-limit`` (its split-bound LPs
and MILPs ran past it, each given the whole limit); a missing instance names the fix; a
raw option value CBC refuses, or a value given to a glpsol switch, is refused before any solve,
in a bench spec naming the spec file and the field."""

from __future__ import annotations

import json
import time

import pytest

from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.instance import load_instance

from .conftest import ROOT, requires_solver
from .test_fix39 import MICRO
from .test_scratch38 import scratch  # noqa: F401 - the fixture: from_scratch.py as a module

PRICES = ROOT / "benchmarks" / "scale" / "pricing_prices" / "cifar-6x5-nexus-rpi3.json"


def test_the_column_step_starts_no_solve_after_its_limit(scratch, capsys):  # noqa: F811
    """cifar-6x5's saved solve 0 (its prices, as the engine step's), a 0.5-s limit: the limit passes
    while the split's model is built, so no LP, no split MILP and no whole relaxation starts; the
    step says so and keeps no column. Before: the far LPs, the split MILP and the whole relaxation
    all ran, each with the whole limit. The margin: the builds, which are not cut short (one build
    of the model, then the step returns)."""
    doc = json.loads(PRICES.read_text())
    inst = load_instance(ROOT / doc["instance"])
    started = time.perf_counter()
    got = scratch.trajectory_column(inst, doc["solves"][0], doc["objective"] / (1 + scratch.GAP), 0.5)
    took = time.perf_counter() - started
    assert got is None
    assert ("split MILP: not started: the deadline has passed, no point; 0.5 s spent: no whole relaxation"
            in capsys.readouterr().out)
    assert took < 0.5 + 30, took


def test_a_missing_instance_names_the_file_and_the_fix(scratch, tmp_path, capsys):  # noqa: F811
    """Before: "instances/nope.json: instance file not found", no fix."""
    out = tmp_path / "x.json"
    assert scratch.main([str(ROOT / "instances" / "nope.json"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"from_scratch.py: error: {ROOT / 'instances' / 'nope.json'}: instance file not found (fix: check the path, "
        f"e.g. `ls {ROOT / 'instances'}/` shows what is there; the method takes a coupled CIFAR set of one request "
        "class, e.g. instances/coupled/cifar-20x20-nexus-rpi3.json)\n")
    assert not out.exists()


def micro_spec(tmp_path, solvers: list[str], lines: str = ""):
    """A bench spec ``tmp_path/s.toml`` running the MILP on :data:`MICRO` with ``solvers`` (names or
    profile files), then the TOML ``lines``."""
    spec = tmp_path / "s.toml"
    names = ", ".join(f'"{x}"' for x in solvers)
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    f"solvers = [{names}]\n{lines}")
    return spec


def spec_with_solver_options(tmp_path, solver: str, options: str):
    """:func:`micro_spec` with ``solver`` and the TOML lines ``options`` under ``[options.solver_options]``."""
    return micro_spec(tmp_path, [solver], f"\n[options.solver_options]\n{options}\n")


@requires_solver("cbc")
def test_a_value_cbc_refuses_is_refused_when_the_spec_loads(tmp_path):
    """A keyword CBC does not take (``cuts = "bogus"``): before, every CBC run of the sweep failed with
    "cbc failed with the raw solver options {'cuts': 'bogus'} ..." naming neither the spec nor the field."""
    spec = spec_with_solver_options(tmp_path, "cbc", 'cuts = "bogus"')
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    assert str(got.value) == (f'{spec}: options.solver_options (solver cbc): CBC does not take cuts = "bogus" (cbc said: '
                              "Possible options for cutsOnOff are: off on root ifmove forceOn) (fix: give a value it "
                              "takes; `cbc -cuts??` describes cuts and its values)")
    spec.write_text(spec.read_text().replace('"bogus"', '"root"'))
    assert load_spec(spec).runs()[0].options["solver_options"] == {"cuts": "root"}


@requires_solver("glpk")
def test_a_glpsol_switch_given_a_value_is_refused_before_glpsol_runs(capsys):
    """``pcost=bar``: glpsol read ``bar`` as a second input file and failed, the error printing a Python dict."""
    assert main(["solve", str(MICRO), "--solver", "glpk", "--solver-option", "pcost=bar"]) == 2
    assert capsys.readouterr().err == ("optdist solve: error: --solver-option: glpsol's --pcost is a switch, it takes no "
                                       'value: pcost = "bar" (fix: give it no value, e.g. --solver-option pcost=)\n')
