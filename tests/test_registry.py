"""The method registry of :mod:`optdist.solve` is complete, and every solve is re-scored once."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import sys
from pathlib import Path

import pytest

import optdist
import optdist.result
from optdist.instance import load_instance
from optdist.milp.model import FORMULATIONS as PYOMO_FORMULATIONS
from optdist.milp.solve import SOLVE_FORMULATIONS
from optdist.result import SolveResult
from optdist.solve import FORMULATIONS, METHODS, _resolve

PACKAGES = ("optdist.heuristics", "optdist.rl", "optdist.milp", "optdist.defences")
TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def solve_functions() -> set[str]:
    """``module:function`` of every public module-level ``solve_*`` returning a SolveResult."""
    out = set()
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, f"{pkg_name}."):
            try:
                mod = importlib.import_module(info.name)
            except ImportError as e:  # an optional extra (torch) missing: its methods cannot run here
                pytest.skip(f"{info.name}: {e}")
            for name, fn in inspect.getmembers(mod, inspect.isfunction):
                if fn.__module__ == mod.__name__ and name.startswith("solve_"):
                    ret = inspect.signature(fn).return_annotation
                    if ret in (SolveResult, "SolveResult"):
                        out.add(f"{mod.__name__}:{name}")
    return out


def test_every_method_function_is_registered():
    registered = set(METHODS.values()) | set(FORMULATIONS.values())
    missing = solve_functions() - registered
    assert not missing, f"solve_* functions returning a SolveResult but reachable by no method: {sorted(missing)}"


def test_every_formulation_is_reachable():
    assert set(FORMULATIONS) == set(SOLVE_FORMULATIONS)
    assert set(PYOMO_FORMULATIONS) <= set(FORMULATIONS)
    for target in [*METHODS.values(), *FORMULATIONS.values()]:
        assert callable(_resolve(target)), target


@pytest.mark.parametrize("formulation", sorted(FORMULATIONS))
def test_finalize_runs_once_per_solve(formulation, monkeypatch):
    calls = []
    real = optdist.result.finalize

    def counting(inst, res):
        calls.append(res)
        return real(inst, res)

    monkeypatch.setattr(optdist.result, "finalize", counting)
    monkeypatch.setattr(sys.modules["optdist.solve"], "finalize", counting)
    res = optdist.solve(load_instance(TINY / "micro-2x3-tight.json"), formulation=formulation, threads=1)
    assert len(calls) == 1 and res.evaluation is not None and res.evaluation.feasible


def test_progress_goes_to_the_progress_logger(caplog, monkeypatch):
    monkeypatch.setattr("optdist.milp.run.PROGRESS_AFTER_S", 0.0)
    with caplog.at_level(logging.INFO, logger="optdist.progress"):
        optdist.solve(load_instance(TINY / "lenet-2x4-tight.json"), threads=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "optdist.progress"]
    assert lines and all("incumbent" in ln and "bound" in ln and "gap" in ln for ln in lines)
