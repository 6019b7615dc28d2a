"""instances/coupled (issue 11 item 4): every set parses, says how it was made, and its stated
overrun is what the evaluator measures on the combined per-request optima."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

import optdist
from optdist.bench.solu import read_solu

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "instances" / "coupled").glob("*.json"))


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process; a later solve asking for
    another count fails ('Not Set'). Reset the scheduler so these tests do not depend on which
    test ran HiGHS first (tests/conftest.py should do this for the whole suite)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


def make_coupled():
    spec = importlib.util.spec_from_file_location("make_coupled", ROOT / "instances" / "make_coupled.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stated_overrun(description: str) -> dict[str, float]:
    """resource -> stated largest use / capacity (fraction) from a description."""
    return {res: float(pct) / 100 for res, pct in re.findall(r"(memory|compute|bandwidth) ([0-9.]+) %", description)}


def test_the_sets_cover_the_issue():
    names = [f.stem for f in FILES]
    assert len(FILES) >= 8
    assert any(n.startswith("lenet") for n in names) and any(n.startswith("cifar") for n in names)
    assert any(n.startswith("mixed") for n in names)
    assert any(n.endswith("-rpi3") and "nexus" not in n for n in names) and any("nexus-rpi3" in n for n in names)
    sizes = [len(json.loads(f.read_text())["requests"]) for f in FILES]
    assert min(sizes) >= 5 and max(sizes) <= 250 and sum(5 <= s <= 9 for s in sizes) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_parses_and_says_how_it_was_made(path):
    inst = optdist.load_instance(path)
    desc = inst.spec.description
    assert "make_coupled.py" in desc and f"{inst.spec.period_s * 1e3:.4g} ms" in desc
    over = stated_overrun(desc)
    assert over and max(over.values()) > 1.0  # some capacity is overrun


@pytest.mark.parametrize("name", ["lenet-8x4-rpi3", "lenet-9x5-nexus-rpi3"])
def test_stated_overrun_is_what_the_evaluator_measures(name):
    mc = make_coupled()
    inst = optdist.load_instance(ROOT / "instances" / "coupled" / f"{name}.json")
    asg, proven = mc.per_request_optima(inst, time_limit=60)
    assert proven
    measured = mc.overrun(inst, asg)
    assert not optdist.evaluate(inst, asg).feasible
    # Several placements of one request alone can be optimal and differ in the bytes they send; which
    # one the solve returns moves the overrun a little (lenet-9x5: 130.0 % as made, 130.6 % since the
    # single-request solve starts from the greedy), so the stated figure holds to 1 % of itself.
    for res, frac in stated_overrun(inst.spec.description).items():
        assert measured[res][0] == pytest.approx(frac, rel=1e-2)


def test_solu_values_are_consistent():
    refs = read_solu(ROOT / "instances" / "coupled.solu")
    names = {f.stem for f in FILES}
    assert refs and set(refs) <= names
    for name, ref in refs.items():
        if ref.best is not None and ref.bestdual is not None:
            assert ref.bestdual <= ref.best * (1 + 1e-7), name
        if ref.best is not None:  # the reference placement's objective is at least the sum of per-request optima
            assert ref.best > 0


def test_the_best_placements_kept_score_as_the_solu_says():
    """Each placement in benchmarks/scale/coupled/best/ is feasible and the independent evaluator
    scores it at its set's ``=best=`` in instances/coupled.solu (a better placement committed
    without the .solu, or the other way round, fails here)."""
    from optdist.commands.core import load_placement
    from optdist.evaluate import evaluate

    refs = read_solu(ROOT / "instances" / "coupled.solu")
    files = sorted((ROOT / "benchmarks" / "scale" / "coupled" / "best").glob("*.json"))
    assert files
    for f in files:
        inst = optdist.load_instance(ROOT / "instances" / "coupled" / f.name)
        ev = evaluate(inst, load_placement(inst, f))
        assert ev.feasible and ev.n_rejected == 0, f.name
        assert ev.objective == pytest.approx(refs[f.stem].best, rel=1e-9), f.name
